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
  type LabResult,
  soundsReassuring
} from "../../../services/llm.js"
import { summarize, unreadSentence } from "../summary.js"


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
