/**
 * The offline reader of lab reports and vitals logs: plain text (or a PDF's text layer laid out
 * again) in, structured results out, with every line accounted for. Built from small parts, each
 * testable on its own:
 * - text.ts: numbers as printed, bounds;          - dates.ts: dates, times, collection date;
 * - metadata.ts: lines that are never results;    - columns.ts: cells and column headers;
 * - tokens.ts: values, flags, units;             - ranges.ts: reference ranges;
 * - rows.ts: one line read as a result (rowRest.ts: what follows the value; rowFlags.ts: the flag);
 * - vitals.ts: readings in tables (vitalWords/Values/Times.ts); inlineVitals.ts: inline and diary
 *   readings; flowsheet.ts: flowsheets; vitalLike.ts: what looks like a reading; looseVitals.ts
 *   and looseLayout.ts: logs without a table;
 * - headings.ts: section headings and the title; - marks.ts: legends and call-back notes;
 * - report.ts: the whole document, line by line, with unread lines kept — its phases in
 *   reportVitals.ts and reportRows.ts over reportState.ts; wrappedNames.ts, resultLike.ts,
 *   portalLines.ts and positioned.ts: what a line looks like;
 * - lexicon/, units.ts, critical.ts, enrich.ts: what is known about each test (LOINC, UCUM,
 *   plausible values, critical limits) — applied to every provider's answer;
 * - coverage.ts: a model's answer checked line by line against the text;
 * - finish.ts: critical values first, a summary that never reassures wrongly.
 */
export { isMetadataLine } from "./metadata.js"
export { readDateTime, type DateOrder } from "./dates.js"
export { parseResultLine, type RowContext } from "./rows.js"
export { flagFromRange } from "./rowFlags.js"
export { parseLabReport } from "./report.js"
export { positionLines, type PositionedLine } from "./positioned.js"
export type { ParsedRange, ParsedReport, ParsedResult, ParsedUnreadLine, ParsedVital, ParseOptions } from "./types.js"
