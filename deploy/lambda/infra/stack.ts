import { Stack, type StackProps, Tags } from "aws-cdk-lib"
import type * as acm from "aws-cdk-lib/aws-certificatemanager"
import * as lambda from "aws-cdk-lib/aws-lambda"
import type { Construct } from "constructs"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data } from "./data.js"
import { Api, ApiCertificate, EdgeSecurity } from "./edge.js"
import { LAYER_NODE_MODULES, layerDir, type LayerName } from "../layers.js"
import { type CodeFor, Functions } from "./functions.js"
import { Keys } from "./keys.js"
import { KeyRotationOperator } from "./operators.js"
import { Network } from "./network.js"
import { PushNotifications } from "./notifications.js"
import { Observability } from "./observability.js"
import { SerenyaRecoveryStack } from "./recovery.js"
import type { FunctionName, StageSettings } from "./stages.js"

const DIST = fileURLToPath(new URL("../dist", import.meta.url))

/**
 * The bundles `dir` holds (deploy/lambda/dist by default: what `npm run synth`, `npx cdk synth`
 * and `npm run build:lambda` write), and the layers staged beside them (../layers.ts). A function
 * or a layer without its files stops the synth: a stack whose code could not serve must never
 * reach a deployment.
 */
export const bundlesIn = (dir: string): CodeFor =>
  Object.assign(
    (name: FunctionName) => {
      const bundle = join(dir, name)
      if (!existsSync(join(bundle, "index.mjs"))) {
        throw new Error(`No Lambda bundle for the ${name} function in ${bundle}: synthesize with \`npm run synth\` or \`npx cdk synth\`, which build them first (or run \`npm run build:lambda\`)`)
      }
      return lambda.Code.fromAsset(bundle)
    },
    {
      layer: (name: LayerName) => {
        const layer = join(dir, layerDir(name))
        if (!existsSync(join(layer, LAYER_NODE_MODULES))) {
          throw new Error(`No ${name} layer in ${layer}: the build stages it with the functions that take it (\`npm run synth\`, \`npm run build:lambda\`)`)
        }
        return lambda.Code.fromAsset(layer)
      }
    }
  )

export const bundledCode: CodeFor = bundlesIn(DIST)

export interface SerenyaStackProps extends StackProps {
  readonly settings: StageSettings
  readonly webAclArn: string
  /** The API's certificate, from the edge stack, when the stage has a domain. */
  readonly certificateArn?: string
  readonly code?: CodeFor
  /** A value that differs between deployments (so migrations run on each); defaults to the synth time. */
  readonly deploymentId?: string
}

/** One stage of the API: network, data, functions, API + CloudFront, monitoring and audit. */
export class SerenyaStack extends Stack {
  readonly keys: Keys
  readonly network: Network
  readonly data: Data
  readonly push: PushNotifications
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
    this.push = new PushNotifications(this, "Push", { settings })
    this.functions = new Functions(this, "Functions", {
      settings,
      network: this.network,
      data: this.data,
      keys: this.keys,
      push: this.push,
      code: props.code ?? bundledCode,
      deploymentId: props.deploymentId ?? new Date().toISOString()
    })
    const fns = this.functions.all
    this.api = new Api(this, "Api", {
      settings,
      handlers: { auth: fns.auth.alias, documents: fns.documents.alias, chat: fns.chat.alias },
      stream: { url: this.functions.streamUrl, alias: fns.stream.alias },
      logsKey: this.keys.platform,
      logBucket: this.data.accessLogsBucket,
      webAclArn: props.webAclArn,
      ...(props.certificateArn !== undefined ? { certificateArn: props.certificateArn } : {})
    })
    this.keyRotation = new KeyRotationOperator(this, "KeyRotation", { settings, keys: this.keys, data: this.data })
    this.observability = new Observability(this, "Observability", {
      settings,
      keys: this.keys,
      data: this.data,
      network: this.network,
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
  readonly certificate?: acm.ICertificate

  constructor(scope: Construct, id: string, props: StackProps & { readonly settings: StageSettings }) {
    super(scope, id, {
      ...props,
      env: { account: props.settings.env.account, region: "us-east-1" },
      crossRegionReferences: true
    })
    Tags.of(this).add("project", "serenya")
    Tags.of(this).add("stage", props.settings.stage)
    this.security = new EdgeSecurity(this, "EdgeSecurity", { settings: props.settings })
    if (props.settings.domain !== undefined) {
      this.certificate = new ApiCertificate(this, "ApiCertificate", { domain: props.settings.domain }).certificate
    }
  }
}

export interface StageStacks {
  readonly edge: SerenyaEdgeStack
  /** The disaster-recovery region's vault and key (recovery.ts): where the main stack's backups are copied. */
  readonly recovery: SerenyaRecoveryStack
  readonly main: SerenyaStack
}

export const addStage = (
  scope: Construct,
  settings: StageSettings,
  options: { readonly code?: CodeFor; readonly deploymentId?: string } = {}
): StageStacks => {
  const edge = new SerenyaEdgeStack(scope, `Serenya-${settings.stage}-edge`, { settings })
  const recovery = new SerenyaRecoveryStack(scope, `Serenya-${settings.stage}-dr`, { settings })
  const main = new SerenyaStack(scope, `Serenya-${settings.stage}`, {
    settings,
    webAclArn: edge.security.webAcl.attrArn,
    ...(edge.certificate !== undefined ? { certificateArn: edge.certificate.certificateArn } : {}),
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...(options.deploymentId !== undefined ? { deploymentId: options.deploymentId } : {})
  })
  // The daily backups are copied to the DR vault, and RDS replicates its automated backups to the
  // DR region under the DR key (data.ts copyBackupsTo): the DR stack deploys first.
  main.data.copyBackupsTo(recovery.target)
  main.addStackDependency(edge)
  main.addStackDependency(recovery)
  return { edge, recovery, main }
}
