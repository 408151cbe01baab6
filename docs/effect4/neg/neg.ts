import { Config, Schema } from "effect"
export const a = Schema.Literal("a", "b")
export const b = Schema.Union(Schema.String, Schema.Number)
export const c = Schema.String.annotations({ description: "x" })
export const d = Config.string("X")
export const e = Schema.Union([Schema.String, Schema.Number])
