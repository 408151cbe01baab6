/**
 * Every test file runs with Schema's JIT compiler on, as the servers and Lambda handlers do
 * (src/main/server.ts): a parser or encoder that compiles differently from the interpreter would
 * fail here, not in production. A setup file runs before the test file's own imports.
 */
import "effect/schema/SchemaJITCompiler/enable"
