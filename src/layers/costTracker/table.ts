/**
 * The LLM cost tracking table, defined once: the DynamoDB layer writes and queries it with these
 * names, its tests create it from `costTrackingTable`, and the CDK stack builds it from the same
 * values (CreateTable cannot carry TTL or point-in-time recovery: they are separate settings).
 *
 * Partition key `userId` (S), sort key `timestamp` (N: epoch milliseconds of the call, with a
 * fraction derived from the idempotency key, see dynamodb.ts), global secondary index
 * `monthly-usage-index` on `userId` + `month` projecting the three summed attributes, `ttl` one
 * year after the call, on-demand billing.
 */
import type {
  CreateTableCommandInput,
  PointInTimeRecoverySpecification,
  TimeToLiveSpecification
} from "@aws-sdk/client-dynamodb"

export const COST_TABLE_PARTITION_KEY = "userId"
export const COST_TABLE_SORT_KEY = "timestamp"
export const COST_TABLE_MONTH_ATTRIBUTE = "month"
export const COST_TABLE_TTL_ATTRIBUTE = "ttl"
export const MONTHLY_USAGE_INDEX = "monthly-usage-index"
/** The attributes `monthlyUsage` sums; the index projects exactly these. */
export const MONTHLY_USAGE_ATTRIBUTES = ["inputTokens", "outputTokens", "totalCost"] as const

/** Items expire one year after the call they record. */
export const COST_RECORD_RETENTION_SECONDS = 365 * 24 * 60 * 60

export const costTrackingTable = (tableName: string): CreateTableCommandInput => ({
  TableName: tableName,
  BillingMode: "PAY_PER_REQUEST",
  AttributeDefinitions: [
    { AttributeName: COST_TABLE_PARTITION_KEY, AttributeType: "S" },
    { AttributeName: COST_TABLE_SORT_KEY, AttributeType: "N" },
    // the architecture's YAML omits it, but DynamoDB requires every index key attribute to be defined
    { AttributeName: COST_TABLE_MONTH_ATTRIBUTE, AttributeType: "S" }
  ],
  KeySchema: [
    { AttributeName: COST_TABLE_PARTITION_KEY, KeyType: "HASH" },
    { AttributeName: COST_TABLE_SORT_KEY, KeyType: "RANGE" }
  ],
  GlobalSecondaryIndexes: [
    {
      IndexName: MONTHLY_USAGE_INDEX,
      KeySchema: [
        { AttributeName: COST_TABLE_PARTITION_KEY, KeyType: "HASH" },
        { AttributeName: COST_TABLE_MONTH_ATTRIBUTE, KeyType: "RANGE" }
      ],
      Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...MONTHLY_USAGE_ATTRIBUTES] }
    }
  ]
})

export const costTrackingTimeToLive: TimeToLiveSpecification = {
  AttributeName: COST_TABLE_TTL_ATTRIBUTE,
  Enabled: true
}

export const costTrackingPointInTimeRecovery: PointInTimeRecoverySpecification = {
  PointInTimeRecoveryEnabled: true
}
