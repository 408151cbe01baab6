/**
 * Runs OCR below the API's priority. OCR is background work that takes seconds of a core per
 * page; the API's requests take milliseconds and are what a person waits for. On Linux a
 * thread's nice value is its own (setpriority with a thread id), and a thread it starts —
 * tesseract's recogniser thread — inherits it, so lowering the OCR thread's priority before the
 * recogniser starts lowers both, and nothing else in the process.
 *
 * Nice 10, not 19: the scheduler gives a nice-10 thread about a tenth of a contended core's
 * time, enough that the API's thread runs first when it wakes, while a photo on a machine busy
 * with other nice-0 work still finishes within its deadline (at 19 it would get 1.5%).
 * bench/ocrLoad.ts measures the API's p99 with it.
 *
 * Elsewhere (macOS, Windows, a runtime without /proc/thread-self) it does nothing: setpriority
 * with the process id would lower the whole process, the API included.
 */
import { readlinkSync } from "node:fs"
import { getPriority, setPriority } from "node:os"

export const OCR_THREAD_NICE = 10

/** This thread's id on Linux (from /proc/thread-self → "<pid>/task/<tid>"), or undefined. */
const threadId = (): number | undefined => {
  if (process.platform !== "linux") return undefined
  try {
    const link = readlinkSync("/proc/thread-self")
    const match = /\/task\/(\d+)$/.exec(link)
    return match === null ? undefined : Number(match[1])
  } catch {
    return undefined
  }
}

/**
 * Lowers this thread's priority to `nice` (only ever lowers it; raising needs privileges).
 * Answers whether it did: false where a thread's priority cannot be set on its own.
 */
export const lowerThreadPriority = (nice: number = OCR_THREAD_NICE): boolean => {
  const tid = threadId()
  if (tid === undefined || tid === process.pid) return false
  try {
    // already as low or lower (the whole process started niced): left as it is
    if (getPriority(tid) < nice) setPriority(tid, nice)
    return true
  } catch {
    return false
  }
}
