/**
 * The names of vital signs, in the languages diaries, charts and tables are written in: the one
 * vocabulary the table, flowsheet, inline and diary readers and the "looks like a reading" checks
 * share, so that a name one of them knows every other knows too.
 */

/**
 * The names of the readings in the languages diaries and charts come in (checked in this order):
 * blood pressure ("RR", the German Riva-Rocci, and "TA"/"PA" count only with a pressure beside them), pulse,
 * temperature, weight, date, time.
 */
export const BP_WORDS = String.raw`tekanan\s+darah|top\s*\/\s*bottom|upper\s*\/\s*lower|sys\s*\/\s*dia|blutdruck|rr|tension(?:\s+art[ée]rielle)?|ta|pa|pression\s+art[ée]rielle|presi[óo]n\s+arterial|tensi[óo]n\s+arterial|press[ãa]o\s+arterial|pressione(?:\s+arteriosa)?|bloeddruk|ci[śs]nienie|krevn[íi]\s+tlak|tlak|tansiyon|blodtryck|blodtryk`
export const PULSE_WORDS = String.raw`puls|pols|pouls|pulso|polso|pulsazioni|nadi|t[ęe]tno|nab[ıi]z|herzfrequenz|fr[ée]quence\s+cardiaque|frecuencia\s+card[íi]aca|frequ[êe]ncia\s+card[íi]aca|frequenza\s+cardiaca|hartslag|fc|hf`
export const TEMP_WORDS = String.raw`suhu|temperatur|k[öo]rpertemperatur|teplota|ate[şs]`
export const WEIGHT_WORDS = String.raw`masa\s+(?:cia[łl]a|corporal)|berat|gewicht|k[öo]rpergewicht|poids|peso|waga|hmotnost|vikt|v[æa]gt|kilo`
/** Systolic and diastolic pressure: "Systolique", "systolisch", "sistólica", "skurczowe", "bovendruk". */
export const SYS_WORDS = String.raw`systolique|systolisch|sist[óo]lica|sistolica|systolick[ýy]|skurczowe|bovendruk|sistolik|systoliskt?`
export const DIA_WORDS = String.raw`diastolique|diastolisch|diast[óo]lica|diastolica|diastolick[ýy]|rozkurczowe|onderdruk|diyastolik|diastoliskt?`
/** A date column, or a day's ("Jour", "Tag", "Día"): the day's date is in its cells. */
export const DATE_WORDS = String.raw`datum|fecha|data|tarih|tarikh|dato|day|jour|tag|d[íi]a|giorno|dag|dzie[ńn]|den|g[üu]n`
export const TIME_WORDS = String.raw`uhrzeit|zeit|heure|hora|ora|tijd|godzina|[čc]as|saat|tid|klokken|masa|waktu`

export const BP_KEY_RE = new RegExp(`^(?:${BP_WORDS})$`, "i")
export const TEMP_NAMED_RE = new RegExp(String.raw`(?<![\p{L}])(?:${TEMP_WORDS})(?![\p{L}])`, "iu")
export const SYS_KEY_RE = new RegExp(`^(?:${SYS_WORDS})$`, "i")
export const DIA_KEY_RE = new RegExp(`^(?:${DIA_WORDS})$`, "i")
/** A blood pressure named in another language before its value: "RR 128/84", "TA: 128/84". */
export const BP_NAMED_RE = new RegExp(String.raw`(?<![\p{L}])(?:${BP_WORDS})\s*[:=]?\s*\d{2,3}\s?\/\s?\d{2,3}`, "iu")
export const PULSE_KEY_RE = new RegExp(`^(?:${PULSE_WORDS})$`, "i")
export const TEMP_KEY_RE = new RegExp(`^(?:${TEMP_WORDS})$`, "i")
export const WEIGHT_KEY_RE = new RegExp(`^(?:${WEIGHT_WORDS})$`, "i")
export const DATE_KEY_RE = new RegExp(`^(?:${DATE_WORDS})$`, "i")
export const TIME_KEY_RE = new RegExp(`^(?:${TIME_WORDS})$`, "i")

/** Regex source of the names of vital signs: "Blood pressure", "BP", "Pulse rate", "HR", "SpO2", "O2 sat", "Temp", "Body weight", "Wt". */
export const VITAL_KEYS = String.raw`blood\s+pressure|bp|pulse(?:\s+rate)?|heart\s+rate|hr|spo2|sp02|o2\s+sat(?:uration)?|oxygen\s+saturation|blood\s+oxygen|temp(?:erature)?|(?:body\s+)?(?:temperature|weight)|weight|wt|${BP_WORDS}|${PULSE_WORDS}|${TEMP_WORDS}|${WEIGHT_WORDS}`

/**
 * Names of vital signs that cannot be mistaken for anything else on a line: "blood pressure", "BP",
 * "pulse", "heart rate", "HR", "SpO2", "O2 sat", "temp", "weight", and the longer names in other
 * languages ("Blutdruck", "tension artérielle", "Puls", "Gewicht"); not the two-letter marks "RR",
 * "TA", "PA", "FC", which mean other things outside a vitals table.
 */
export const PLAIN_VITAL_KEYS = String.raw`blood\s+pressure|bp|pulse(?:\s+rate)?|heart\s+rate|hr|spo2|sp02|o2\s+sat(?:uration)?|oxygen\s+saturation|temp(?:erature)?|weight|${[BP_WORDS, PULSE_WORDS, TEMP_WORDS, WEIGHT_WORDS]
  .flatMap((words) => words.split("|"))
  .filter((word) => word.replace(/\\[a-z]|[^\p{L}]/gu, "").length >= 4)
  .join("|")}`

/** Words that make a reading an average of others: "average", "mean", "medio", "Durchschnitt", "moyenne", "średnia". */
export const AVERAGE_WORDS = String.raw`average|avg\.?|mean|medi[oae]|m[ée]dia|moyenne|durchschnitt(?:lich)?|mittelwert|promedio|gemiddeld[e]?|[śs]rednia|gennemsnit|medel(?:v[äa]rde)?|pr[ůu]m[ěe]r|ortalama|rata-rata|purata|средн\p{L}*|平均(?:值)?|평균`

/** A line that starts with a vital sign's name. Examples: "BP 128/84", "Pulse rate", "weight"; not "Weightless" nor "HRT". */
export const VITAL_NAME_RE = new RegExp(String.raw`^(?:${VITAL_KEYS})\b`, "i")
