import type * as ec2 from "aws-cdk-lib/aws-ec2"
import type * as lambda from "aws-cdk-lib/aws-lambda"
import type * as s3 from "aws-cdk-lib/aws-s3"

/*
 * Some aws-cdk-lib classes declare members as `x: T | undefined` where their interfaces say `x?: T`
 * (Vpc.vpnGatewayId, Bucket.isWebsite, Alias.role, Version.role). Under this project's
 * exactOptionalPropertyTypes the two are different types, so a class is not assignable to its own
 * interface. These widen one class to its interface, in one place, instead of casts at every use.
 */
export const vpcRef = (vpc: ec2.Vpc): ec2.IVpc => vpc as unknown as ec2.IVpc
export const bucketRef = (bucket: s3.Bucket): s3.IBucket => bucket as unknown as s3.IBucket
export const functionRef = (fn: lambda.Alias): lambda.IFunction => fn as unknown as lambda.IFunction
export const versionRef = (version: lambda.Version): lambda.IVersion => version as unknown as lambda.IVersion
