/**
 * The DynamoDB CostTracker twice over. Against a real DynamoDB-protocol server (dynalite, started
 * and stopped here on 127.0.0.1) on a table created from the deployment's own definition: the
 * shared contract, the item as stored, the monthly query through the index with pagination,
 * idempotent rewrites, the EMF line checked against the EMF structure, and the layer built from
 * settings. Against aws-sdk-client-mock: error classification and query retries.
 */
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  PutItemCommand,
  QueryCommand
} from "@aws-sdk/client-dynamodb"
import { afterAll, beforeAll, describe, expect, it, vi } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Exit, Layer, Logger } from "effect"
import { randomUUID } from "node:crypto"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { createRequire } from "node:module"
import { AppInfoConfig } from "../../../src/config/app.js"
import { CostConfig } from "../../../src/config/cost.js"
import { EmfSink, type EmfSinkService } from "../../../src/layers/telemetry/emf.js"
import {
  CostTrackerDynamoDb,
  makeDynamoCostStore,
  makeDynamoCostTracker,
  sortKeyOf
} from "../../../src/layers/costTracker/dynamodb.js"
import {
  COST_RECORD_RETENTION_SECONDS,
  costTrackingPointInTimeRecovery,
  costTrackingTable,
  costTrackingTimeToLive,
  MONTHLY_USAGE_INDEX
} from "../../../src/layers/costTracker/table.js"
import { CostTracker, CostTrackerUnavailable } from "../../../src/services/costTracker.js"
import { testConfigProvider } from "../../support/settings.js"
import { costTrackerContract, SONNET, usage } from "./contract.js"

// dynalite ships no types: the little of it we use, declared here.
interface DynaliteOptions {
  readonly createTableMs: number
  readonly deleteTableMs: number
  readonly updateTableMs: number
}
const require = createRequire(import.meta.url)
const dynalite = require("dynalite") as (options: DynaliteOptions) => Server

const TABLE = "serenya-llm-cost-tracking-test"
const FAKE_CREDENTIALS = { accessKeyId: "DYNALITE", secretAccessKey: "DYNALITE" }

let server: Server | undefined
let endpoint = ""
const clients: Array<DynamoDBClient> = []

interface SentCommand {
  readonly name: string
  readonly input: Record<string, unknown>
}

/** A client for dynalite; `sent` sees every command's name and input. */
const dynaliteClient = (sent?: Array<SentCommand>) => {
  const client = new DynamoDBClient({ endpoint, region: "eu-west-1", credentials: FAKE_CREDENTIALS, maxAttempts: 1 })
  if (sent) {
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push({ name: context.commandName ?? "", input: { ...(args.input as Record<string, unknown>) } })
        return next(args)
      },
      { step: "initialize", name: "serenyaTestTap" }
    )
  }
  clients.push(client)
  return client
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  const listening = server
  await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve))
  endpoint = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`
  await dynaliteClient().send(new CreateTableCommand(costTrackingTable(TABLE)))
})

afterAll(async () => {
  for (const client of clients) client.destroy()
  const running = server
  if (running) {
    running.closeAllConnections()
    await new Promise<void>((resolve) => running.close(() => resolve()))
  }
})

const capturingSink = (lines: Array<string>): EmfSinkService => ({ emit: (line) => Effect.sync(() => void lines.push(line)) })

/** Every item of one user in the base table, as DynamoDB returns them. */
const itemsOf = (userId: string) =>
  Effect.promise(() =>
    dynaliteClient().send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "#u = :u",
        ExpressionAttributeNames: { "#u": "userId" },
        ExpressionAttributeValues: { ":u": { S: userId } }
      })
    )
  ).pipe(Effect.map((out) => out.Items ?? []))

costTrackerContract("dynamodb", {
  environment: () => Layer.empty,
  // small pages: every contract sum goes through Query pagination
  store: Effect.sync(() => makeDynamoCostStore(dynaliteClient(), { tableName: TABLE, pageSize: 2 })),
  newUserId: Effect.sync(() => randomUUID())
})

describe("DynamoDB cost tracker against dynalite", () => {
  it.effect("the table is the deployment's definition: keys, month index projecting the summed attributes, on-demand", () =>
    Effect.gen(function* () {
      const { Table } = yield* Effect.promise(() => dynaliteClient().send(new DescribeTableCommand({ TableName: TABLE })))
      expect(Table?.KeySchema).toEqual([
        { AttributeName: "userId", KeyType: "HASH" },
        { AttributeName: "timestamp", KeyType: "RANGE" }
      ])
      expect(Table?.AttributeDefinitions).toEqual([
        { AttributeName: "userId", AttributeType: "S" },
        { AttributeName: "timestamp", AttributeType: "N" },
        { AttributeName: "month", AttributeType: "S" }
      ])
      expect(Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST")
      expect(Table?.GlobalSecondaryIndexes).toHaveLength(1)
      expect(Table?.GlobalSecondaryIndexes?.[0]).toMatchObject({
        IndexName: "monthly-usage-index",
        KeySchema: [
          { AttributeName: "userId", KeyType: "HASH" },
          { AttributeName: "month", KeyType: "RANGE" }
        ],
        Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: ["inputTokens", "outputTokens", "totalCost"] }
      })
      // set apart from CreateTable (dynalite implements neither): the CDK stack applies them
      expect(costTrackingTimeToLive).toEqual({ AttributeName: "ttl", Enabled: true })
      expect(costTrackingPointInTimeRecovery).toEqual({ PointInTimeRecoveryEnabled: true })
      expect(costTrackingTable("other-name").TableName).toBe("other-name")
    }))

  it.effect("record stores the architecture's item: month for the index, ttl a year ahead, cost in cents", () =>
    Effect.gen(function* () {
      const tracker = yield* makeDynamoCostTracker(dynaliteClient(), { tableName: TABLE, monthlyBudgetCents: 500 })
      const user = randomUUID()
      const record = usage(user, {
        occurredAt: new Date("2026-03-10T12:00:00.123Z"),
        totalCostCents: 0.6,
        idempotencyKey: "job:7f3c:attempt:1"
      })
      yield* tracker.record(record)
      const items = yield* itemsOf(user)
      expect(items).toHaveLength(1)
      const occurredMs = Date.parse("2026-03-10T12:00:00.123Z")
      expect(items[0]).toEqual({
        userId: { S: user },
        timestamp: { N: sortKeyOf(record).replace(/0+$/, "") },
        month: { S: "2026-03" },
        ttl: { N: String(Math.floor(occurredMs / 1000) + COST_RECORD_RETENTION_SECONDS) },
        idempotencyKey: { S: "job:7f3c:attempt:1" },
        provider: { S: "aws.bedrock" },
        modelId: { S: SONNET },
        documentType: { S: "lab_results" },
        inputTokens: { N: "1000" },
        outputTokens: { N: "200" },
        totalCost: { N: "0.6" },
        processingTimeMs: { N: "1234" },
        occurredAt: { S: "2026-03-10T12:00:00.123Z" }
      })
      expect(COST_RECORD_RETENTION_SECONDS).toBe(365 * 24 * 60 * 60)
      // the sort key reads as the call's epoch milliseconds
      expect(Math.floor(Number(items[0]?.timestamp?.N))).toBe(occurredMs)
    }).pipe(Effect.provideService(EmfSink, capturingSink([]))))

  it("sort keys: the same record maps to the same key; same millisecond, another key, another sort key", () => {
    const at = new Date("2026-03-10T12:00:00.000Z")
    const key = sortKeyOf({ occurredAt: at, idempotencyKey: "chat:m-1" })
    expect(key).toMatch(/^1773144000000\.\d{20}$/)
    expect(sortKeyOf({ occurredAt: new Date(at.getTime()), idempotencyKey: "chat:m-1" })).toBe(key)
    expect(sortKeyOf({ occurredAt: at, idempotencyKey: "chat:m-2" })).not.toBe(key)
    // 13 + 20 digits: within DynamoDB's 38 significant digits
    expect(key.replace(".", "").length).toBeLessThanOrEqual(38)
  })

  it.effect("monthlyUsage queries monthly-usage-index (userId = :u AND month = :m) and follows every page", () =>
    Effect.gen(function* () {
      const sent: Array<SentCommand> = []
      const tracker = yield* makeDynamoCostTracker(dynaliteClient(sent), { tableName: TABLE, pageSize: 2, monthlyBudgetCents: 500 })
      const user = randomUUID()
      yield* Effect.forEach(
        [1, 2, 3, 4, 5],
        (i) => tracker.record(usage(user, { inputTokens: i, outputTokens: 10 * i, totalCostCents: i / 10_000 })),
        { discard: true }
      )
      yield* tracker.record(usage(user, { inputTokens: 100, occurredAt: new Date("2026-04-02T00:00:00Z") }))
      sent.length = 0
      expect(yield* tracker.monthlyUsage(user, "2026-03")).toEqual({
        month: "2026-03",
        inputTokens: 15,
        outputTokens: 150,
        totalCostCents: 0.0015,
        calls: 5
      })
      const queries = sent.filter((c) => c.name === "QueryCommand")
      expect(queries.length).toBeGreaterThanOrEqual(3)
      for (const query of queries) {
        expect(query.input).toMatchObject({
          TableName: TABLE,
          IndexName: MONTHLY_USAGE_INDEX,
          KeyConditionExpression: "#user = :user AND #month = :month",
          ExpressionAttributeNames: { "#user": "userId", "#month": "month" },
          ExpressionAttributeValues: { ":user": { S: user }, ":month": { S: "2026-03" } },
          Limit: 2
        })
      }
      expect(queries[0]?.input.ExclusiveStartKey).toBeUndefined()
      expect(queries.slice(1).every((q) => q.input.ExclusiveStartKey !== undefined)).toBe(true)
      expect(sent.filter((c) => c.name !== "QueryCommand")).toEqual([])
    }).pipe(Effect.provideService(EmfSink, capturingSink([]))))

  it.effect("the same idempotency key written twice (a retry) is one item, counted once", () =>
    Effect.gen(function* () {
      const client = dynaliteClient()
      const store = makeDynamoCostStore(client, { tableName: TABLE })
      const tracker = yield* makeDynamoCostTracker(client, { tableName: TABLE, monthlyBudgetCents: 500 })
      const user = randomUUID()
      const record = usage(user, { idempotencyKey: "job:j-9:attempt:1", totalCostCents: 1.25 })
      yield* tracker.record(record)
      yield* tracker.record(record)
      // what a background retry does after a write that landed but timed out
      yield* store.write(record)
      expect(yield* itemsOf(user)).toHaveLength(1)
      expect(yield* tracker.monthlyUsage(user, "2026-03")).toMatchObject({ calls: 1, totalCostCents: 1.25 })
      // same millisecond, another key: another item
      yield* tracker.record({ ...record, idempotencyKey: "job:j-9:attempt:2" })
      expect(yield* tracker.monthlyUsage(user, "2026-03")).toMatchObject({ calls: 2, totalCostCents: 2.5 })
    }).pipe(Effect.provideService(EmfSink, capturingSink([]))))

  it.effect("another record already on the sort key is a permanent error (SORT_KEY_COLLISION), not a silent success", () =>
    Effect.gen(function* () {
      const client = dynaliteClient()
      const store = makeDynamoCostStore(client, { tableName: TABLE })
      const user = randomUUID()
      const record = usage(user)
      yield* Effect.promise(() =>
        client.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: {
              userId: { S: user },
              timestamp: { N: sortKeyOf(record) },
              month: { S: "2026-03" },
              idempotencyKey: { S: "someone-else" }
            }
          })
        )
      )
      const error = yield* Effect.flip(store.write(record))
      expect(error).toMatchObject({ _tag: "CostStoreError", code: "SORT_KEY_COLLISION", transient: false })
    }))

  it.effect("an item whose numbers do not decode fails monthlyUsage with CostTrackerUnavailable", () =>
    Effect.gen(function* () {
      const client = dynaliteClient()
      const store = makeDynamoCostStore(client, { tableName: TABLE })
      const user = randomUUID()
      yield* Effect.promise(() =>
        client.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: {
              userId: { S: user },
              timestamp: { N: "1" },
              month: { S: "2026-03" },
              inputTokens: { S: "twelve" },
              outputTokens: { N: "1" },
              totalCost: { N: "1" }
            }
          })
        )
      )
      const error = yield* Effect.flip(store.monthlyUsage(user, "2026-03"))
      expect(error).toBeInstanceOf(CostTrackerUnavailable)
      expect(error.message).toBe("LLM usage could not be read (INVALID_ITEM)")
    }))

  it.effect("one EMF line per record, in the EMF structure: namespace, dimension sets, units, values as top-level keys", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const tracker = yield* makeDynamoCostTracker(dynaliteClient(), { tableName: TABLE, monthlyBudgetCents: 500 }).pipe(
        Effect.provideService(EmfSink, capturingSink(lines))
      )
      const user = randomUUID()
      const occurredAt = new Date("2026-03-10T12:00:00.456Z")
      yield* tracker.record(
        usage(user, {
          provider: "aws.bedrock",
          modelId: `eu.${SONNET}`,
          documentType: "vitals",
          inputTokens: 1234,
          outputTokens: 567,
          totalCostCents: 1.2207,
          processingTimeMs: 3456,
          occurredAt
        })
      )
      expect(lines).toHaveLength(1)
      const line = lines[0] ?? ""
      expect(line).not.toContain("\n")
      expect(line).not.toContain(user)
      const document: unknown = JSON.parse(line)
      expect(document).toStrictEqual({
        _aws: {
          Timestamp: occurredAt.getTime(),
          CloudWatchMetrics: [
            {
              Namespace: "Serenya/LLM",
              Dimensions: [["Provider", "ModelId", "DocumentType"], ["Provider"]],
              Metrics: [
                { Name: "InputTokens", Unit: "Count" },
                { Name: "OutputTokens", Unit: "Count" }
              ]
            },
            {
              Namespace: "Serenya/LLM",
              Dimensions: [["Provider", "ModelId"], ["Provider"], []],
              Metrics: [{ Name: "TotalCost", Unit: "Count" }]
            },
            {
              Namespace: "Serenya/LLM",
              Dimensions: [["DocumentType"]],
              Metrics: [{ Name: "ProcessingTime", Unit: "Milliseconds" }]
            }
          ]
        },
        Provider: "bedrock",
        ModelId: `eu.${SONNET}`,
        DocumentType: "vitals",
        InputTokens: 1234,
        OutputTokens: 567,
        TotalCost: 1.2207,
        ProcessingTime: 3456
      })
      assertEmfStructure(document)
    }))

  it.live("CostTrackerDynamoDb from settings (COST_TRACKING_TABLE, DYNAMODB_ENDPOINT, budget) records and queries", () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS.accessKeyId)
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS.secretAccessKey)
    // the cost slice and the Region, read alone from these variables
    const settings = testConfigProvider({
      COST_TRACKER: "dynamodb",
      COST_TRACKING_TABLE: TABLE,
      DYNAMODB_ENDPOINT: endpoint,
      LLM_MONTHLY_BUDGET_CENTS: "3"
    })
    const lines: Array<string> = []
    const user = randomUUID()
    return Effect.gen(function* () {
      const tracker = yield* CostTracker
      const now = new Date()
      yield* tracker.record(usage(user, { totalCostCents: 2, occurredAt: now }))
      yield* tracker.ensureWithinBudget(user)
      yield* tracker.record(usage(user, { totalCostCents: 1, occurredAt: now }))
      expect(yield* Effect.flip(tracker.ensureWithinBudget(user))).toMatchObject({ _tag: "QuotaExceeded" })
      expect(lines).toHaveLength(2)
    }).pipe(
      Effect.provide(
        CostTrackerDynamoDb.pipe(
          Layer.provide(Layer.merge(CostConfig.layer, AppInfoConfig.layer)),
          Layer.provide(settings),
          Layer.provide(Layer.succeed(EmfSink, capturingSink(lines)))
        )
      ),
      Effect.ensuring(Effect.sync(() => vi.unstubAllEnvs()))
    )
  })
})

/**
 * The EMF specification's rules for one document: `_aws.Timestamp` in epoch ms, at least one
 * directive, each with a namespace, dimension sets of at most 30 names, metrics with a valid
 * CloudWatch unit; every dimension a top-level string, every metric a top-level number.
 */
const CLOUDWATCH_UNITS = new Set([
  "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
  "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
  "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
  "Gigabits/Second", "Terabits/Second", "Count/Second", "None"
])

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

const assertEmfStructure = (document: unknown) => {
  expect(isRecord(document)).toBe(true)
  if (!isRecord(document)) return
  const aws = document._aws
  expect(isRecord(aws)).toBe(true)
  if (!isRecord(aws)) return
  expect(Number.isInteger(aws.Timestamp)).toBe(true)
  const directives = aws.CloudWatchMetrics
  expect(Array.isArray(directives) && directives.length > 0).toBe(true)
  if (!Array.isArray(directives)) return
  const metricNames = new Set<string>()
  for (const directive of directives) {
    expect(isRecord(directive)).toBe(true)
    if (!isRecord(directive)) continue
    expect(directive.Namespace).toBe("Serenya/LLM")
    expect(Array.isArray(directive.Dimensions)).toBe(true)
    for (const set of directive.Dimensions as ReadonlyArray<unknown>) {
      expect(Array.isArray(set)).toBe(true)
      const names = set as ReadonlyArray<unknown>
      expect(names.length).toBeLessThanOrEqual(30)
      for (const name of names) {
        expect(typeof name).toBe("string")
        expect(typeof document[name as string], `dimension ${String(name)}`).toBe("string")
      }
    }
    expect(Array.isArray(directive.Metrics) && directive.Metrics.length > 0).toBe(true)
    for (const metric of directive.Metrics as ReadonlyArray<unknown>) {
      expect(isRecord(metric)).toBe(true)
      if (!isRecord(metric)) continue
      expect(typeof metric.Name).toBe("string")
      expect(CLOUDWATCH_UNITS.has(String(metric.Unit)), String(metric.Unit)).toBe(true)
      const value = document[String(metric.Name)]
      expect(typeof value === "number" && Number.isFinite(value), `metric ${String(metric.Name)}`).toBe(true)
      metricNames.add(String(metric.Name))
    }
  }
  // each metric under exactly one directive, so none is published twice under the same dimensions
  expect([...metricNames].sort()).toEqual(["InputTokens", "OutputTokens", "ProcessingTime", "TotalCost"])
}

describe("DynamoDB cost store against a mocked client", () => {
  const client = new DynamoDBClient({ region: "eu-west-1", credentials: FAKE_CREDENTIALS })
  const dynamo = mockClient(client)
  afterAll(() => {
    dynamo.restore()
    client.destroy()
  })

  const serviceError = (name: string, status: number | undefined) =>
    new DynamoDBServiceException({
      name,
      $fault: status !== undefined && status < 500 ? "client" : "server",
      $metadata: status === undefined ? {} : { httpStatusCode: status },
      message: name
    })

  const store = () => makeDynamoCostStore(client, { tableName: TABLE })

  it.effect("write errors are classified: throttling, 5xx and network trouble are transient; refusals are not", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [Error, string, boolean]> = [
        [serviceError("ProvisionedThroughputExceededException", 400), "ProvisionedThroughputExceededException", true],
        [serviceError("ThrottlingException", 400), "ThrottlingException", true],
        [serviceError("InternalServerError", 500), "InternalServerError", true],
        [serviceError("SomethingNew", 503), "SomethingNew", true],
        [Object.assign(new Error("socket hang up"), { name: "Error" }), "Error", true],
        [serviceError("ValidationException", 400), "ValidationException", false],
        [serviceError("ResourceNotFoundException", 400), "ResourceNotFoundException", false],
        [serviceError("AccessDeniedException", 400), "AccessDeniedException", false],
        [Object.assign(new Error("no credentials"), { name: "CredentialsProviderError" }), "CredentialsProviderError", false],
        [
          new ConditionalCheckFailedException({ $metadata: { httpStatusCode: 400 }, message: "The conditional request failed" }),
          "SORT_KEY_COLLISION",
          false
        ]
      ]
      for (const [error, code, transient] of cases) {
        dynamo.reset()
        dynamo.on(PutItemCommand).rejects(error)
        const failure = yield* Effect.flip(store().write(usage(randomUUID())))
        expect(failure, code).toMatchObject({ _tag: "CostStoreError", code, transient })
      }
    }))

  it.live("eraseUser: a strongly consistent Query of the user's partition, then BatchWriteItem deletes re-sending what came back unprocessed", () =>
    Effect.gen(function* () {
      dynamo.reset()
      const keyOf = (n: number) => ({ userId: { S: "erased-user" }, timestamp: { N: `${n}.5` } })
      dynamo.on(QueryCommand).resolves({ Items: [keyOf(1), keyOf(2), keyOf(3)] })
      dynamo
        .on(BatchWriteItemCommand)
        .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: keyOf(3) } }] } })
        .resolves({ UnprocessedItems: {} })
      expect(yield* store().eraseUser("erased-user")).toBe(3)
      const query = dynamo.commandCalls(QueryCommand)[0]?.args[0].input
      expect(query).toMatchObject({
        TableName: TABLE,
        ConsistentRead: true,
        KeyConditionExpression: "#user = :user",
        ExpressionAttributeValues: { ":user": { S: "erased-user" } }
      })
      expect(query).not.toHaveProperty("IndexName")
      const batches = dynamo.commandCalls(BatchWriteItemCommand).map((c) => c.args[0].input.RequestItems?.[TABLE])
      expect(batches).toEqual([
        [keyOf(1), keyOf(2), keyOf(3)].map((Key) => ({ DeleteRequest: { Key } })),
        [{ DeleteRequest: { Key: keyOf(3) } }]
      ])
    }))

  it.live("eraseUser: items that stay unprocessed are re-sent a bounded number of times, then CostTrackerUnavailable (the outbox retries)", () =>
    Effect.gen(function* () {
      dynamo.reset()
      const key = { userId: { S: "throttled-user" }, timestamp: { N: "1.5" } }
      dynamo.on(QueryCommand).resolves({ Items: [key] })
      dynamo.on(BatchWriteItemCommand).resolves({ UnprocessedItems: { [TABLE]: [{ DeleteRequest: { Key: key } }] } })
      const error = yield* Effect.flip(store().eraseUser("throttled-user"))
      expect(error).toBeInstanceOf(CostTrackerUnavailable)
      expect(error.message).toBe("LLM usage could not be erased (UNPROCESSED_ITEMS)")
      expect(dynamo.commandCalls(BatchWriteItemCommand)).toHaveLength(6)
    }))

  it.live("a throttled Query is retried; a refused one fails at once with CostTrackerUnavailable naming the code", () =>
    Effect.gen(function* () {
      dynamo.reset()
      dynamo
        .on(QueryCommand)
        .rejectsOnce(serviceError("ProvisionedThroughputExceededException", 400))
        .rejectsOnce(serviceError("InternalServerError", 500))
        .resolves({ Items: [{ inputTokens: { N: "10" }, outputTokens: { N: "20" }, totalCost: { N: "0.33" } }] })
      expect(yield* store().monthlyUsage("u", "2026-03")).toEqual({
        month: "2026-03",
        inputTokens: 10,
        outputTokens: 20,
        totalCostCents: 0.33,
        calls: 1
      })
      expect(dynamo.commandCalls(QueryCommand)).toHaveLength(3)

      dynamo.reset()
      dynamo.on(QueryCommand).rejects(serviceError("ResourceNotFoundException", 400))
      const error = yield* Effect.flip(store().monthlyUsage("u", "2026-03"))
      expect(error).toBeInstanceOf(CostTrackerUnavailable)
      expect(error.message).toBe("LLM usage could not be read (ResourceNotFoundException)")
      expect(dynamo.commandCalls(QueryCommand)).toHaveLength(1)
    }))

  it.live("a throttled write never fails record: the background retry sends the very same item", () =>
    Effect.gen(function* () {
      dynamo.reset()
      dynamo.on(PutItemCommand).rejectsOnce(serviceError("ProvisionedThroughputExceededException", 400)).resolves({})
      const tracker = yield* makeDynamoCostTracker(client, {
        tableName: TABLE,
        monthlyBudgetCents: 500,
        retry: { base: "5 millis" }
      })
      expect(yield* Effect.exit(tracker.record(usage(randomUUID())))).toEqual(Exit.void)
      for (let i = 0; i < 100 && dynamo.commandCalls(PutItemCommand).length < 2; i++) yield* Effect.sleep("10 millis")
      const calls = dynamo.commandCalls(PutItemCommand)
      expect(calls).toHaveLength(2)
      // same sort key and condition: the conditional put dedups it
      expect(calls[1]?.args[0].input).toEqual(calls[0]?.args[0].input)
    }).pipe(
      Effect.provideService(EmfSink, capturingSink([])),
      Effect.provide(Logger.layer([])),
      Effect.scoped
    ))
})
