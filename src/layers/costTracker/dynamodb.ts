/**
 * The live CostTracker: Amazon DynamoDB (or a DynamoDB-compatible server through
 * DYNAMODB_ENDPOINT), on the table of table.ts, with one EMF metrics line per record.
 *
 * Idempotency: the sort key `timestamp` is the call's epoch milliseconds plus a 20-digit fraction
 * taken from the SHA-256 of the idempotency key (`1772323200123.04718512345678901234`), so a record
 * written again — a background retry of a write that landed but timed out — lands on the same
 * item, while two calls of one user in the same millisecond do not collide. The put is conditional
 * on `attribute_not_exists(timestamp) OR idempotencyKey = :key`: a rewrite of the same record
 * replaces it with identical values (counted once); ConditionalCheckFailed only means another
 * record already holds that key (a 2^-64 hash collision) and is reported, not swallowed.
 *
 * The SDK does not retry (`maxAttempts: 1`): writes are retried by the shared background queue,
 * queries here on a short schedule within a timeout, then surface as CostTrackerUnavailable.
 * The SDK loads, and the client is created, on the first write or query, not when the layer is
 * built (src/layers/aws/sdk.ts).
 */
import type * as DynamoDB from "@aws-sdk/client-dynamodb"
import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { Effect, Layer, Option, Schedule, Schema, type Scope } from "effect"
import { createHash } from "node:crypto"
import { AppInfoConfig } from "../../config/app.js"
import { CostConfig } from "../../config/cost.js"
import {
  CostTracker,
  CostTrackerUnavailable,
  type LLMUsageRecord,
  monthOf,
  type MonthlyUsage,
  UsageDocumentType,
  type UsageEntry
} from "../../services/costTracker.js"
import { LLMProviderName } from "../../services/llm.js"
import { OperationTimedOut } from "../../services/errors.js"
import { makeRetrySchedule, withRetry, withTimeout } from "../../services/resilience.js"
import { type CostStore, CostStoreError, type CostTrackerOptions, makeCostTracker, sumUsage } from "./background.js"
import {
  COST_RECORD_RETENTION_SECONDS,
  COST_TABLE_MONTH_ATTRIBUTE,
  COST_TABLE_PARTITION_KEY,
  COST_TABLE_SORT_KEY,
  COST_TABLE_TTL_ATTRIBUTE,
  MONTHLY_USAGE_INDEX
} from "./table.js"
import { awsErrorName, awsHttpStatus } from "../aws/errors.js"
import { AwsSdk, type ClientSource, clientFrom, lazyClient, tryAws } from "../aws/sdk.js"

/** The subset of the DynamoDB client we use: tests hand in a wrapped or mocked one. */
export type DynamoSend = Pick<DynamoDB.DynamoDBClient, "send">

export interface DynamoCostStoreOptions {
  readonly tableName: string
  /** Items per Query page; DynamoDB's own page limit is 1 MB. */
  readonly pageSize?: number
}

export interface DynamoCostTrackerOptions extends DynamoCostStoreOptions, CostTrackerOptions {}

const DYNAMODB_TIMEOUT = "3 seconds"
const QUERY_RETRY = makeRetrySchedule({ base: "100 millis", maxRetries: 3, maxDelay: "2 seconds" })

const THROTTLING = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
  "RequestTimeout"
])


const classify = (operation: string, cause: unknown): CostStoreError => {
  const name = awsErrorName(cause)
  const status = awsHttpStatus(cause)
  if (name === "ConditionalCheckFailedException") {
    return new CostStoreError({
      message: `DynamoDB ${operation}: another record holds this sort key`,
      code: "SORT_KEY_COLLISION",
      transient: false
    })
  }
  const transient =
    THROTTLING.has(name) ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    // no HTTP answer at all: a network error; missing credentials will not appear by retrying
    (status === undefined && name !== "CredentialsProviderError")
  return new CostStoreError({ message: `DynamoDB ${operation} failed: ${name}`, code: name, transient })
}

const call = <A>(operation: string, tableName: string, send: (signal: AbortSignal) => Promise<A>) =>
  tryAws(send, (cause) => classify(operation, cause)).pipe(
    withTimeout(`dynamodb.${operation}`, DYNAMODB_TIMEOUT),
    Effect.catchIf(
      (e): e is OperationTimedOut => e instanceof OperationTimedOut,
      () => Effect.fail(new CostStoreError({ message: `DynamoDB ${operation} timed out`, code: "TIMEOUT", transient: true }))
    ),
    Effect.withSpan(`DynamoDB.${operation}`, {
      attributes: {
        "rpc.system": "aws-api",
        "rpc.service": "DynamoDB",
        "rpc.method": operation,
        "aws.dynamodb.table_names": [tableName]
      }
    })
  )

/** The record's sort key: epoch ms, then 20 decimal digits of SHA-256(idempotency key). */
export const sortKeyOf = (record: Pick<LLMUsageRecord, "occurredAt" | "idempotencyKey">): string => {
  const digest = createHash("sha256").update(record.idempotencyKey, "utf8").digest()
  const fraction = digest.readBigUInt64BE(0).toString().padStart(20, "0")
  return `${record.occurredAt.getTime()}.${fraction}`
}

/** The item stored for one record; `month` and `ttl` derive from the call's time. */
export const itemOf = (record: LLMUsageRecord): Record<string, AttributeValue> => {
  const occurredAt = record.occurredAt.getTime()
  return {
    [COST_TABLE_PARTITION_KEY]: { S: record.userId },
    [COST_TABLE_SORT_KEY]: { N: sortKeyOf(record) },
    [COST_TABLE_MONTH_ATTRIBUTE]: { S: monthOf(record.occurredAt) },
    [COST_TABLE_TTL_ATTRIBUTE]: { N: String(Math.floor(occurredAt / 1000) + COST_RECORD_RETENTION_SECONDS) },
    idempotencyKey: { S: record.idempotencyKey },
    provider: { S: record.provider },
    modelId: { S: record.modelId },
    documentType: { S: record.documentType },
    inputTokens: { N: String(record.inputTokens) },
    outputTokens: { N: String(record.outputTokens) },
    // cents, as the architecture's item has it
    totalCost: { N: record.totalCostCents.toFixed(4) },
    processingTimeMs: { N: String(record.processingTimeMs) },
    occurredAt: { S: record.occurredAt.toISOString() }
  }
}

const NumberValue = Schema.Struct({ N: Schema.NumberFromString.pipe(Schema.check(Schema.isFinite())) })
const StringValue = Schema.Struct({ S: Schema.String })
const RecordItem = Schema.Struct({
  provider: Schema.Struct({ S: LLMProviderName }),
  modelId: StringValue,
  documentType: Schema.Struct({ S: UsageDocumentType }),
  inputTokens: NumberValue,
  outputTokens: NumberValue,
  totalCost: NumberValue,
  processingTimeMs: NumberValue,
  occurredAt: Schema.Struct({ S: Schema.DateFromString })
})
const decodeRecordItem = Schema.decodeUnknownEffect(RecordItem)

/** BatchWriteItem's limit per request. */
const BATCH_WRITE_MAX = 25
/** Rounds of re-sending what BatchWriteItem left unprocessed (throttling) before giving up for now. */
const UNPROCESSED_RETRY = Schedule.max([Schedule.exponential("100 millis").pipe(Schedule.jittered), Schedule.recurs(5)])
const UsageItem = Schema.Struct({ inputTokens: NumberValue, outputTokens: NumberValue, totalCost: NumberValue })
const decodeUsageItem = Schema.decodeUnknownEffect(UsageItem)

export const makeDynamoCostStore = (client: ClientSource<DynamoSend>, options: DynamoCostStoreOptions): CostStore => {
  const { tableName, pageSize } = options
  /** The client and the SDK's command classes (the module the client came from). */
  const dynamo = Effect.zip(clientFrom(client), AwsSdk.dynamodb)

  const write = (record: LLMUsageRecord): Effect.Effect<void, CostStoreError> =>
    Effect.flatMap(dynamo, ([client, sdk]) =>
      call("PutItem", tableName, (abortSignal) =>
        client.send(
          new sdk.PutItemCommand({
            TableName: tableName,
            Item: itemOf(record),
            ConditionExpression: "attribute_not_exists(#sortKey) OR #idempotencyKey = :idempotencyKey",
            ExpressionAttributeNames: { "#sortKey": COST_TABLE_SORT_KEY, "#idempotencyKey": "idempotencyKey" },
            ExpressionAttributeValues: { ":idempotencyKey": { S: record.idempotencyKey } }
          }),
          { abortSignal }
        )
      )
    ).pipe(Effect.asVoid)

  const monthlyUsage = (userId: string, month: string): Effect.Effect<MonthlyUsage, CostTrackerUnavailable> =>
    Effect.gen(function* () {
      const [client, sdk] = yield* dynamo
      const rows: Array<{ inputTokens: number; outputTokens: number; totalCostCents: number }> = []
      let startKey: Record<string, AttributeValue> | undefined
      do {
        const exclusiveStartKey = startKey
        const page = yield* call("Query", tableName, (abortSignal) =>
          client.send(
            new sdk.QueryCommand({
              TableName: tableName,
              IndexName: MONTHLY_USAGE_INDEX,
              KeyConditionExpression: "#user = :user AND #month = :month",
              ProjectionExpression: "#input, #output, #cost",
              ExpressionAttributeNames: {
                "#user": COST_TABLE_PARTITION_KEY,
                "#month": COST_TABLE_MONTH_ATTRIBUTE,
                "#input": "inputTokens",
                "#output": "outputTokens",
                "#cost": "totalCost"
              },
              ExpressionAttributeValues: { ":user": { S: userId }, ":month": { S: month } },
              ...(pageSize !== undefined ? { Limit: pageSize } : {}),
              ...(exclusiveStartKey !== undefined ? { ExclusiveStartKey: exclusiveStartKey } : {})
            }),
            { abortSignal }
          )
        ).pipe(withRetry(QUERY_RETRY))
        for (const item of page.Items ?? []) {
          const decoded = yield* decodeUsageItem(item).pipe(
            Effect.mapError(
              () => new CostStoreError({ message: "DynamoDB Query answered an invalid item", code: "INVALID_ITEM", transient: false })
            )
          )
          rows.push({
            inputTokens: decoded.inputTokens.N,
            outputTokens: decoded.outputTokens.N,
            totalCostCents: decoded.totalCost.N
          })
        }
        const last = page.LastEvaluatedKey
        startKey = last !== undefined && Object.keys(last).length > 0 ? last : undefined
      } while (startKey !== undefined)
      return sumUsage(month, rows)
    }).pipe(
      Effect.mapError((error) => new CostTrackerUnavailable({ message: `LLM usage could not be read (${error.code})` })),
      Effect.withSpan("CostStore.monthlyUsage", { attributes: { "cost.store": "dynamodb" } })
    )

  /** Every item of the user's partition, page by page (strongly consistent: an erasure must see every write). */
  const eachPage = <A>(
    userId: string,
    projection: ReadonlyArray<string>,
    onPage: (items: ReadonlyArray<Record<string, AttributeValue>>) => Effect.Effect<A, CostStoreError>
  ): Effect.Effect<Array<A>, CostStoreError> =>
    Effect.gen(function* () {
      const [client, sdk] = yield* dynamo
      const results: Array<A> = []
      const names = Object.fromEntries(projection.map((name, i) => [`#p${i}`, name]))
      let startKey: Record<string, AttributeValue> | undefined
      do {
        const exclusiveStartKey = startKey
        const page = yield* call("Query", tableName, (abortSignal) =>
          client.send(
            new sdk.QueryCommand({
              TableName: tableName,
              ConsistentRead: true,
              KeyConditionExpression: "#user = :user",
              ProjectionExpression: Object.keys(names).join(", "),
              ExpressionAttributeNames: { "#user": COST_TABLE_PARTITION_KEY, ...names },
              ExpressionAttributeValues: { ":user": { S: userId } },
              ...(pageSize !== undefined ? { Limit: pageSize } : {}),
              ...(exclusiveStartKey !== undefined ? { ExclusiveStartKey: exclusiveStartKey } : {})
            }),
            { abortSignal }
          )
        ).pipe(withRetry(QUERY_RETRY))
        results.push(yield* onPage(page.Items ?? []))
        const last = page.LastEvaluatedKey
        startKey = last !== undefined && Object.keys(last).length > 0 ? last : undefined
      } while (startKey !== undefined)
      return results
    })

  const records = (userId: string): Effect.Effect<ReadonlyArray<UsageEntry>, CostTrackerUnavailable> =>
    eachPage(
      userId,
      ["provider", "modelId", "documentType", "inputTokens", "outputTokens", "totalCost", "processingTimeMs", "occurredAt"],
      (items) =>
        Effect.forEach(items, (item) =>
          decodeRecordItem(item).pipe(
            Effect.map((d): UsageEntry => ({
              provider: d.provider.S,
              modelId: d.modelId.S,
              documentType: d.documentType.S,
              inputTokens: d.inputTokens.N,
              outputTokens: d.outputTokens.N,
              totalCostCents: d.totalCost.N,
              processingTimeMs: d.processingTimeMs.N,
              occurredAt: d.occurredAt.S
            })),
            Effect.mapError(
              () => new CostStoreError({ message: "DynamoDB Query answered an invalid item", code: "INVALID_ITEM", transient: false })
            )
          )
        )
    ).pipe(
      // the sort key orders by time already; sorting again keeps the contract independent of it
      Effect.map((pages) => pages.flat().sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime())),
      Effect.mapError((error) => new CostTrackerUnavailable({ message: `LLM usage could not be read (${error.code})` })),
      Effect.withSpan("CostStore.records", { attributes: { "cost.store": "dynamodb" } })
    )

  /** Deletes the keys, 25 per BatchWriteItem; what comes back unprocessed is sent again a bounded number of times. */
  const deleteKeys = (keys: ReadonlyArray<Record<string, AttributeValue>>): Effect.Effect<number, CostStoreError> =>
    Effect.gen(function* () {
      const [client, sdk] = yield* dynamo
      for (let i = 0; i < keys.length; i += BATCH_WRITE_MAX) {
        const chunk = keys.slice(i, i + BATCH_WRITE_MAX).map((Key) => ({ DeleteRequest: { Key } }))
        let requests: typeof chunk = chunk
        yield* Effect.suspend(() =>
          call("BatchWriteItem", tableName, (abortSignal) =>
            client.send(new sdk.BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }), { abortSignal })
          ).pipe(
            withRetry(QUERY_RETRY),
            Effect.flatMap((answer) => {
              const left = (answer.UnprocessedItems?.[tableName] ?? []).flatMap((request) =>
                request.DeleteRequest?.Key !== undefined ? [{ DeleteRequest: { Key: request.DeleteRequest.Key } }] : []
              )
              requests = left
              return left.length === 0
                ? Effect.void
                : Effect.fail(
                  new CostStoreError({ message: "DynamoDB BatchWriteItem left items unprocessed", code: "UNPROCESSED_ITEMS", transient: true })
                )
            })
          )
        ).pipe(Effect.retry({ schedule: UNPROCESSED_RETRY, while: (error) => error.code === "UNPROCESSED_ITEMS" }))
      }
      return keys.length
    })

  const eraseUser = (userId: string): Effect.Effect<number, CostTrackerUnavailable> =>
    eachPage(userId, [COST_TABLE_PARTITION_KEY, COST_TABLE_SORT_KEY], (items) =>
      deleteKeys(
        items.flatMap((item) => {
          const partition = item[COST_TABLE_PARTITION_KEY]
          const sort = item[COST_TABLE_SORT_KEY]
          return partition !== undefined && sort !== undefined
            ? [{ [COST_TABLE_PARTITION_KEY]: partition, [COST_TABLE_SORT_KEY]: sort }]
            : []
        })
      )
    ).pipe(
      Effect.map((counts) => counts.reduce((a, b) => a + b, 0)),
      Effect.mapError((error) => new CostTrackerUnavailable({ message: `LLM usage could not be erased (${error.code})` })),
      Effect.withSpan("CostStore.eraseUser", { attributes: { "cost.store": "dynamodb" } })
    )

  return { name: "dynamodb", write, monthlyUsage, records, eraseUser }
}

export const makeDynamoCostTracker = (
  client: ClientSource<DynamoSend>,
  options: DynamoCostTrackerOptions
): Effect.Effect<(typeof CostTracker)["Service"], never, Scope.Scope> => makeCostTracker(makeDynamoCostStore(client, options), options)

/** CostTracker on DynamoDB with the table, region, endpoint and budget from the settings. */
export const CostTrackerDynamoDb: Layer.Layer<CostTracker, never, CostConfig | AppInfoConfig> = Layer.effect(
  CostTracker,
  Effect.gen(function* () {
    const cost = yield* CostConfig
    const { awsRegion } = yield* AppInfoConfig
    const endpoint = Option.getOrUndefined(cost.dynamodbEndpoint)
    // released after the tracker's own finalizer has flushed pending records through it
    const client = yield* lazyClient(
      Effect.map(
        AwsSdk.dynamodb,
        (sdk) =>
          new sdk.DynamoDBClient({
            region: awsRegion,
            // we retry ourselves, on our schedule and only what is worth it
            maxAttempts: 1,
            ...(endpoint !== undefined ? { endpoint } : {})
          })
      )
    )
    return yield* makeDynamoCostTracker(client, {
      tableName: cost.table,
      monthlyBudgetCents: cost.monthlyBudgetCents
    })
  })
)
