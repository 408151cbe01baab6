/** The bench's outputs: console tables, bench/results/latest.json and a hand-written SVG chart. */
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { type AgainstImplementation, isAgainst } from "./against.js"
import type { Implementation, Measurement } from "./api.js"

const round = (n: number, digits = 1) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n)

export const median = (values: ReadonlyArray<number>): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/**
 * One measurement per route, implementation and connection count: runs measured in several
 * rounds become their medians (peak memory: the highest).
 */
export const summarize = (measurements: ReadonlyArray<Measurement>): ReadonlyArray<Measurement> => {
  const groups = new Map<string, Array<Measurement>>()
  for (const m of measurements) {
    const key = `${m.route}|${m.implementation}|${m.connections}`
    groups.set(key, [...(groups.get(key) ?? []), m])
  }
  return [...groups.values()].map((runs) => {
    if (runs.length === 1) return runs[0]!
    const of = (f: (m: Measurement) => number) => median(runs.map(f))
    const { round: _round, ...first } = runs[0]!
    return {
      ...first,
      requestsPerSecond: of((m) => m.requestsPerSecond),
      p50Ms: of((m) => m.p50Ms),
      p99Ms: of((m) => m.p99Ms),
      maxMs: Math.max(...runs.map((m) => m.maxMs)),
      requests: runs.reduce((n, m) => n + m.requests, 0),
      non2xx: runs.reduce((n, m) => n + m.non2xx, 0),
      errors: runs.reduce((n, m) => n + m.errors, 0),
      timeouts: runs.reduce((n, m) => n + m.timeouts, 0),
      peakRssMb: Math.max(...runs.map((m) => m.peakRssMb)),
      hwmMb: Math.max(...runs.map((m) => m.hwmMb)),
      cpuUsPerRequest: Math.round(of((m) => m.cpuUsPerRequest)),
      rounds: runs.length
    }
  })
}

/**
 * Ours over a baseline at `connections`: the median of the ratios within each round (the two
 * were measured minutes apart at most, so drift on a shared machine cancels); a single run's
 * ratio when there were no rounds. `metric` picks what is divided (req/s unless told).
 */
export const roundRatio = (
  measurements: ReadonlyArray<Measurement>,
  baseline: Implementation,
  connections: number,
  metric: (m: Measurement) => number = (m) => m.requestsPerSecond
): number => {
  const runs = measurements.filter((m) => m.route === "GET /content/timeline" && m.connections === connections && m.offeredRate === undefined)
  const rounds = [...new Set(runs.map((m) => m.round ?? -1))]
  return median(
    rounds.map((round) => {
      const ours = runs.find((m) => m.implementation === "serenya" && (m.round ?? -1) === round)
      const other = runs.find((m) => m.implementation === baseline && (m.round ?? -1) === round)
      return (ours === undefined ? Number.NaN : metric(ours)) / (other === undefined ? Number.NaN : metric(other))
    })
  )
}

/** The other commits measured in this run (`--against`): "serenya@<short sha>". */
export const againstImplementations = (measurements: ReadonlyArray<Measurement>): ReadonlyArray<AgainstImplementation> =>
  [...new Set(measurements.map((m) => m.implementation))].filter(isAgainst)

/**
 * Ours against the other commit (`--against <ref>`) at each connection count: req/s and CPU
 * µs/request, each ratio the median of the per-round ratios (as for the baselines).
 */
export const againstRatios = (all: ReadonlyArray<Measurement>) => {
  const timeline = summarize(all).filter((m) => m.route === "GET /content/timeline")
  const at = (implementation: Implementation, connections: number) =>
    timeline.find((m) => m.implementation === implementation && m.connections === connections)
  const connections = [...new Set(timeline.map((m) => m.connections))].sort((a, b) => a - b)
  return againstImplementations(all).flatMap((ref) =>
    connections.map((c) => {
      const ours = at("serenya", c)
      const other = at(ref, c)
      return {
        ref,
        connections: c,
        "ours req/s": round(ours?.requestsPerSecond ?? Number.NaN, 0),
        "ref req/s": round(other?.requestsPerSecond ?? Number.NaN, 0),
        "ours / ref req/s": round(roundRatio(all, ref, c), 2),
        "ours CPU µs/req": ours?.cpuUsPerRequest ?? Number.NaN,
        "ref CPU µs/req": other?.cpuUsPerRequest ?? Number.NaN,
        "ours / ref CPU µs/req": round(roundRatio(all, ref, c, (m) => m.cpuUsPerRequest), 2),
        "ours p99 ms": ours?.p99Ms ?? Number.NaN,
        "ref p99 ms": other?.p99Ms ?? Number.NaN,
        rounds: ours?.rounds ?? 1
      }
    })
  )
}

/**
 * CPU time the server spent per request on GET /content/timeline (µs, medians over rounds), one
 * row per connection count, one column per compared implementation (ours, the other commit,
 * node:http, Fastify).
 */
export const cpuTable = (all: ReadonlyArray<Measurement>) => {
  const timeline = summarize(all).filter((m) => m.route === "GET /content/timeline")
  const compared: ReadonlyArray<Implementation> = ["serenya", ...againstImplementations(all), "node:http", "fastify"]
  const connections = [...new Set(timeline.map((m) => m.connections))].sort((a, b) => a - b)
  return connections.map((c) => {
    const row: Record<string, number> = { connections: c }
    for (const implementation of compared) {
      row[`${implementation === "serenya" ? "ours" : implementation} CPU µs/req`] =
        timeline.find((m) => m.implementation === implementation && m.connections === c)?.cpuUsPerRequest ?? Number.NaN
    }
    row["ours / node:http CPU"] = round(roundRatio(all, "node:http", c, (m) => m.cpuUsPerRequest), 2)
    row["ours / fastify CPU"] = round(roundRatio(all, "fastify", c, (m) => m.cpuUsPerRequest), 2)
    return row
  })
}

/**
 * The fixed-rate runs (every compared server offered the same req/s): per implementation, the
 * medians over rounds of latency, achieved req/s and CPU µs/request (max: the highest).
 */
export const fixedRateTable = (runs: ReadonlyArray<Measurement>) =>
  summarize(runs).map((m) => ({
    implementation: m.implementation === "serenya" ? "serenya (ours)" : m.implementation,
    conns: m.connections,
    "offered req/s": round(m.offeredRate ?? Number.NaN, 0),
    "achieved req/s": round(m.requestsPerSecond, 0),
    "p50 ms": m.p50Ms,
    "p99 ms": m.p99Ms,
    "max ms": m.maxMs,
    "CPU µs/req": m.cpuUsPerRequest,
    "non-2xx + errors": m.non2xx + m.errors + m.timeouts,
    rounds: m.rounds ?? 1
  }))

/** Our timeline against each baseline at each connection count (medians over rounds). */
export const ratios = (all: ReadonlyArray<Measurement>) => {
  const measurements = summarize(all)
  const timeline = measurements.filter((m) => m.route === "GET /content/timeline")
  const at = (implementation: Implementation, connections: number) =>
    timeline.find((m) => m.implementation === implementation && m.connections === connections)
  const connections = [...new Set(timeline.map((m) => m.connections))].sort((a, b) => a - b)
  return connections.map((c) => {
    const ours = at("serenya", c)
    const plain = at("node:http", c)
    const fastify = at("fastify", c)
    return {
      connections: c,
      "ours req/s": round(ours?.requestsPerSecond ?? Number.NaN, 0),
      "node:http req/s": round(plain?.requestsPerSecond ?? Number.NaN, 0),
      "fastify req/s": round(fastify?.requestsPerSecond ?? Number.NaN, 0),
      "ours / node:http": round(roundRatio(all, "node:http", c), 2),
      "ours / fastify": round(roundRatio(all, "fastify", c), 2),
      rounds: ours?.rounds ?? 1,
      "ours p99 ms": ours?.p99Ms ?? Number.NaN,
      "ours CPU µs/req": ours?.cpuUsPerRequest ?? Number.NaN,
      "node:http CPU µs/req": plain?.cpuUsPerRequest ?? Number.NaN,
      // What exporting every span over OTLP costs: traced req/s over untraced.
      "traced / ours": round((at("serenya (traced)", c)?.requestsPerSecond ?? Number.NaN) / (ours?.requestsPerSecond ?? Number.NaN), 2),
      // Audited reads while another session holds the sealer's lock and the old fleet-wide chain lock
      // (as a psql session did): about 1 when the request path waits on neither.
      "audit locks held / ours": round(
        (at("serenya (audit locks held)", c)?.requestsPerSecond ?? Number.NaN) / (ours?.requestsPerSecond ?? Number.NaN),
        2
      )
    }
  })
}

export const printApi = (measurements: ReadonlyArray<Measurement>) => {
  console.log("\nAPI over real PostgreSQL (autocannon; requests rotate across users' tokens)")
  console.table(
    measurements.map((m) => ({
      route: m.route,
      implementation: m.implementation,
      conns: m.connections,
      round: m.round ?? "",
      "req/s": round(m.requestsPerSecond, 0),
      "p50 ms": m.p50Ms,
      "p99 ms": m.p99Ms,
      "max ms": m.maxMs,
      requests: m.requests,
      "non-2xx": m.non2xx,
      errors: m.errors + m.timeouts,
      "peak RSS MB": round(m.peakRssMb, 0),
      "CPU µs/req": m.cpuUsPerRequest,
      "VmHWM MB": round(m.hwmMb, 0)
    }))
  )
  const table = ratios(measurements)
  console.log("GET /content/timeline: ours next to the baselines (same database, same decryption, JWT checked by all)")
  console.table(table)
  console.log("GET /content/timeline: server CPU µs per request at each connection count (medians over rounds; lower is better)")
  console.table(cpuTable(measurements))
  const against = againstRatios(measurements)
  if (against.length > 0) {
    console.log("GET /content/timeline: ours next to the other commit (--against; ratios: medians of per-round ratios; req/s higher and CPU lower is better for ours)")
    console.table(against)
  }
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const COLORS: Record<string, string> = {
  serenya: "#2f6fde",
  "serenya (cache on)": "#8fb3f0",
  "serenya (traced)": "#1b3f80",
  "serenya (audit locks held)": "#6a9a3a",
  "node:http": "#5b5b5b",
  fastify: "#e0892f"
}
/** The other commits (--against): one colour each, in order of appearance. */
const AGAINST_COLORS = ["#b03a8c", "#7a4fc9", "#c23b3b"]
const colorOf = (implementation: Implementation, implementations: ReadonlyArray<Implementation>) =>
  COLORS[implementation] ??
  (isAgainst(implementation) ? AGAINST_COLORS[implementations.filter(isAgainst).indexOf(implementation) % AGAINST_COLORS.length] : undefined) ??
  "#999"

/** Two panels (req/s, p99) of grouped bars: one group per route and connection count, one bar per implementation. */
export const svgChart = (measurements: ReadonlyArray<Measurement>, title: string): string => {
  const groups = [...new Set(measurements.map((m) => `${m.route}|${m.connections}`))]
  const implementations = [...new Set(measurements.map((m) => m.implementation))]
  const bar = 14
  const gap = 18
  const groupWidth = implementations.length * bar + gap
  const left = 60
  const width = Math.max(640, left + groups.length * groupWidth + 20)
  const panelHeight = 220
  const top = 50
  const labelSpace = 110
  const height = top + 2 * (panelHeight + labelSpace) + 40
  const parts: Array<string> = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`)
  parts.push(`<rect width="100%" height="100%" fill="white"/>`)
  parts.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`)
  implementations.forEach((implementation, i) => {
    const x = left + i * 150
    parts.push(`<rect x="${x}" y="30" width="10" height="10" fill="${colorOf(implementation, implementations)}"/>`)
    parts.push(`<text x="${x + 14}" y="39">${escape(implementation)}</text>`)
  })
  const panel = (index: number, label: string, value: (m: Measurement) => number) => {
    const y0 = top + index * (panelHeight + labelSpace) + 20
    const max = Math.max(1, ...measurements.map(value).filter(Number.isFinite))
    parts.push(`<text x="10" y="${y0 - 6}" font-weight="bold">${escape(label)}</text>`)
    parts.push(`<line x1="${left}" y1="${y0 + panelHeight}" x2="${width - 10}" y2="${y0 + panelHeight}" stroke="#333"/>`)
    for (let t = 0; t <= 4; t++) {
      const v = (max * t) / 4
      const y = y0 + panelHeight - (panelHeight * t) / 4
      parts.push(`<line x1="${left}" y1="${y}" x2="${width - 10}" y2="${y}" stroke="#eee"/>`)
      parts.push(`<text x="${left - 4}" y="${y + 4}" text-anchor="end">${round(v, v < 10 ? 1 : 0)}</text>`)
    }
    groups.forEach((group, g) => {
      const [route, connections] = group.split("|") as [string, string]
      const gx = left + 10 + g * groupWidth
      implementations.forEach((implementation, i) => {
        const m = measurements.find((x) => `${x.route}|${x.connections}` === group && x.implementation === implementation)
        if (m === undefined) return
        const v = value(m)
        const h = Number.isFinite(v) ? (panelHeight * v) / max : 0
        parts.push(
          `<rect x="${gx + i * bar}" y="${y0 + panelHeight - h}" width="${bar - 2}" height="${h}" fill="${colorOf(implementation, implementations)}"><title>${escape(`${implementation} ${route} c=${connections}: ${round(v)}`)}</title></rect>`
        )
      })
      const lx = gx + (implementations.length * bar) / 2
      const ly = y0 + panelHeight + 8
      parts.push(`<text transform="translate(${lx},${ly}) rotate(45)">${escape(`${route.replace("GET ", "").replace("POST ", "")} c=${connections}`)}</text>`)
    })
  }
  panel(0, "requests per second", (m) => m.requestsPerSecond)
  panel(1, "p99 latency (ms)", (m) => m.p99Ms)
  parts.push("</svg>")
  return parts.join("\n")
}

export const writeResults = async (results: Record<string, unknown>, measurements: ReadonlyArray<Measurement>, title: string) => {
  const dir = path.resolve(import.meta.dirname, "results")
  await fs.mkdir(dir, { recursive: true })
  await fs.writeFile(path.join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`)
  await fs.writeFile(path.join(dir, "latest.svg"), svgChart(summarize(measurements), title))
  return dir
}
