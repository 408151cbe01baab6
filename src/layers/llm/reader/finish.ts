/**
 * The last step of every provider's interpretation (offline reader and Bedrock alike), so that no
 * path can hand on a document that hides what matters:
 * - critical values come first in the results (their order otherwise stays the document's);
 * - the summary names the critical values and says to act now;
 * - a summary never calls a document normal while a result is flagged, critical or a line was
 *   left unread: a model's reassuring wording is replaced by the templated summary, which counts
 *   instead of reassuring;
 * - the unread lines are counted in the summary, with a pointer to the original.
 */
import {
  CRITICAL_ACTION,
  criticalNotice,
  InterpretedDocument,
  isCriticalFlag,
  isOutOfRange,
  type LabResult
} from "../../../services/llm.js"
import { summarize, unreadSentence } from "../summary.js"

/**
 * Wording that calls a whole document normal. Examples it matches: "All results are within the
 * normal range", "all of your values look normal", "Everything looks fine", "Nothing is
 * abnormal", "no abnormal results", "results are unremarkable". It leaves alone what is true
 * beside a flag: "All other results are within range", "9 are within the reference range".
 */
export const REASSURANCE: ReadonlyArray<RegExp> = [
  // "All results are within …", "all of your values look normal", "every test came back normal"
  /\b(?:all|every)\b(?!\s+(?:other|the\s+other|remaining|the\s+remaining|else)\b)(?:\s+[\w-]+){0,4}?\s+(?:are|were|is|was|look|looks|came\s+back|fall|falls|lie|lies|appear|appears)\s+(?:[\w-]+\s+){0,3}?(?:normal|within|in\s+range|fine|good|healthy|unremarkable|reassuring|ok|okay)\b/i,
  // "Everything looks fine", "everything is normal"
  /\beverything\b(?:\s+[\w-]+){0,3}?\s+(?:normal|within|in\s+range|fine|good|healthy|unremarkable|reassuring|ok|okay)\b/i,
  // "Nothing is abnormal", "nothing was flagged", "nothing of concern"
  /\bnothing\s+(?:is\s+|was\s+|looks\s+|appears\s+)?(?:abnormal|flagged|concerning|of\s+concern|out\s+of\s+range|worrying)\b/i,
  // "no abnormal results", "no flagged values", "no concerns"
  /\bno\s+(?:abnormal|flagged|concerning|out-of-range|worrying)\b|\bno\s+(?:concerns?|abnormalities)\b/i,
  // "Your results are in range", "the values were fine", "your labs look good"
  /\b(?:your|the|these|those)\s+(?:[\w-]+\s+){0,2}?(?:results?|values?|tests?|labs?|numbers?|levels?)\s+(?:are|were|is|was|look|looks|came\s+back|appear|appears)\s+(?:all\s+)?(?:normal|within|in\s+range|fine|good|healthy|ok|okay|reassuring)\b/i,
  // "results are unremarkable", "a normal report"
  /\bunremarkable\b|\bnormal\s+(?:report|results|panel)\b/i
]

export const soundsReassuring = (summary: string): boolean => REASSURANCE.some((pattern) => pattern.test(summary))

/** Critical results first, the rest in their order (a stable partition). */
const criticalFirst = (results: ReadonlyArray<LabResult>): ReadonlyArray<LabResult> => [
  ...results.filter((r) => isCriticalFlag(r.flag)),
  ...results.filter((r) => !isCriticalFlag(r.flag))
]

export const finishDocument = (document: InterpretedDocument): InterpretedDocument => {
  const results = criticalFirst(document.results)
  const unread = document.unreadLines.length
  const concerning = unread > 0 || results.some((r) => isOutOfRange(r.flag))
  let summary = document.summary.trim()
  if (concerning && soundsReassuring(summary)) {
    summary = summarize({ ...document, results })
  }
  const notice = criticalNotice({ results })
  if (notice !== undefined && !summary.includes(CRITICAL_ACTION)) summary = `${notice} ${summary}`
  const unreadText = unreadSentence(unread)
  if (unreadText !== undefined && !summary.includes(unreadText)) summary = `${summary} ${unreadText}`
  return new InterpretedDocument({ ...document, results, summary })
}
