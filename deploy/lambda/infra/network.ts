import { Validations } from "aws-cdk-lib"
import * as ec2 from "aws-cdk-lib/aws-ec2"
import * as iam from "aws-cdk-lib/aws-iam"
import type * as kms from "aws-cdk-lib/aws-kms"
import * as logs from "aws-cdk-lib/aws-logs"
import { Construct } from "constructs"
import { bedrockInvokeStatements, detectPhiStatement, partitionOf } from "./bedrock.js"
import { vpcRef } from "./exact.js"
import { acknowledge } from "./nag.js"
import type { StageSettings } from "./stages.js"

export interface NetworkProps {
  readonly settings: StageSettings
  readonly logsKey: kms.IKey
}

/** Only the auth function reaches the internet (Google's JWKS over 443, through the NAT). */
export const SUBNETS = {
  public: "Public",
  authEgress: "AuthEgress",
  compute: "Compute",
  data: "Data"
} as const

export class Network extends Construct {
  readonly vpc: ec2.IVpc
  readonly endpointsSecurityGroup: ec2.SecurityGroup
  readonly computeSubnets: ec2.SubnetSelection = { subnetGroupName: SUBNETS.compute }
  readonly authSubnets: ec2.SubnetSelection = { subnetGroupName: SUBNETS.authEgress }
  readonly dataSubnets: ec2.SubnetSelection = { subnetGroupName: SUBNETS.data }
  readonly s3PrefixList: ec2.IPeer
  readonly dynamoDbPrefixList: ec2.IPeer
  readonly bedrockEndpoint: ec2.InterfaceVpcEndpoint
  readonly secretsManagerEndpoint: ec2.InterfaceVpcEndpoint
  readonly flowLogGroup: logs.LogGroup
  /** The NAT gateways' ids (the dashboard's packet-drop widget). */
  readonly natGatewayIds: ReadonlyArray<string>

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id)
    const { settings } = props

    this.flowLogGroup = new logs.LogGroup(this, "FlowLogs", {
      retention: settings.logRetention,
      encryptionKey: props.logsKey,
      removalPolicy: settings.dataRemovalPolicy
    })

    const vpc = new ec2.Vpc(this, "Vpc", {
      ipAddresses: ec2.IpAddresses.cidr(settings.vpcCidr),
      availabilityZones: [...settings.availabilityZones],
      natGateways: settings.natGateways,
      natGatewaySubnets: { subnetGroupName: SUBNETS.public },
      subnetConfiguration: [
        { name: SUBNETS.public, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 26, mapPublicIpOnLaunch: false },
        { name: SUBNETS.authEgress, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
        { name: SUBNETS.compute, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 22 },
        { name: SUBNETS.data, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [this.computeSubnets, this.dataSubnets, this.authSubnets] },
        DynamoDb: {
          service: ec2.GatewayVpcEndpointAwsService.DYNAMODB,
          subnets: [this.computeSubnets, this.dataSubnets, this.authSubnets]
        }
      },
      flowLogs: {
        All: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL
        }
      },
      restrictDefaultSecurityGroup: true
    })
    this.vpc = vpcRef(vpc)
    Validations.of(vpc).acknowledge({
      id: "CloudFormation-Validate::W3010",
      reason: "The zones are written in stages.ts on purpose: synth must not look them up in the account."
    })

    this.natGatewayIds = vpc.publicSubnets.flatMap((subnet) => {
      const nat = subnet.node.tryFindChild("NATGateway")
      return nat instanceof ec2.CfnNatGateway ? [nat.ref] : []
    })

    this.s3PrefixList = ec2.Peer.prefixList(settings.s3PrefixListId)
    this.dynamoDbPrefixList = ec2.Peer.prefixList(settings.dynamoDbPrefixListId)

    this.endpointsSecurityGroup = new ec2.SecurityGroup(this, "EndpointsSecurityGroup", {
      vpc: this.vpc,
      description: "Interface VPC endpoints: HTTPS from the function security groups only",
      allowAllOutbound: false
    })

    const endpoint = (id: string, service: ec2.InterfaceVpcEndpointAwsService) =>
      this.vpc.addInterfaceEndpoint(id, {
        service,
        subnets: this.computeSubnets,
        securityGroups: [this.endpointsSecurityGroup],
        privateDnsEnabled: true,
        open: false
      })

    this.bedrockEndpoint = endpoint("BedrockRuntime", ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME)
    // The architecture's endpoint policy: only the stage's model (its profile and destination-Region
    // models, from the model table) can be invoked through PrivateLink.
    for (const statement of bedrockInvokeStatements(
      { modelId: settings.bedrockModelId, partition: partitionOf(settings.env.region), account: settings.env.account, region: settings.env.region },
      [new iam.AnyPrincipal()]
    )) {
      this.bedrockEndpoint.addToPolicy(statement)
    }
    // Before any text goes to the model, the identifiers in it are found by Comprehend Medical
    // (DetectPHI, in the Bedrock Region): through PrivateLink too, and only that action in this Region.
    const comprehendMedical = endpoint("ComprehendMedical", ec2.InterfaceVpcEndpointAwsService.COMPREHEND_MEDICAL)
    comprehendMedical.addToPolicy(detectPhiStatement(settings.env.region, [new iam.AnyPrincipal()]))
    endpoint("Kms", ec2.InterfaceVpcEndpointAwsService.KMS)
    this.secretsManagerEndpoint = endpoint("SecretsManager", ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER)
    endpoint("Sqs", ec2.InterfaceVpcEndpointAwsService.SQS)
    // Push notifications: the documents function registers devices, the processor publishes (SNS mobile push).
    endpoint("Sns", ec2.InterfaceVpcEndpointAwsService.SNS)
    endpoint("Logs", ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS)
    // The ADOT collector beside each function sends its spans to X-Ray.
    endpoint("XRay", ec2.InterfaceVpcEndpointAwsService.XRAY)

    this.isolatedAcl(settings.vpcCidr)

    acknowledge(
      this.vpc,
      "HIPAA.Security-IAMNoInlinePolicy",
      "The flow log's delivery role is generated by aws-cdk-lib with one inline policy: write to this VPC's flow-log group and pass itself to the flow-log service."
    )
    for (const subnet of this.vpc.publicSubnets) {
      acknowledge(
        subnet,
        "HIPAA.Security-VPCNoUnrestrictedRouteToIGW",
        "The public subnets hold only the NAT gateways (no function, database or endpoint), which need their default route to the internet gateway so the auth function can reach Google over HTTPS."
      )
    }
  }

  /**
   * Stateless rules for the isolated subnets: HTTPS (endpoints) and PostgreSQL (proxy, database)
   * inside the VPC, and the return traffic. Outbound 443 names 0.0.0.0/0 because the S3 and
   * DynamoDB gateway endpoints answer from the services' public ranges, which an ACL cannot
   * name; the route tables of these subnets have no internet route, so nothing else is reachable.
   */
  private isolatedAcl(vpcCidr: string): void {
    const acl = new ec2.NetworkAcl(this, "IsolatedAcl", {
      vpc: this.vpc,
      subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }
    })
    const vpc = ec2.AclCidr.ipv4(vpcCidr)
    const anywhere = ec2.AclCidr.anyIpv4()
    const ephemeral = ec2.AclTraffic.tcpPortRange(1024, 65535)
    const rules: ReadonlyArray<[string, number, ec2.TrafficDirection, ec2.AclCidr, ec2.AclTraffic]> = [
      ["InHttpsFromVpc", 100, ec2.TrafficDirection.INGRESS, vpc, ec2.AclTraffic.tcpPort(443)],
      ["InPostgresFromVpc", 110, ec2.TrafficDirection.INGRESS, vpc, ec2.AclTraffic.tcpPort(5432)],
      ["InReturnTraffic", 120, ec2.TrafficDirection.INGRESS, anywhere, ephemeral],
      ["OutHttps", 100, ec2.TrafficDirection.EGRESS, anywhere, ec2.AclTraffic.tcpPort(443)],
      ["OutPostgresToVpc", 110, ec2.TrafficDirection.EGRESS, vpc, ec2.AclTraffic.tcpPort(5432)],
      ["OutReturnTrafficToVpc", 120, ec2.TrafficDirection.EGRESS, vpc, ephemeral]
    ]
    for (const [id, ruleNumber, direction, cidr, traffic] of rules) {
      acl.addEntry(id, { ruleNumber, direction, cidr, traffic, ruleAction: ec2.Action.ALLOW })
    }
    acknowledge(
      acl,
      "AwsSolutions-VPC3",
      "The architecture asks for subnet-level network ACLs on the isolated subnets as a second layer under the security groups (HIPAA network segmentation); the rules are kept to HTTPS, PostgreSQL and return traffic."
    )
  }
}
