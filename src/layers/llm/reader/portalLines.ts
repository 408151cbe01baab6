/**
 * The labelled lines of a patient portal's result block: the value ("Your value 134"), its range,
 * its flag and its earlier results each on a line of their own under the test's name. The block
 * is read whole in reportRows.ts; a name chain (wrappedNames.ts) must not swallow its lines.
 */

/** "Value: 11.2 g/dL", "Your value 134", "Result = Negative": the colon may be missing before a number; not "Results pending". */
export const VALUE_LINE_RE = /^(?:your\s+)?(?:value|result)(?:\s*[:=]\s*|\s+(?=[<>≤≥]?\s*\d)|\s{2,})(.+)$/i

/** A portal block's flag on a line of its own, labelled: "Flag   High", "Status: Abnormal"; not "Flagged" (a space must follow). */
export const FLAG_LINE_RE = /^(?:flag|status|result\s+flag|interpretation)\s*[:=]?\s+(.+)$/i

/** A portal block's range on a line of its own: "Standard range 135 - 145 mmol/L", "Reference interval: <5.7"; not "Range 1-2". */
export const RANGE_LINE_RE = /^(?:(?:normal|standard|reference|ref\.?)\s+(?:range|interval|values?)|expected(?:\s+(?:range|values?))?)\s*[:=]?\s*(.+)$/i

/** A block's line of earlier results: "Past results:  241 mg/dL (Jul 15, 2025)", "Previous value 4.0". */
export const PAST_LINE_RE = /^(?:past|previous|prior|earlier|last)\s+(?:results?|values?)\b/i

/** A flag at the end of a block's name line, after a gap: "Glucose      [ HIGH ]", "LDL Chol Calc (NIH)     ! High". */
export const NAME_BADGE_RE = /^(.*?\S)\s{2,}(?:\[\s*([^\]]{1,20})\]|(?:!\s*)?([\p{L}]{1,12}(?:\s[\p{L}]{1,12})?))\s*$/u

/** A labelled line with dot leaders read as if spaced: "Result .......... 9.8 IU/L" → "Result  9.8 IU/L". */
export const unleadered = (line: string): string => line.trim().replace(/\s*(?:\.{3,}|…+)\s*/g, "  ")
