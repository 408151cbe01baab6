/** The test layer: the local MAC (./local.ts) under a fixed, known key — never in production. */
import { Layer } from "effect"
import { AuditMac } from "../../services/auditMac.js"
import { makeAuditMacFromKey } from "./local.js"

export const testAuditMac = makeAuditMacFromKey(Buffer.alloc(32, 11))

export const AuditMacMemory: Layer.Layer<AuditMac> = Layer.succeed(AuditMac, testAuditMac)
