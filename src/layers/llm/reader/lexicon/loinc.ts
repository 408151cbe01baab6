/**
 * LOINC code syntax and check digit. A LOINC code is up to seven digits, a hyphen and a mod-10
 * check digit computed as the LOINC Users' Guide describes (the Luhn scheme): counting from the
 * right, every digit in an odd position is doubled (a two-digit product counts as the sum of its
 * digits), all digits are summed, and the check digit is what brings the sum to a multiple of 10.
 * Example: 2823-3 → 3·2=6, 2, 8·2=16→7, 2 → 17 → 3.
 */

// a LOINC code: one to seven digits, hyphen, one check digit, e.g. "2823-3", "10839-9"
const LOINC_SYNTAX = /^(\d{1,7})-(\d)$/

/** The check digit of a LOINC code's number part ("2823" → 3). */
export const loincCheckDigit = (digits: string): number => {
  let sum = 0
  for (let i = 0; i < digits.length; i++) {
    const digit = Number(digits[digits.length - 1 - i])
    // positions counted from the right starting at 1: odd positions are doubled
    const weighted = i % 2 === 0 ? digit * 2 : digit
    sum += weighted > 9 ? weighted - 9 : weighted
  }
  return (10 - (sum % 10)) % 10
}

/** Is this a syntactically valid LOINC code with the right check digit? */
export const isValidLoinc = (code: string): boolean => {
  const match = LOINC_SYNTAX.exec(code)
  if (match === null) return false
  return loincCheckDigit(match[1] ?? "") === Number(match[2])
}
