/**
 * The Comprehend Medical Deidentifier against aws-sdk-client-mock (no DetectPHI emulator exists):
 * a fake that marks given strings as DetectPHI does (offsets in code points, as the API model
 * documents them), then the mapping of entity types to placeholders' kinds, the chunks sent (each
 * under DetectPHI's 20,000 bytes) and their offsets mapped back, characters outside the BMP, the
 * error classification, retries and timeout, and what spans, logs and errors carry.
 */
import {
  ComprehendMedicalClient,
  DetectPHICommand,
  type Entity,
  InternalServerException,
  TextSizeLimitExceededException,
  TooManyRequestsException,
  ValidationException
} from "@aws-sdk/client-comprehendmedical"
import { describe, expect, it } from "@effect/vitest"
import { mockClient } from "aws-sdk-client-mock"
import { Effect, Layer, Logger, References, Tracer } from "effect"
import { LLMConfig } from "../../../src/config/llm.js"
import {
  CHUNK_BYTES,
  chunksOf,
  DeidentifierComprehendMedical,
  DETECT_PHI_MAX_BYTES,
  makeComprehendMedicalDeidentifier
} from "../../../src/layers/deidentifier/comprehendMedical.js"
import { Deidentifier, deidentify, type PhiSpan } from "../../../src/services/deidentifier.js"
import { makeRetrySchedule } from "../../../src/services/resilience.js"
import { testConfigProvider } from "../../support/settings.js"

const fast = makeRetrySchedule({ base: "2 millis", maxRetries: 2, maxDelay: "10 millis" })

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } })

const newClient = () =>
  new ComprehendMedicalClient({ region: "eu-west-1", credentials: { accessKeyId: "t", secretAccessKey: "t" }, maxAttempts: 1 })

type Rule = readonly [text: string, type: string]

/** Code points before UTF-16 index `index` of `text`: how DetectPHI counts (the API model: "the UTF-8 code point"). */
const codePoints = (text: string, index: number) => [...text.slice(0, index)].length

/** DetectPHI as documented: every occurrence of a rule's text, offsets in code points of the request's Text. */
const entitiesFor = (text: string, rules: ReadonlyArray<Rule>, offsets: "codePoints" | "utf16" = "codePoints"): Array<Entity> =>
  rules.flatMap(([needle, type]) => {
    const found: Array<Entity> = []
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      const begin = offsets === "codePoints" ? codePoints(text, at) : at
      const end = offsets === "codePoints" ? codePoints(text, at + needle.length) : at + needle.length
      found.push({
        BeginOffset: begin,
        EndOffset: end,
        Text: needle,
        Type: type as Entity["Type"],
        Category: "PROTECTED_HEALTH_INFORMATION",
        Score: 0.31
      })
    }
    return found
  })

/** A mocked client answering DetectPHI with the rules; the Texts it was sent. */
const fakeWith = (rules: ReadonlyArray<Rule>, offsets: "codePoints" | "utf16" = "codePoints") => {
  const client = newClient()
  const mock = mockClient(client)
  const sent: Array<string> = []
  mock.on(DetectPHICommand).callsFake((input: { Text: string }) => {
    sent.push(input.Text)
    return Promise.resolve({ Entities: entitiesFor(input.Text, rules, offsets), ModelVersion: "0.0.0" })
  })
  return { client, mock, sent }
}

const detectOne = (text: string, rules: ReadonlyArray<Rule>, offsets: "codePoints" | "utf16" = "codePoints") =>
  Effect.gen(function* () {
    const { client, sent } = fakeWith(rules, offsets)
    const [spans] = yield* makeComprehendMedicalDeidentifier(client, { retry: fast }).detect([text])
    return { spans: spans!, sent }
  })

/** Each span as [kind, the text it covers], in order. */
const read = (text: string, spans: ReadonlyArray<PhiSpan>) =>
  [...spans].sort((a, b) => a.start - b.start).map((span) => [span.kind, text.slice(span.start, span.end)])

const utf8 = (text: string) => Buffer.byteLength(text, "utf8")

/** The chunks sent, in their order in the text (calls run concurrently). */
const inOrder = (text: string, sent: ReadonlyArray<string>) => [...sent].sort((a, b) => text.indexOf(a) - text.indexOf(b))

/** A mocked client answering every DetectPHI with `entities`. */
const answering = (entities: Array<Entity>) => {
  const client = newClient()
  mockClient(client).on(DetectPHICommand).resolves({ Entities: entities, ModelVersion: "0.0.0" })
  return client
}

describe("entity types", () => {
  it.effect("NAME, ID, ADDRESS, PHONE_OR_FAX, EMAIL and URL become their kinds; PROFESSION is kept", () =>
    Effect.gen(function* () {
      const text = [
        "Patient: Maria Rossi",
        "Requested by: Dr. Hans Weber, cardiologist",
        "Accession 24-118830",
        "Address: 12 Harbour Road, Cork",
        "Tel +353 21 555 0199",
        "Contact: maria.rossi@example.com",
        "Results: https://portal.example.com/r/9931"
      ].join("\n")
      const { spans } = yield* detectOne(text, [
        ["Maria Rossi", "NAME"],
        ["Hans Weber", "NAME"],
        ["cardiologist", "PROFESSION"],
        ["24-118830", "ID"],
        ["12 Harbour Road, Cork", "ADDRESS"],
        ["+353 21 555 0199", "PHONE_OR_FAX"],
        ["maria.rossi@example.com", "EMAIL"],
        ["https://portal.example.com/r/9931", "URL"]
      ])
      expect(read(text, spans)).toEqual([
        ["NAME", "Maria Rossi"],
        ["NAME", "Hans Weber"],
        ["ID", "24-118830"],
        ["ADDRESS", "12 Harbour Road, Cork"],
        ["PHONE", "+353 21 555 0199"],
        ["EMAIL", "maria.rossi@example.com"],
        ["URL", "https://portal.example.com/r/9931"]
      ])
    }))

  it.effect("an ID after a record-number label on its line is an MRN; an ID after anything else, or on the next line, stays an ID", () =>
    Effect.gen(function* () {
      const text = [
        "MRN: 00417723",
        "Medical record no. 5520119",
        "Chart # 88120",
        "UR 300112",
        "Patient ID: P-7781",
        "Specimen 24-SP-0091",
        "MRN",
        "61100029"
      ].join("\n")
      const { spans } = yield* detectOne(text, [
        ["00417723", "ID"],
        ["5520119", "ID"],
        ["88120", "ID"],
        ["300112", "ID"],
        ["P-7781", "ID"],
        ["24-SP-0091", "ID"],
        ["61100029", "ID"]
      ])
      expect(read(text, spans)).toEqual([
        ["MRN", "00417723"],
        ["MRN", "5520119"],
        ["MRN", "88120"],
        ["MRN", "300112"],
        ["MRN", "P-7781"],
        ["ID", "24-SP-0091"],
        ["ID", "61100029"]
      ])
    }))

  it.effect("a DATE is a DOB only after a birth label on its line, in the languages reports come in; collection dates are kept", () =>
    Effect.gen(function* () {
      const text = [
        "Name: A. Test   DOB: 03/14/1961   Collected: 02/01/2025 08:10",
        "Date of birth 1961-03-14",
        "geb. 14.03.1961, Abnahme 01.02.2025",
        "Née le 14/03/1961",
        "Nato il 14/03/1961",
        "Fecha nac.: 14/03/1961",
        "Data de nascimento: 14/03/1961",
        "Születési dátum: 1961.03.14",
        "Reported: 03/02/2025",
        "Date of birth:",
        "04/02/2025"
      ].join("\n")
      const dates = ["03/14/1961", "02/01/2025 08:10", "1961-03-14", "14.03.1961", "01.02.2025", "14/03/1961", "1961.03.14", "03/02/2025", "04/02/2025"]
      const { spans } = yield* detectOne(text, dates.map((date) => [date, "DATE"] as const))
      expect(read(text, spans)).toEqual([
        ["DOB", "03/14/1961"],
        ["DOB", "1961-03-14"],
        ["DOB", "14.03.1961"],
        ["DOB", "14/03/1961"],
        ["DOB", "14/03/1961"],
        ["DOB", "14/03/1961"],
        ["DOB", "14/03/1961"],
        ["DOB", "1961.03.14"]
      ])
    }))

  it.effect("a label the service took into the entity counts too", () =>
    Effect.gen(function* () {
      const text = "Patient DOB 1950-05-06, sample 2025-01-02\nRef MRN 4410021"
      const { spans } = yield* detectOne(text, [
        ["DOB 1950-05-06", "DATE"],
        ["sample 2025-01-02", "DATE"],
        ["MRN 4410021", "ID"]
      ])
      expect(read(text, spans)).toEqual([
        ["DOB", "DOB 1950-05-06"],
        ["MRN", "MRN 4410021"]
      ])
    }))

  it.effect("an AGE is scrubbed from 90 on only", () =>
    Effect.gen(function* () {
      const text = "Age: 45 years\nAge 89\nAge: 90\nA 97-year-old woman\nninety-two years old"
      const { spans } = yield* detectOne(text, [
        ["45 years", "AGE"],
        ["89", "AGE"],
        ["90", "AGE"],
        ["97-year-old", "AGE"],
        ["ninety-two years old", "AGE"]
      ])
      expect(read(text, spans)).toEqual([
        ["AGE", "90"],
        ["AGE", "97-year-old"],
        ["AGE", "ninety-two years old"]
      ])
    }))

  it.effect("low-confidence entities are kept (no threshold: a missed identifier would reach the model)", () =>
    Effect.gen(function* () {
      const text = "Patient: Ana Lima"
      const client = answering([{ BeginOffset: 9, EndOffset: 17, Text: "Ana Lima", Type: "NAME", Score: 0.05 }])
      const [spans] = yield* makeComprehendMedicalDeidentifier(client, { retry: fast }).detect([text])
      expect(read(text, spans!)).toEqual([["NAME", "Ana Lima"]])
    }))
})

describe("chunks", () => {
  it("keeps lines whole while they fit, cuts a longer line after a blank, and never splits a surrogate pair", () => {
    const text = "alpha beta\ngamma delta\n\n\nepsilon 😀😀😀 zeta eta theta\n"
    const chunks = chunksOf(text, 16)
    const pieces = chunks.map((c) => text.slice(c.start, c.end))
    for (const piece of pieces) expect(utf8(piece)).toBeLessThanOrEqual(16)
    // whole lines: the first two do not fit together (22 bytes)
    expect(pieces[0]).toBe("alpha beta\n")
    expect(pieces[1]).toBe("gamma delta\n\n\n")
    // the long line, cut after blanks; the emoji (4 bytes each) whole
    expect(pieces.slice(2).join("")).toBe("epsilon 😀😀😀 zeta eta theta\n")
    for (const piece of pieces.slice(2, -1)) expect(piece).toMatch(/ $/)
    for (const piece of pieces) expect(piece).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/)
    // covering the text in order, blank chunks left out
    expect(pieces.join("")).toBe(text)
    expect(chunksOf("\n \n\t\n", 16)).toEqual([])
  })

  it("uses DetectPHI's documented bound with a margin", () => {
    expect(DETECT_PHI_MAX_BYTES).toBe(20_000)
    expect(CHUNK_BYTES).toBeLessThan(DETECT_PHI_MAX_BYTES)
  })

  it.effect("a text over the bound goes in chunks under it, and identifiers in the second chunk map back to the text", () =>
    Effect.gen(function* () {
      const filler = Array.from({ length: 400 }, (_, i) => `Hemoglobin ${i}: 13.${i % 10} g/dL (ref 12.0-15.5), unchanged é`).join("\n")
      const text = `${filler}\nPatient: Joanna Kowalska  DOB: 1957-09-30  MRN 7740012\nTel 021 555 0101\n`
      expect(utf8(text)).toBeGreaterThan(DETECT_PHI_MAX_BYTES)
      const { spans, sent } = yield* detectOne(text, [
        ["Joanna Kowalska", "NAME"],
        ["1957-09-30", "DATE"],
        ["7740012", "ID"],
        ["021 555 0101", "PHONE_OR_FAX"]
      ])
      const chunks = inOrder(text, sent)
      expect(chunks).toHaveLength(2)
      for (const chunk of chunks) expect(utf8(chunk)).toBeLessThan(DETECT_PHI_MAX_BYTES)
      // cut at a line boundary, covering the text; the identifiers are all in the second chunk
      expect(chunks[0]!.endsWith("\n")).toBe(true)
      expect(chunks.join("")).toBe(text)
      expect(chunks[0]).not.toContain("Joanna")
      expect(read(text, spans)).toEqual([
        ["NAME", "Joanna Kowalska"],
        ["DOB", "1957-09-30"],
        ["MRN", "7740012"],
        ["PHONE", "021 555 0101"]
      ])
    }))

  it.effect("a single line over the bound is cut at a blank; an identifier after the cut maps back", () =>
    Effect.gen(function* () {
      const text = `${"lorem ipsum dolor sit amet ".repeat(900)}signed by Dr. Rui Costa`
      expect(utf8(text)).toBeGreaterThan(DETECT_PHI_MAX_BYTES)
      const { spans, sent } = yield* detectOne(text, [["Rui Costa", "NAME"]])
      const chunks = inOrder(text, sent)
      expect(chunks).toHaveLength(2)
      expect(chunks[0]).toMatch(/ $/)
      for (const chunk of chunks) expect(utf8(chunk)).toBeLessThan(DETECT_PHI_MAX_BYTES)
      expect(chunks.join("")).toBe(text)
      expect(read(text, spans)).toEqual([["NAME", "Rui Costa"]])
    }))

  it.effect("chunks of several texts are detected together and answered per text, in order", () =>
    Effect.gen(function* () {
      const { client, sent } = fakeWith([["Eva Berg", "NAME"]])
      const texts = ["no identifiers here", "", "Report for Eva Berg", "   \n"]
      const found = yield* makeComprehendMedicalDeidentifier(client, { retry: fast }).detect(texts)
      expect(found.map((spans, i) => read(texts[i]!, spans))).toEqual([[], [], [["NAME", "Eva Berg"]], []])
      // blank texts are not sent (DetectPHI refuses an empty Text)
      expect(sent.sort()).toEqual(["Report for Eva Berg", "no identifiers here"])
    }))
})

describe("offsets outside the BMP", () => {
  const text = "🧪 Results for 😀 Jane Doe 👩‍⚕️ DOB 𝟙𝟡𝟞𝟘 1960-01-02"

  it.effect("code-point offsets (as DetectPHI documents them) land on the name after an emoji", () =>
    Effect.gen(function* () {
      const { spans } = yield* detectOne(text, [["Jane Doe", "NAME"], ["1960-01-02", "DATE"]])
      expect(read(text, spans)).toEqual([["NAME", "Jane Doe"], ["DOB", "1960-01-02"]])
    }))

  it.effect("an entity without its Text is placed by its offsets read as code points alone", () =>
    Effect.gen(function* () {
      const at = text.indexOf("Jane Doe")
      const client = answering([{ BeginOffset: codePoints(text, at), EndOffset: codePoints(text, at + 8), Type: "NAME" }])
      const [spans] = yield* makeComprehendMedicalDeidentifier(client, { retry: fast }).detect([text])
      // as UTF-16 indices these offsets would begin 2 units early, in "😀 Jane Do"
      expect(codePoints(text, at)).toBe(at - 2)
      expect(read(text, spans!)).toEqual([["NAME", "Jane Doe"]])
    }))

  it.effect("UTF-16 offsets (should the service count that way) land there too: the entity's Text decides", () =>
    Effect.gen(function* () {
      const { spans } = yield* detectOne(text, [["Jane Doe", "NAME"]], "utf16")
      expect(read(text, spans)).toEqual([["NAME", "Jane Doe"]])
    }))

  it.effect("offsets matching neither reading: the entity's text nearest to them", () =>
    Effect.gen(function* () {
      // UTF-8 byte offsets, say
      const begin = utf8(text.slice(0, text.indexOf("Jane Doe")))
      const client = answering([{ BeginOffset: begin, EndOffset: begin + 8, Text: "Jane Doe", Type: "NAME" }])
      const [spans] = yield* makeComprehendMedicalDeidentifier(client, { retry: fast }).detect([text])
      expect(read(text, spans!)).toEqual([["NAME", "Jane Doe"]])
    }))

  it.effect("a lone surrogate is sent as U+FFFD, and later offsets still hold", () =>
    Effect.gen(function* () {
      const broken = "x\uD83D Jane Doe"
      const { spans, sent } = yield* detectOne(broken, [["Jane Doe", "NAME"]])
      expect(sent).toEqual(["x\uFFFD Jane Doe"])
      expect(read(broken, spans)).toEqual([["NAME", "Jane Doe"]])
    }))

  it.effect("scrubbed through deidentify: the placeholder replaces exactly the name", () =>
    Effect.gen(function* () {
      const { client } = fakeWith([["Jane Doe", "NAME"]])
      const { texts } = yield* deidentify(makeComprehendMedicalDeidentifier(client, { retry: fast }), [text])
      expect(texts[0]).toBe("🧪 Results for 😀 [NAME-1] 👩‍⚕️ DOB 𝟙𝟡𝟞𝟘 1960-01-02")
    }))
})

describe("failures", () => {
  it.live("throttling is retried, then the answer is used", () =>
    Effect.gen(function* () {
      const client = newClient()
      const mock = mockClient(client)
      mock
        .on(DetectPHICommand)
        .rejectsOnce(new TooManyRequestsException({ message: "Rate exceeded", ...meta(400) }))
        .rejectsOnce(new InternalServerException({ message: "Internal", ...meta(500) }))
        .resolves({ Entities: [{ BeginOffset: 0, EndOffset: 7, Text: "Ida Kim", Type: "NAME" }], ModelVersion: "0" })
      const [spans] = yield* makeComprehendMedicalDeidentifier(client, { retry: fast }).detect(["Ida Kim, 44"])
      expect(spans).toEqual([{ kind: "NAME", start: 0, end: 7 }])
      expect(mock.commandCalls(DetectPHICommand)).toHaveLength(3)
    }))

  it.live("throttling past the retries is DeidentifierUnavailable, with a Retry-After", () =>
    Effect.gen(function* () {
      const client = newClient()
      const mock = mockClient(client)
      mock.on(DetectPHICommand).rejects(new TooManyRequestsException({ message: "Rate exceeded", ...meta(400) }))
      const error = yield* Effect.flip(makeComprehendMedicalDeidentifier(client, { retry: fast }).detect(["Ida Kim"]))
      expect(error._tag).toBe("DeidentifierUnavailable")
      expect(error.retryAfterSeconds).toBeGreaterThan(0)
      expect(error.message).toContain("TooManyRequestsException")
      // the first attempt and the schedule's two retries
      expect(mock.commandCalls(DetectPHICommand)).toHaveLength(3)
    }))

  it.live("a refusal of the request is not retried", () =>
    Effect.gen(function* () {
      const client = newClient()
      const mock = mockClient(client)
      mock.on(DetectPHICommand).rejects(new TextSizeLimitExceededException({ message: "Too large", ...meta(400) }))
      const error = yield* Effect.flip(makeComprehendMedicalDeidentifier(client, { retry: fast }).detect(["Ida Kim"]))
      expect(error._tag).toBe("DeidentifierUnavailable")
      expect(mock.commandCalls(DetectPHICommand)).toHaveLength(1)
    }))

  it.live("a call that does not answer times out, is retried, then fails: nothing passes unscrubbed", () =>
    Effect.gen(function* () {
      const client = newClient()
      const mock = mockClient(client)
      mock.on(DetectPHICommand).callsFake(() => new Promise(() => {}))
      const error = yield* Effect.flip(
        makeComprehendMedicalDeidentifier(client, { retry: fast, timeout: "30 millis" }).detect(["Ida Kim"])
      )
      expect(error._tag).toBe("DeidentifierUnavailable")
      expect(error.message).toMatch(/timed out/)
      expect(mock.commandCalls(DetectPHICommand)).toHaveLength(3)
    }))

  it.live("one failing chunk fails the whole detect (no text is half detected)", () =>
    Effect.gen(function* () {
      const client = newClient()
      const mock = mockClient(client)
      mock
        .on(DetectPHICommand)
        .callsFake((input: { Text: string }) =>
          input.Text.includes("second")
            ? Promise.reject(new ValidationException({ message: "bad", ...meta(400) }))
            : Promise.resolve({ Entities: [], ModelVersion: "0" })
        )
      const error = yield* Effect.flip(
        makeComprehendMedicalDeidentifier(client, { retry: fast, chunkBytes: 16 }).detect(["first line\nsecond line\n"])
      )
      expect(error._tag).toBe("DeidentifierUnavailable")
    }))
})

describe("what leaves the layer", () => {
  const secret = "Patient: Zofia Nowak-Wiśniewska, MRN 99887766"

  it.live("the text is in no log line, span attribute or error, even when AWS's message quotes it", () =>
    Effect.gen(function* () {
      const lines: Array<{ message: string; annotations: Record<string, unknown> }> = []
      const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
      const base = yield* Effect.tracer
      const recording = Tracer.make({
        context: base.context,
        span: (options) => {
          const span = base.span(options)
          spans.push({ name: options.name, attributes: span.attributes })
          return span
        }
      })
      const logger = Logger.layer([
        Logger.make(({ fiber, message }) => {
          lines.push({
            message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
            annotations: { ...fiber.getRef(References.CurrentLogAnnotations) }
          })
        })
      ])

      // a success: entities found
      const ok = fakeWith([["Zofia Nowak-Wiśniewska", "NAME"], ["99887766", "ID"]])
      const [found] = yield* makeComprehendMedicalDeidentifier(ok.client, { retry: fast })
        .detect([secret])
        .pipe(Effect.withTracer(recording), Effect.provide(logger))
      expect(found).toHaveLength(2)

      // a failure whose AWS message quotes the value, as a ValidationException does
      const failing = newClient()
      mockClient(failing)
        .on(DetectPHICommand)
        .rejects(new ValidationException({ message: `Value '${secret}' at 'text' failed to satisfy constraint`, ...meta(400) }))
      const error = yield* Effect.flip(
        makeComprehendMedicalDeidentifier(failing, { retry: fast }).detect([secret]).pipe(Effect.withTracer(recording), Effect.provide(logger))
      )

      const call = spans.find((s) => s.name === "comprehendmedical.DetectPHI")
      expect(Object.fromEntries(call?.attributes ?? [])).toMatchObject({
        "rpc.system": "aws-api",
        "rpc.service": "ComprehendMedical",
        "rpc.method": "DetectPHI",
        "serenya.deidentify.entities": 2
      })
      expect(lines.map((l) => l.message)).toEqual(["De-identification failed: Comprehend Medical DetectPHI"])
      expect(lines[0]!.annotations).toMatchObject({ error: "Comprehend Medical DetectPHI failed: ValidationException", texts: 1, chunks: 1 })
      const everything = JSON.stringify({
        lines,
        spans: spans.map((s) => [s.name, Object.fromEntries(s.attributes)]),
        error: { message: error.message, json: error }
      })
      for (const piece of ["Zofia", "Wiśniewska", "99887766"]) expect(everything).not.toContain(piece)
    }))
})

describe("DeidentifierComprehendMedical (the layer, from its settings)", () => {
  it.live("builds from the LLM slice without calling AWS, and names its provider", () =>
    Effect.gen(function* () {
      const deidentifier = yield* Deidentifier
      expect(deidentifier.provider).toBe("aws.comprehendmedical")
      // nothing to detect: no client is needed, nothing is called
      expect(yield* deidentifier.detect([])).toEqual([])
    }).pipe(
      Effect.provide(DeidentifierComprehendMedical.pipe(Layer.provide(LLMConfig.layer), Layer.provide(testConfigProvider({ BEDROCK_REGION: "eu-west-1" })))),
      Effect.scoped
    ))
})
