import { Stack, type StackProps, Tags } from "aws-cdk-lib"
import * as lambda from "aws-cdk-lib/aws-lambda"
import type { Construct } from "constructs"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data } from "./data.js"
import { Api, EdgeSecurity } from "./edge.js"
import { type CodeFor, Functions } from "./functions.js"
import { Keys } from "./keys.js"
import { KeyRotationOperator } from "./operators.js"
import { Network } from "./network.js"
import { Observability } from "./observability.js"
import type { StageSettings } from "./stages.js"

const DIST = fileURLToPath(new URL("../dist", import.meta.url))
const STUB = fileURLToPath(new URL("./stub", import.meta.url))

/** The bundle `npm run build:lambda` wrote for this function, or a stub that fails loudly until it exists. */
export const bundledCode: CodeFor = (name) => {
  const dir = join(DIST, name)
  return lambda.Code.fromAsset(existsSync(join(dir, "index.mjs")) ? dir : STUB)
}

export interface SerenyaStackProps extends StackProps {
  readonly settings: StageSettings
  readonly webAclArn: string
  readonly code?: CodeFor
  /** A value that differs between deployments (so migrations run on each); defaults to the synth time. */
  readonly deploymentId?: string
}

/** One stage of the API: network, data, functions, API + CloudFront, monitoring and audit. */
export class SerenyaStack extends Stack {
  readonly keys: Keys
  readonly network: Network
  readonly data: Data
  readonly functions: Functions
  readonly api: Api
  readonly observability: Observability
  readonly keyRotation: KeyRotationOperator
  private readonly zones: ReadonlyArray<string>

  constructor(scope: Construct, id: string, props: SerenyaStackProps) {
    super(scope, id, { ...props, env: props.settings.env, crossRegionReferences: true })
    const { settings } = props
    this.zones = settings.availabilityZones
    Tags.of(this).add("project", "serenya")
    Tags.of(this).add("stage", settings.stage)

    this.keys = new Keys(this, "Keys", { settings })
    this.network = new Network(this, "Network", { settings, logsKey: this.keys.platform })
    this.data = new Data(this, "Data", { settings, keys: this.keys, network: this.network })
    this.functions = new Functions(this, "Functions", {
      settings,
      network: this.network,
      data: this.data,
      keys: this.keys,
      code: props.code ?? bundledCode,
      deploymentId: props.deploymentId ?? new Date().toISOString()
    })
    const fns = this.functions.all
    this.api = new Api(this, "Api", {
      settings,
      handlers: { auth: fns.auth.alias, documents: fns.documents.alias, chat: fns.chat.alias },
      logsKey: this.keys.platform,
      logBucket: this.data.accessLogsBucket,
      webAclArn: props.webAclArn
    })
    this.keyRotation = new KeyRotationOperator(this, "KeyRotation", { settings, keys: this.keys, data: this.data })
    this.observability = new Observability(this, "Observability", {
      settings,
      keys: this.keys,
      data: this.data,
      functions: fns,
      httpApi: this.api.httpApi,
      proxy: this.data.proxy
    })
  }

  /** The stage's zones: Stack's own getter would look them up in the account at synth. */
  override get availabilityZones(): Array<string> {
    return [...this.zones]
  }
}

/** CloudFront's web ACL: CLOUDFRONT-scoped WAF resources can only be created in us-east-1. */
export class SerenyaEdgeStack extends Stack {
  readonly security: EdgeSecurity

  constructor(scope: Construct, id: string, props: StackProps & { readonly settings: StageSettings }) {
    super(scope, id, {
      ...props,
      env: { account: props.settings.env.account, region: "us-east-1" },
      crossRegionReferences: true
    })
    Tags.of(this).add("project", "serenya")
    Tags.of(this).add("stage", props.settings.stage)
    this.security = new EdgeSecurity(this, "EdgeSecurity", { settings: props.settings })
  }
}

export interface StageStacks {
  readonly edge: SerenyaEdgeStack
  readonly main: SerenyaStack
}

export const addStage = (
  scope: Construct,
  settings: StageSettings,
  options: { readonly code?: CodeFor; readonly deploymentId?: string } = {}
): StageStacks => {
  const edge = new SerenyaEdgeStack(scope, `Serenya-${settings.stage}-edge`, { settings })
  const main = new SerenyaStack(scope, `Serenya-${settings.stage}`, {
    settings,
    webAclArn: edge.security.webAcl.attrArn,
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...(options.deploymentId !== undefined ? { deploymentId: options.deploymentId } : {})
  })
  main.addStackDependency(edge)
  return { edge, main }
}
