/**
 * The analyte table: what the reader knows about each lab test it may meet on a report.
 * (Longer than a module should be, on purpose: it is data, one entry per test, and a table reads best whole.)
 *
 * LOINC codes are the usual serum/plasma (or blood/urine) code whose property matches `unit`
 * (a mass-concentration code for a mg/dL unit, a substance-concentration code for mmol/L); a code
 * is left out where there is no single usual one or it could not be checked. Every code carries
 * LOINC's mod-10 check digit, which the tests verify.
 *
 * `plausible` is deliberately wide: physiologically possible at all (including extreme disease),
 * so a value outside it is a misread (a shifted decimal, a reference range read as a value, the
 * wrong unit), not a sick patient.
 *
 * CRITICAL LIMITS. Local policies differ (each laboratory sets its own, often by age and
 * location); these are adult limits, to flag a value as possibly life-threatening, never to
 * replace the report's own flags. A value exactly on a limit counts as critical (limits are
 * inclusive, as Mayo's and Houston Methodist's lists write them with ≤ / ≥; ARUP writes < / >,
 * so on ARUP's exact numbers this flags one value more, the cautious side; Kost's are survey
 * means, with no inequality). Sources:
 *  [K]  Kost GJ. Critical limits for urgent clinician notification at US medical centers.
 *       JAMA 1990;263(5):704–707 (doi:10.1001/jama.263.5.704): mean low/high limits of 92 US
 *       centres, from its abstract: glucose 2.6/26.9 mmol/L (stored as 46/484 mg/dL), potassium
 *       2.8/6.2 mmol/L, calcium 1.65/3.22 mmol/L (stored as 6.6/12.9 mg/dL, ×4.008), sodium
 *       120/158 mmol/L, hematocrit 0.18/0.61 (18/61 %), hemoglobin 66/199 g/L (6.6/19.9 g/dL),
 *       platelets 37/910 ×10⁹/L, WBC 2.0/37.0 ×10⁹/L, prothrombin time high 27 s, pCO2 19/67
 *       mmHg, pH 7.21/7.59, pO2 low 43 mmHg. Kost et al. 2024 (Clin Chem Lab Med 62(11):2294–2306,
 *       "Web-accessible critical limits…") found several of these shifted since 1990, see below.
 *  [A]  ARUP Laboratories, Critical Values List (CORP-APPEND-0104A, Rev. 26, April 2017):
 *       ionized calcium 0.78/1.58 mmol/L, bicarbonate (total CO2) 10/40 mmol/L, magnesium 1.0/9.0
 *       mg/dL, phosphorus 1.0/9.0 mg/dL, total bilirubin high 15 mg/dL, troponin I high 0.30
 *       ng/mL, INR high 5.0, PTT high 85 s, fibrinogen low 100 mg/dL.
 *  [M]  Mayo Clinic Laboratories, Critical Values / Critical Results List (DLMP CL 041647):
 *       absolute neutrophils low 0.5 ×10⁹/L, ammonia high 200 µmol/L (age ≥ 1 year).
 *  [H]  Houston Methodist Hospital, Critical Values (houstonmethodist.org/critical-values):
 *       lactic acid high 3.5 mmol/L, chloride 75/121 mmol/L.
 * Not given limits on purpose: creatinine and urea (on none of the lists above as a single
 * adult number), high-sensitivity troponins (assay- and sex-specific 99th-percentile cut-offs
 * and changes over time, not one number; a conventional troponin I in ng/mL does get [A]'s
 * limit), neonatal bilirubin (hour-of-life nomograms; the 15 mg/dL here is an adult limit).
 */

export interface Analyte {
  readonly id: string
  readonly name: string
  /** the usual LOINC code (property matching `unit`); absent where none could be vouched for */
  readonly loinc?: string
  /** usual UCUM unit */
  readonly unit: string
  /** printed forms, in any language; matched after normalisation (see analytes.ts) */
  readonly synonyms: ReadonlyArray<string>
  /** in `unit`: physiologically possible at all; outside ⇒ a misread */
  readonly plausible: { readonly low: number; readonly high: number }
  /** in `unit`: life-threatening limits (sources above), inclusive */
  readonly critical?: { readonly low?: number; readonly high?: number }
  /** g/mol, for mg/dL ↔ mmol/L */
  readonly molarMass?: number
  /** absolute ionic charge, for mEq/L ↔ mmol/L */
  readonly charge?: number
  /** other UCUM units it is commonly reported in */
  readonly alternateUnits?: ReadonlyArray<string>
  /** urinalysis dipstick etc.: usually printed as words or +/++ rather than numbers */
  readonly qualitative?: boolean
  /** the specimen the usual code and limits are for */
  readonly specimen?: "serum/plasma" | "blood" | "arterial blood" | "urine"
}

type Extras = Omit<Analyte, "id" | "name" | "loinc" | "unit" | "plausible" | "synonyms">

const analyte = (
  id: string,
  name: string,
  loinc: string | undefined,
  unit: string,
  plausible: readonly [number, number],
  synonyms: ReadonlyArray<string>,
  extras: Extras = {}
): Analyte => ({
  id,
  name,
  ...(loinc === undefined ? {} : { loinc }),
  unit,
  synonyms,
  plausible: { low: plausible[0], high: plausible[1] },
  ...extras
})

const COUNT = "10*3/uL"
const COUNT_ALT = ["10*9/L", "/uL"] as const

const cbc: ReadonlyArray<Analyte> = [
  analyte("wbc", "White blood cells", "6690-2", COUNT, [0, 1000], [
    "WBC", "White blood cell count", "White blood cells", "White cell count", "Total white cell count", "Total white blood cell count", "WCC", "Leukocytes", "Leucocytes",
    "Leukocyte count", "Total leukocyte count", "Leukozyten", "Leucocitos", "Leucociti", "Leukocyten", "Globuli bianchi",
    "Globules blancs", "Glóbulos blancos", "Leuk", "Leuko", "LKC", "Witte bloedcellen", "Lökosit", "Beyaz küre", "Leukocyty", "Leukocytter", "Leukocyter", "Leukosyytit", "Leukocytes (WBC)", "Leucocite", "Fehérvérsejt", "Λευκά αιμοσφαίρια", "Λευκά"], { alternateUnits: COUNT_ALT, critical: { low: 2.0, high: 37.0 }, specimen: "blood" }),
  analyte("rbc", "Red blood cells", "789-8", "10*6/uL", [0.3, 12], [
    "RBC", "Red blood cell count", "Red blood cells", "Red cell count", "RCC", "Erythrocytes", "Erythrozyten", "Ery",
    "Hématies", "Globules rouges", "Eritrocitos", "Hematíes", "Glóbulos rojos", "Eritrociti", "Globuli rossi",
    "Erytrocyten", "Hemácias", "Hematii", "Erytrocyty", "Vörösvérsejt", "Ερυθρά αιμοσφαίρια", "Ερυθρά"], { alternateUnits: ["10*12/L"], specimen: "blood" }),
  analyte("hemoglobin", "Hemoglobin", "718-7", "g/dL", [1, 26], [
    "Hb", "Hgb", "HGB", "Haemoglobin", "Hämoglobin", "Hémoglobine", "Hemoglobina", "Emoglobina", "Hemoglobine",
    "Hemoglobin, blood", "Total hemoglobin", "Hæmoglobin", "Hemoglobiini", "Hemoglobina (HGB)", "Αιμοσφαιρίνη"], {
    alternateUnits: ["g/L", "mmol/L"],
    // per heme (the monomer), as the Dutch/Scandinavian mmol/L reports use: 8.7 mmol/L ≈ 14 g/dL
    molarMass: 16114.5,
    critical: { low: 6.6, high: 19.9 },
    specimen: "blood"
  }),
  analyte("hematocrit", "Hematocrit", "4544-3", "%", [5, 85], [
    "Hct", "HCT", "Haematocrit", "Hämatokrit", "Hematokrit", "Hématocrite", "Hematocrito", "Ematocrito", "PCV",
    "Packed cell volume", "EVF", "Hematokryt", "Hematokrit (HCT)", "Hæmatokrit", "Hematokriitti"
  ], { alternateUnits: ["L/L", "1"], critical: { low: 18, high: 61 }, specimen: "blood" }),
  analyte("mcv", "MCV", "787-2", "fL", [40, 160], [
    "Mean corpuscular volume", "Mean cell volume", "VCM", "Volume globulaire moyen", "Volumen corpuscular medio",
    "Volume corpuscolare medio", "MCV (mean corpuscular volume)"
  ], { specimen: "blood" }),
  analyte("mch", "MCH", "785-6", "pg", [10, 50], [
    "Mean corpuscular hemoglobin", "Mean cell hemoglobin", "HCM", "TCMH", "Teneur corpusculaire moyenne en hémoglobine",
    "Hemoglobina corpuscular media"
  ], { alternateUnits: ["fmol"], specimen: "blood" }),
  analyte("mchc", "MCHC", "786-4", "g/dL", [20, 45], [
    "Mean corpuscular hemoglobin concentration", "Mean cell hemoglobin concentration", "CHCM", "CCMH",
    "Concentration corpusculaire moyenne en hémoglobine", "Concentración de hemoglobina corpuscular media"
  ], { alternateUnits: ["g/L"], specimen: "blood" }),
  analyte("rdw", "RDW", "788-0", "%", [5, 40], [
    "RDW-CV", "Red cell distribution width", "Red blood cell distribution width", "Erythrocyte distribution width",
    "IDR", "Ery-Verteilungsbreite"
  ], { specimen: "blood" }),
  analyte("platelets", "Platelets", "777-3", COUNT, [0, 5000], [
    "PLT", "Plt", "Platelet count", "Platelet", "Thrombocytes", "Thrombocyte count", "Thrombozyten", "Thrombo",
    "Plaquettes", "Plaquetas", "Piastrine", "Trombociten", "Trombocitos", "Recuento de plaquetas", "Numération plaquettaire", "Trombosit", "Płytki krwi", "Trombocyty", "Trombocytter", "Trombocyter", "Trombosyytit", "Plaquetas (PLT)", "Trombocite", "Thrombocyta", "Bloedplaatjes", "Αιμοπετάλια"], { alternateUnits: COUNT_ALT, critical: { low: 37, high: 910 }, specimen: "blood" }),
  analyte("mpv", "MPV", "32623-1", "fL", [3, 20], ["Mean platelet volume", "VPM", "Volume plaquettaire moyen"], {
    specimen: "blood"
  }),
  analyte("reticulocytes_pct", "Reticulocytes %", "4679-7", "%", [0, 60], [
    "Reticulocytes", "Retic", "Retic %", "Reticulocyte count", "Retikulozyten", "Réticulocytes", "Reticulocitos"
  ], { specimen: "blood" })
]

/** The five white cells, each as an absolute count and as a percentage of leukocytes. */
const differential: ReadonlyArray<Analyte> = (
  [
    ["neutrophils", "Neutrophils", "751-8", "770-8", ["Neut", "Neutro", "Neutrophil", "Neutrophile", "Neutrophiles", "Neutrófilos", "Neutrofili", "Neutrofielen", "Segmented neutrophils", "Segs", "Polynucléaires neutrophiles", "PNN"]],
    ["lymphocytes", "Lymphocytes", "731-0", "736-9", ["Lymph", "Lymphs", "Lym", "Lymphocyte", "Lymphozyten", "Linfocitos", "Linfociti", "Lymfocyten"]],
    ["monocytes", "Monocytes", "742-7", "5905-5", ["Mono", "Monos", "Monocyte", "Monozyten", "Monocitos", "Monociti", "Monocyten"]],
    ["eosinophils", "Eosinophils", "711-2", "713-8", ["Eos", "Eosinophil", "Eosinophile", "Eosinophiles", "Eosinófilos", "Eosinofili", "Eosinofielen", "Polynucléaires éosinophiles"]],
    ["basophils", "Basophils", "704-7", "706-2", ["Baso", "Basos", "Basophil", "Basophile", "Basophiles", "Basófilos", "Basofili", "Basofielen", "Polynucléaires basophiles"]]
  ] as const
).flatMap(([id, name, absLoinc, pctLoinc, names]) => {
  const all: ReadonlyArray<string> = [name, ...names]
  return [
    analyte(`${id}_abs`, `${name} (absolute)`, absLoinc, COUNT, [0, id === "lymphocytes" ? 1000 : 500], [
      ...all.flatMap((n) => [`${n} #`, `${n} abs`, `${n} absolute`, `Absolute ${n}`, `Abs ${n}`, `${n} count`, `${n} absolut`]),
      ...(id === "neutrophils" ? ["ANC", "Absolute neutrophil count"] : []),
      ...(id === "lymphocytes" ? ["ALC", "Absolute lymphocyte count"] : [])
    ], {
      alternateUnits: COUNT_ALT,
      ...(id === "neutrophils" ? { critical: { low: 0.5 } } : {}),
      specimen: "blood"
    }),
    analyte(`${id}_pct`, `${name} %`, pctLoinc, "%", [0, 100], [
      ...all.flatMap((n) => [`${n} %`, `% ${n}`, `${n} percent`, `${n} relative`, `${n} relativ`])
    ], { alternateUnits: ["1"], specimen: "blood" })
  ]
})

const chemistry: ReadonlyArray<Analyte> = [
  analyte("sodium", "Sodium", "2951-2", "mmol/L", [80, 200], [
    "Na", "Na+", "Natrium", "Sodio", "Sodium, serum", "Serum sodium", "Natrémie", "Sodemia", "Sodyum", "Sód", "Sodík", "Sódio", "Natrij", "Sodiu", "Νάτριο"], { alternateUnits: ["meq/L"], charge: 1, molarMass: 22.99, critical: { low: 120, high: 158 } }),
  analyte("potassium", "Potassium", "2823-3", "mmol/L", [0.5, 15], [
    "K", "K+", "Kalium", "Potasio", "Potassio", "Kaliémie", "Kaliemia", "Serum potassium", "Potasyum", "Potas", "Draslík", "Potássio", "Kalij", "Potasiu", "Κάλιο"], { alternateUnits: ["meq/L"], charge: 1, molarMass: 39.098, critical: { low: 2.8, high: 6.2 } }),
  analyte("chloride", "Chloride", "2075-0", "mmol/L", [50, 160], [
    "Cl", "Cl-", "Chlorid", "Chlorure", "Chlorures", "Cloruro", "Cloro", "Chloor", "Chlorémie", "Serum chloride", "Klorür", "Chlorki", "Chloridy", "Klorid", "Cloreto"
  ], { alternateUnits: ["meq/L"], charge: 1, molarMass: 35.45, critical: { low: 75, high: 121 } }),
  analyte("co2_total", "Carbon dioxide, total", "2028-9", "mmol/L", [2, 60], [
    "CO2", "Total CO2", "TCO2", "Carbon dioxide", "CO2 content", "CO2, total", "Bicarbonate (CO2)", "CO2 total"
  ], { alternateUnits: ["meq/L"], charge: 1, critical: { low: 10, high: 40 } }),
  analyte("bicarbonate", "Bicarbonate", "1963-8", "mmol/L", [2, 60], [
    "HCO3", "HCO3-", "Bicarb", "Bicarbonat", "Bicarbonato", "Bicarbonates", "cHCO3", "Actual bicarbonate", "Hydrogencarbonat",
    "Standard bicarbonate", "SBC"
  ], { alternateUnits: ["meq/L"], charge: 1, critical: { low: 10, high: 40 } }),
  analyte("anion_gap", "Anion gap", "33037-3", "mmol/L", [-10, 70], ["AG", "Anion gap (calc)", "Anionenlücke", "Trou anionique", "Brecha aniónica"], {
    alternateUnits: ["meq/L"], charge: 1
  }),
  analyte("bun", "Urea nitrogen", "3094-0", "mg/dL", [0.5, 300], ["BUN", "Blood urea nitrogen", "Urea N", "Urea nitrogen (BUN)", "Harnstoff-N", "Azote uréique"], {
    alternateUnits: ["mmol/L"],
    // urea nitrogen is reported per the two nitrogen atoms of urea: 28.014 g/mol
    molarMass: 28.014
  }),
  analyte("urea", "Urea", "22664-7", "mmol/L", [0.3, 110], ["Harnstoff", "Urée", "Urémie", "Ureum", "Urea serica", "Azotemia", "Serum urea", "Carbamide"], {
    alternateUnits: ["mg/dL"], molarMass: 60.06
  }),
  analyte("bun_creatinine_ratio", "BUN/creatinine ratio", "3097-3", "{ratio}", [1, 200], ["BUN/Creat ratio", "BUN/Cr ratio", "Urea nitrogen/creatinine ratio", "BUN/creatinine"], {
    alternateUnits: ["1"]
  }),
  analyte("creatinine", "Creatinine", "2160-0", "mg/dL", [0.05, 30], [
    "Creat", "Cr", "Crea", "Krea", "Kreatinin", "Créatinine", "Creatinina", "Kreatinine", "Créatininémie", "Creatininemia",
    "Serum creatinine", "Kreatynina", "Kreatiniini"
  ], { alternateUnits: ["umol/L", "mmol/L"], molarMass: 113.12 }),
  analyte("egfr", "eGFR", "33914-3", "mL/min/{1.73_m2}", [0, 250], [
    "GFR", "Estimated GFR", "GFR, estimated", "Estimated glomerular filtration rate", "eGFR (CKD-EPI)", "eGFR CKD-EPI",
    "eGFR (MDRD)", "GFR (CKD-EPI)", "eGFR non-African American", "DFG", "Débit de filtration glomérulaire", "Filtrado glomerular",
    "TFGe", "eGFR nach CKD-EPI"
  ]),
  analyte("glucose", "Glucose", "2345-7", "mg/dL", [5, 3000], [
    "Glu", "GLU", "Blood glucose", "Blood sugar", "Fasting glucose", "Glucose, fasting", "FBG", "FBS", "FPG", "Fasting plasma glucose", "RBS", "RBG", "PPBS", "Random blood glucose",
    "Glukose", "Glucosa", "Glicemia", "Glycémie", "Glucose à jeun", "Glykämie", "Nüchternglukose", "Glucosio", "Glukos",
    "Glucemia", "Random glucose", "Plasma glucose", "Serum glucose", "Glukoz", "Açlık kan şekeri", "Glukoza", "Glukóza", "Glukose", "Glicose", "Glicémia", "Glukoosi", "Glucoză", "Glucoza", "Glicemie", "Vércukor", "Γλυκόζη"], { alternateUnits: ["mmol/L"], molarMass: 180.16, critical: { low: 46, high: 484 } }),
  analyte("calcium", "Calcium", "17861-6", "mg/dL", [2, 25], [
    "Ca", "Total calcium", "Calcium, total", "Kalzium", "Calcium total", "Calcémie", "Calcio", "Calcemia",
    "Serum calcium", "Kalsiyum", "Wapń", "Wapń całkowity", "Vápník", "Kalsium", "Kalcium", "Cálcio", "Calciu", "Ασβέστιο"], { alternateUnits: ["mmol/L", "meq/L"], molarMass: 40.078, charge: 2, critical: { low: 6.6, high: 12.9 } }),
  analyte("calcium_corrected", "Calcium, corrected", "29265-6", "mg/dL", [2, 25], [
    "Corrected calcium", "Calcium corrected", "Calcium (corrected)", "Calcium corrected for albumin", "Albumin-corrected calcium",
    "Adjusted calcium", "Calcium, adjusted", "Korrigiertes Calcium", "Calcium korrigiert", "Calcémie corrigée"
  ], { alternateUnits: ["mmol/L"], molarMass: 40.078, charge: 2 }),
  analyte("calcium_ionized", "Calcium, ionized", "1995-0", "mmol/L", [0.2, 3.5], [
    "Ionized calcium", "iCa", "Ca++ ionized", "Calcium ionized", "Calcium (ionized)", "Free calcium", "Ionised calcium",
    "Calcium, ionised", "Ca ion", "Ionisiertes Calcium", "Calcium ionisiert", "Calcium ionisé", "Calcio iónico", "Calcio ionizzato",
    "Ca2+ ionized", "Ca++", "Ca2+"
  ], { alternateUnits: ["mg/dL", "meq/L"], molarMass: 40.078, charge: 2, critical: { low: 0.78, high: 1.58 } }),
  analyte("magnesium", "Magnesium", "19123-9", "mg/dL", [0.2, 20], [
    "Mg", "Mg++", "Magnesio", "Magnésium", "Magnésémie", "Magnesemia", "Serum magnesium", "Magnezyum", "Magnez", "Hořčík", "Magnésio"
  ], { alternateUnits: ["mmol/L", "meq/L"], molarMass: 24.305, charge: 2, critical: { low: 1.0, high: 9.0 } }),
  analyte("phosphate", "Phosphate", "2777-1", "mg/dL", [0.2, 25], [
    "Phosphorus", "Phos", "PO4", "Phosphat", "Anorganisches Phosphat", "Phosphore", "Phosphatémie", "Fósforo", "Fosfato", "Fosforo",
    "Inorganic phosphate", "Inorganic phosphorus", "Phosphorus, inorganic", "Fosfaat"
  ], { alternateUnits: ["mmol/L"], molarMass: 30.974, critical: { low: 1.0, high: 9.0 } }),
  analyte("total_protein", "Total protein", "2885-2", "g/dL", [1, 20], [
    "Protein, total", "Total protein, serum", "Gesamteiweiß", "Gesamteiweiss", "Gesamtprotein", "Protéines totales", "Protidémie",
    "Proteínas totales", "Proteine totali", "Totaal eiwit", "Serum protein"
  ], { alternateUnits: ["g/L"] }),
  analyte("albumin", "Albumin", "1751-7", "g/dL", [0.5, 8], [
    "Alb", "ALB", "Albumine", "Albúmina", "Albumina", "Serum albumin", "Albumin, serum"
  ], { alternateUnits: ["g/L"] }),
  analyte("globulin", "Globulin", "10834-0", "g/dL", [0.5, 12], ["Globulins", "Globuline", "Globulinas", "Total globulin", "Globulin (calc)"], {
    alternateUnits: ["g/L"]
  }),
  analyte("albumin_globulin_ratio", "Albumin/globulin ratio", "1759-0", "{ratio}", [0.1, 6], [
    "A/G ratio", "A/G", "AG ratio", "Albumin/Globulin", "Alb/Glob ratio", "Rapport A/G", "Relación A/G", "Albumin-Globulin-Quotient"
  ], { alternateUnits: ["1"] }),
  analyte("bilirubin_total", "Bilirubin, total", "1975-2", "mg/dL", [0, 60], [
    "Total bilirubin", "Bilirubin", "Bili", "T. Bili", "TBil", "T Bil", "Bilirubin total", "Gesamtbilirubin", "Bilirubin gesamt",
    "Bilirubine totale", "Bilirrubina total", "Bilirubina totale", "Bilirubine", "Bilirrubina", "Bilirubina", "Totaal bilirubine"
  ], { alternateUnits: ["umol/L"], molarMass: 584.66, critical: { high: 15 } }),
  analyte("bilirubin_direct", "Bilirubin, direct", "1968-7", "mg/dL", [0, 40], [
    "Direct bilirubin", "D. Bili", "DBil", "D Bil", "Conjugated bilirubin", "Bilirubin, conjugated", "Direktes Bilirubin",
    "Bilirubin direkt", "Bilirubine conjuguée", "Bilirubine directe", "Bilirrubina directa", "Bilirubina diretta"
  ], { alternateUnits: ["umol/L"], molarMass: 584.66 }),
  analyte("bilirubin_indirect", "Bilirubin, indirect", "1971-1", "mg/dL", [0, 40], [
    "Indirect bilirubin", "Unconjugated bilirubin", "Bilirubin, unconjugated", "Indirektes Bilirubin", "Bilirubin indirekt",
    "Bilirubine libre", "Bilirubine non conjuguée", "Bilirrubina indirecta", "Bilirubina indiretta"
  ], { alternateUnits: ["umol/L"], molarMass: 584.66 }),
  analyte("alp", "Alkaline phosphatase", "6768-6", "U/L", [5, 5000], [
    "ALP", "Alk Phos", "Alk. phos.", "AP", "Alkalische Phosphatase", "Phosphatases alcalines", "PAL", "Fosfatasa alcalina",
    "Fosfatasi alcalina", "Alkalisch fosfatase"
  ], { alternateUnits: ["ukat/L"] }),
  analyte("alt", "ALT", "1742-6", "U/L", [1, 20000], [
    "Alanine aminotransferase", "Alanine transaminase", "SGPT", "ALT (SGPT)", "GPT", "ALAT", "ALT/GPT", "GPT (ALT)", "TGP",
    "Alanin-Aminotransferase", "Alanina aminotransferasa", "Transaminase ALAT"
  ], { alternateUnits: ["ukat/L"] }),
  analyte("ast", "AST", "1920-8", "U/L", [1, 20000], [
    "Aspartate aminotransferase", "Aspartate transaminase", "SGOT", "AST (SGOT)", "GOT", "ASAT", "AST/GOT", "GOT (AST)", "TGO",
    "Aspartat-Aminotransferase", "Aspartato aminotransferasa", "Transaminase ASAT"
  ], { alternateUnits: ["ukat/L"] }),
  analyte("ggt", "GGT", "2324-2", "U/L", [1, 5000], [
    "Gamma-glutamyltransferase", "Gamma glutamyl transferase", "Gamma-GT", "GGTP", "γ-GT", "Gamma GT", "Gamma-Glutamyltransferase",
    "Gamma-glutamiltransferasa", "Gamma-glutamyl transpeptidase"
  ], { alternateUnits: ["ukat/L"] }),
  analyte("ldh", "LDH", "2532-0", "U/L", [10, 20000], [
    "Lactate dehydrogenase", "LD", "Lactic dehydrogenase", "Laktatdehydrogenase", "Lactate déshydrogénase", "Lactato deshidrogenasa",
    "Lattato deidrogenasi", "LDH total"
  ], { alternateUnits: ["ukat/L"] }),
  analyte("osmolality_serum", "Osmolality", "2692-2", "mosm/kg", [150, 450], ["Serum osmolality", "Osmolality, serum", "Osmolalität", "Osmolalité", "Osmolalidad"]),
  analyte("uric_acid", "Uric acid", "3084-1", "mg/dL", [0.2, 25], [
    "Urate", "UA serum", "Harnsäure", "Acide urique", "Uricémie", "Ácido úrico", "Acido urico", "Urinezuur", "Uricemia"
  ], { alternateUnits: ["umol/L", "mmol/L"], molarMass: 168.11 }),
  analyte("amylase", "Amylase", "1798-8", "U/L", [1, 10000], ["Amy", "Alpha-amylase", "Amylase, serum", "Amilasa", "Amilasi", "Amylase totale"], {
    alternateUnits: ["ukat/L"]
  }),
  analyte("lipase", "Lipase", "3040-3", "U/L", [1, 20000], ["Lip", "Lipase, serum", "Lipasa", "Lipasi"], { alternateUnits: ["ukat/L"] }),
  analyte("ammonia", "Ammonia", "16362-6", "umol/L", [1, 1500], ["NH3", "NH4", "Ammoniak", "Ammoniac", "Ammoniémie", "Amonio", "Amoníaco", "Ammoniaca", "Ammonium"], {
    alternateUnits: ["ug/dL"], molarMass: 17.031, critical: { high: 200 }
  }),
  analyte("lactate", "Lactate", "2524-7", "mmol/L", [0.1, 35], ["Lactic acid", "Lac", "Laktat", "Lactato", "Lattato", "Acide lactique", "Lactatémie", "Ácido láctico"], {
    alternateUnits: ["mg/dL"], molarMass: 90.08, critical: { high: 3.5 }
  })
]

const lipidsAndDiabetes: ReadonlyArray<Analyte> = [
  analyte("cholesterol_total", "Cholesterol, total", "2093-3", "mg/dL", [20, 2000], [
    "Total cholesterol", "Cholesterol", "Chol", "TC", "Cholesterin", "Gesamtcholesterin", "Cholestérol total", "Cholestérol",
    "Colesterol total", "Colesterol", "Colesterolo totale", "Colesterolo", "Totaal cholesterol"
  ], { alternateUnits: ["mmol/L"], molarMass: 386.65 }),
  analyte("ldl", "LDL cholesterol", "13457-7", "mg/dL", [1, 1500], [
    "LDL", "LDL-C", "LDL cholesterol (calc)", "LDL-Cholesterin", "LDL Chol", "Cholesterol in LDL", "LDL calculated", "LDL direct",
    "Cholestérol LDL", "LDL-colesterol", "Colesterol LDL", "Colesterolo LDL", "Low density lipoprotein cholesterol", "LDL-Cholesterol"
  ], { alternateUnits: ["mmol/L"], molarMass: 386.65 }),
  analyte("hdl", "HDL cholesterol", "2085-9", "mg/dL", [1, 250], [
    "HDL", "HDL-C", "HDL-Cholesterin", "HDL Chol", "Cholesterol in HDL", "Cholestérol HDL", "HDL-colesterol", "Colesterol HDL",
    "Colesterolo HDL", "High density lipoprotein cholesterol", "HDL-Cholesterol"
  ], { alternateUnits: ["mmol/L"], molarMass: 386.65 }),
  analyte("non_hdl", "Non-HDL cholesterol", "43396-1", "mg/dL", [10, 2000], [
    "Non-HDL", "Non HDL-C", "Non-HDL-C", "Non-HDL-Cholesterin", "Cholestérol non-HDL", "Colesterol no HDL", "Colesterolo non-HDL"
  ], { alternateUnits: ["mmol/L"], molarMass: 386.65 }),
  analyte("vldl", "VLDL cholesterol", "13458-5", "mg/dL", [0, 500], ["VLDL", "VLDL-C", "VLDL (calc)", "VLDL-Cholesterin", "Cholestérol VLDL"], {
    alternateUnits: ["mmol/L"], molarMass: 386.65
  }),
  analyte("cholesterol_hdl_ratio", "Cholesterol/HDL ratio", "9830-1", "{ratio}", [0.5, 30], [
    "Chol/HDL ratio", "TC/HDL ratio", "Total cholesterol/HDL ratio", "Chol/HDL", "Cholesterol/HDL", "Risk ratio", "Cholesterin/HDL-Quotient"
  ], { alternateUnits: ["1"] }),
  analyte("triglycerides", "Triglycerides", "2571-8", "mg/dL", [5, 15000], [
    "TG", "Trig", "Trigs", "Triglyceride", "Triglyzeride", "Triglycéride", "Triglycérides", "Triglicéridos", "Trigliceridi", "Triglyceriden",
    "Triacylglycerol"
  ], { alternateUnits: ["mmol/L"], molarMass: 885.7 }),
  analyte("apob", "Apolipoprotein B", "1884-6", "mg/dL", [5, 500], ["ApoB", "Apo B", "Apo B-100", "ApoB100", "Apolipoprotein B-100", "Apolipoprotéine B", "Apolipoproteína B"], {
    alternateUnits: ["g/L"]
  }),
  analyte("lpa", "Lipoprotein(a)", "10835-7", "mg/dL", [0, 500], ["Lp(a)", "Lp a", "Lipoprotein a", "Lipoprotéine(a)", "Lipoproteína(a)", "LPA"], {
    // nmol/L counts particles; with no fixed mass per particle it cannot be converted to mg/dL
    alternateUnits: ["nmol/L", "g/L"]
  }),
  analyte("hba1c", "Hemoglobin A1c", "4548-4", "%", [2, 25], [
    "HbA1c", "A1c", "Hb A1c", "HgbA1c", "Hgb A1c", "Glycated hemoglobin", "Glycosylated hemoglobin", "Glycohemoglobin", "Haemoglobin A1c",
    "Hämoglobin A1c", "Glykohämoglobin", "Hémoglobine glyquée", "Hemoglobina glicosilada", "Hemoglobina glicada", "Emoglobina glicata",
    "HbA1c (DCCT)", "HbA1c (NGSP)", "HbA1c (IFCC)", "Glycated haemoglobin"
  ], { alternateUnits: ["mmol/mol"], specimen: "blood" }),
  analyte("estimated_average_glucose", "Estimated average glucose", "27353-2", "mg/dL", [20, 800], ["eAG", "Average glucose", "Estimated avg glucose"], {
    alternateUnits: ["mmol/L"], molarMass: 180.16
  }),
  analyte("fructosamine", "Fructosamine", "15069-8", "umol/L", [50, 1500], ["Fruktosamin", "Fructosamina"]),
  analyte("insulin", "Insulin", "20448-7", "u[IU]/mL", [0, 3000], ["Insulin, fasting", "Fasting insulin", "Insuline", "Insulina"], {
    alternateUnits: ["m[IU]/L", "pmol/L"]
  }),
  analyte("c_peptide", "C-peptide", "1986-9", "ng/mL", [0, 50], ["C peptide", "C-Peptid", "Peptide C", "Péptido C", "Peptide-C"], {
    alternateUnits: ["nmol/L", "pmol/L"], molarMass: 3020.3
  })
]

const endocrineAndVitamins: ReadonlyArray<Analyte> = [
  analyte("tsh", "TSH", "3016-3", "m[IU]/L", [0, 500], [
    "Thyroid stimulating hormone", "Thyrotropin", "TSH basal", "TSH, 3rd generation", "TSH 3rd generation", "hTSH", "Thyréostimuline",
    "Tirotropina", "Tireotropina", "TSH sensitive", "Sensitive TSH", "sTSH", "TSH ultrasensitive", "TSHus", "TSH-basal"
  ], { alternateUnits: ["u[IU]/mL"] }),
  analyte("tsh_receptor_ab", "TSH receptor antibodies", "5385-0", "[IU]/L", [0, 100], [
    "TRAb", "TRAK", "TSH receptor antibody", "TSH receptor Ab", "Thyrotropin receptor antibodies", "TSH-Rezeptor-Antikörper",
    "Anticorps anti-récepteurs de la TSH", "Anticuerpos antirreceptor de TSH"
  ]),
  analyte("free_t4", "Free T4", "3024-7", "ng/dL", [0.05, 15], [
    "FT4", "fT4", "T4, free", "Free thyroxine", "Thyroxine, free", "Freies T4", "Freies Thyroxin", "T4 libre", "T4L", "Thyroxine libre",
    "Tiroxina libre", "T4 libera", "FT4 (free thyroxine)", "Vrij T4"
  ], { alternateUnits: ["pmol/L"], molarMass: 776.87 }),
  analyte("free_t3", "Free T3", "3051-0", "pg/mL", [0.2, 40], [
    "FT3", "fT3", "T3, free", "Free triiodothyronine", "Triiodothyronine, free", "Freies T3", "T3 libre", "T3L", "Triiodothyronine libre",
    "Triyodotironina libre", "T3 libera", "Vrij T3"
  ], { alternateUnits: ["pmol/L"], molarMass: 650.97 }),
  analyte("t4_total", "Thyroxine (T4), total", "3026-2", "ug/dL", [0.5, 40], ["T4", "Total T4", "T4, total", "Thyroxine", "Total thyroxine", "Gesamt-T4", "Thyroxin"], {
    alternateUnits: ["nmol/L"], molarMass: 776.87
  }),
  analyte("t3_total", "Triiodothyronine (T3), total", "3053-6", "ng/dL", [10, 1500], ["T3", "Total T3", "T3, total", "Triiodothyronine", "Total triiodothyronine", "Gesamt-T3"], {
    alternateUnits: ["nmol/L"], molarMass: 650.97
  }),
  analyte("cortisol", "Cortisol", "2143-6", "ug/dL", [0, 200], ["Cortisol, serum", "Kortisol", "Hydrocortisone", "Cortisol AM", "Morning cortisol"], {
    alternateUnits: ["nmol/L"], molarMass: 362.46
  }),
  analyte("pth", "Parathyroid hormone", "2731-8", "pg/mL", [0, 5000], ["PTH", "Intact PTH", "PTH, intact", "iPTH", "Parathormon", "Parathormone", "Hormona paratiroidea", "Paratormone"], {
    alternateUnits: ["pmol/L", "ng/L"], molarMass: 9425
  }),
  analyte("vitamin_b12", "Vitamin B12", "2132-9", "pg/mL", [20, 20000], [
    "B12", "Vit B12", "Cobalamin", "Cyanocobalamin", "Vitamin B-12", "Vitamine B12", "Vitamina B12", "Cobalamine", "Cobalamina"
  ], { alternateUnits: ["pmol/L", "ng/L"], molarMass: 1355.37 }),
  analyte("folate", "Folate", "2284-8", "ng/mL", [0.2, 100], ["Folic acid", "Folsäure", "Folat", "Folate sérique", "Ácido fólico", "Folato", "Acido folico", "Serum folate"], {
    alternateUnits: ["nmol/L", "ug/L"], molarMass: 441.4
  }),
  analyte("vitamin_d_25oh", "25-hydroxyvitamin D", "62292-8", "ng/mL", [1, 250], [
    "Vitamin D", "25-OH vitamin D", "25(OH)D", "25-OH-D", "25 OH Vit D", "Vitamin D, 25-hydroxy", "25-Hydroxy vitamin D", "Vit D",
    "Vitamin D 25-OH", "25-OH-Vitamin D3", "Vitamin D3 (25-OH)", "25-Hydroxyvitamin D3", "Calcidiol", "Vitamine D", "Vitamina D",
    "25-OH-Vitamin D", "Vitamin D total", "25-Hydroxy-Vitamin D", "Vitamine D (25-OH)", "Vitamina D 25-OH"
  ], { alternateUnits: ["nmol/L", "ug/L"], molarMass: 400.64 }),
  analyte("psa", "PSA", "2857-1", "ng/mL", [0, 10000], ["Prostate specific antigen", "PSA, total", "Total PSA", "tPSA", "PSA total", "Antigène prostatique spécifique", "Antígeno prostático específico"], {
    alternateUnits: ["ug/L"]
  }),
  analyte("psa_free", "PSA, free", "10886-0", "ng/mL", [0, 1000], ["Free PSA", "fPSA", "PSA libre", "Freies PSA", "PSA free"], { alternateUnits: ["ug/L"] }),
  analyte("cea", "CEA", "2039-6", "ng/mL", [0, 100000], ["Carcinoembryonic antigen", "Antigène carcino-embryonnaire", "Antígeno carcinoembrionario"], {
    alternateUnits: ["ug/L"]
  }),
  analyte("afp", "Alpha-fetoprotein", "1834-1", "ng/mL", [0, 1000000], ["AFP", "Alpha fetoprotein", "Alpha-1-Fetoprotein", "Alpha-Fetoprotein", "Alfafetoproteína", "Alphafoetoprotéine"], {
    alternateUnits: ["ug/L"]
  }),
  analyte("ca125", "CA 125", "10334-1", "U/mL", [0, 100000], ["CA-125", "CA125", "Cancer antigen 125", "CA 12-5"], { alternateUnits: ["kU/L"] }),
  analyte("ca19_9", "CA 19-9", "24108-3", "U/mL", [0, 1000000], ["CA-19-9", "CA19-9", "CA 19 9", "Cancer antigen 19-9", "Carbohydrate antigen 19-9"], {
    alternateUnits: ["kU/L"]
  })
]

const ironAndInflammation: ReadonlyArray<Analyte> = [
  analyte("iron", "Iron", "2498-4", "ug/dL", [2, 1500], ["Fe", "Serum iron", "Iron, serum", "Eisen", "Fer", "Fer sérique", "Hierro", "Ferro", "Sideremia", "IJzer"], {
    alternateUnits: ["umol/L"], molarMass: 55.845
  }),
  analyte("ferritin", "Ferritin", "2276-4", "ng/mL", [0.5, 100000], ["Ferritine", "Ferritina", "Serum ferritin", "Ferritin, serum"], {
    alternateUnits: ["ug/L", "pmol/L"]
  }),
  analyte("transferrin", "Transferrin", "3034-6", "mg/dL", [20, 1000], ["Transferrine", "Transferrina", "Serum transferrin", "Sidérophiline"], {
    alternateUnits: ["g/L"]
  }),
  analyte("tibc", "TIBC", "2500-7", "ug/dL", [50, 1200], [
    "Total iron binding capacity", "Iron binding capacity", "Iron binding capacity, total", "Totale Eisenbindungskapazität", "TEBK",
    "Capacité totale de fixation du fer", "CTF", "Capacidad total de fijación del hierro", "CTFH"
  ], { alternateUnits: ["umol/L"], molarMass: 55.845 }),
  analyte("transferrin_saturation", "Transferrin saturation", "2502-3", "%", [0, 100], [
    "TSAT", "Iron saturation", "% saturation", "Iron % saturation", "Transferrinsättigung", "Coefficient de saturation de la transferrine",
    "CST", "Saturación de transferrina", "Saturazione della transferrina", "Iron saturation (calc)"
  ], { alternateUnits: ["1"] }),
  analyte("crp", "C-reactive protein", "1988-5", "mg/L", [0, 1000], ["CRP", "C reactive protein", "C-reaktives Protein", "Protéine C réactive", "Proteína C reactiva", "Proteina C reattiva"], {
    alternateUnits: ["mg/dL"]
  }),
  analyte("hs_crp", "hs-CRP", "30522-7", "mg/L", [0, 1000], ["High sensitivity CRP", "hsCRP", "CRP, high sensitivity", "High-sensitivity C-reactive protein", "Cardio CRP", "hs CRP", "CRP hochsensitiv", "CRP ultrasensible", "PCR ultrasensible"], {
    alternateUnits: ["mg/dL"]
  }),
  analyte("esr", "ESR", "4537-7", "mm/h", [0, 200], [
    "Erythrocyte sedimentation rate", "Sed rate", "Sedimentation rate", "ESR (Westergren)", "Westergren", "BSG", "BSR", "Blutsenkung", "Blutsenkungsgeschwindigkeit",
    "VS", "Vitesse de sédimentation", "VSG", "Velocidad de sedimentación", "Velocità di eritrosedimentazione", "Bezinking"
  ]),
  analyte("procalcitonin", "Procalcitonin", "33959-8", "ng/mL", [0, 1000], ["PCT", "Procalcitonine", "Procalcitonina", "Procalcitonin (PCT)"], { alternateUnits: ["ug/L"] })
]

const coagulation: ReadonlyArray<Analyte> = [
  analyte("pt", "Prothrombin time", "5902-2", "s", [5, 200], ["PT", "Pro time", "Protime", "Prothrombinzeit", "Temps de Quick", "Tiempo de protrombina", "Tempo di protrombina"], {
    critical: { high: 27 }
  }),
  analyte("inr", "INR", "6301-6", "{INR}", [0.5, 20], ["PT INR", "PT/INR", "International normalized ratio", "International normalised ratio", "INR (PT)", "Prothrombin INR", "TP-INR", "Quick INR", "INR (TP)"], {
    alternateUnits: ["1", "{ratio}"], critical: { high: 5.0 }
  }),
  analyte("aptt", "aPTT", "3173-2", "s", [10, 300], [
    "APTT", "PTT", "Activated partial thromboplastin time", "Partial thromboplastin time", "aPTT (s)", "PTT-LA", "Aktivierte partielle Thromboplastinzeit",
    "TCA", "Temps de céphaline activée", "TTPa", "Tiempo de tromboplastina parcial activada"
  ], { critical: { high: 85 } }),
  analyte("fibrinogen", "Fibrinogen", "3255-7", "mg/dL", [10, 2000], ["Fib", "Fibrinogène", "Fibrinógeno", "Fibrinogeno", "Fibrinogen (Clauss)", "Fibrinogeen"], {
    alternateUnits: ["g/L"], critical: { low: 100 }
  }),
  analyte("d_dimer", "D-dimer", "48065-7", "ng/mL{FEU}", [0, 100000], ["D dimer", "DDimer", "D-Dimere", "D-dimères", "Dímero D", "D-dimero", "D-Dimer (FEU)"], {
    alternateUnits: ["ug/mL{FEU}", "mg/L{FEU}"]
  })
]

/** Troponins: conventional (ng/mL) with [A]'s troponin I limit; high-sensitivity (ng/L) without a limit, see the note above. */
const cardiac: ReadonlyArray<Analyte> = [
  analyte("troponin_i", "Troponin I", "10839-9", "ng/mL", [0, 1000], ["TnI", "cTnI", "Troponin I, cardiac", "Cardiac troponin I", "Troponine I", "Troponina I"], {
    alternateUnits: ["ug/L", "ng/L"], critical: { high: 0.3 }
  }),
  analyte("troponin_t", "Troponin T", "6598-7", "ng/mL", [0, 1000], ["TnT", "cTnT", "Troponin T, cardiac", "Cardiac troponin T", "Troponine T", "Troponina T"], {
    alternateUnits: ["ug/L", "ng/L"]
  }),
  analyte("hs_troponin_i", "High-sensitivity troponin I", "89579-7", "ng/L", [0, 1000000], [
    "hs-TnI", "hsTnI", "hs-cTnI", "hs Troponin I", "Troponin I, high sensitivity", "Troponin I (hs)", "High sensitivity troponin I", "hs-Troponin I",
    "Troponin I hochsensitiv", "Troponine I ultrasensible", "Troponina I de alta sensibilidad"
  ], { alternateUnits: ["pg/mL"] }),
  analyte("hs_troponin_t", "High-sensitivity troponin T", "67151-1", "ng/L", [0, 1000000], [
    "hs-TnT", "hsTnT", "hs-cTnT", "hs Troponin T", "Troponin T, high sensitivity", "Troponin T (hs)", "High sensitivity troponin T", "hs-Troponin T",
    "Troponin T hochsensitiv", "Troponine T ultrasensible", "Troponina T de alta sensibilidad"
  ], { alternateUnits: ["pg/mL"] }),
  analyte("bnp", "BNP", "30934-4", "pg/mL", [0, 50000], ["B-type natriuretic peptide", "Brain natriuretic peptide", "Natriuretic peptide B", "Peptide natriurétique de type B"], {
    alternateUnits: ["ng/L"]
  }),
  analyte("nt_probnp", "NT-proBNP", "33762-6", "pg/mL", [0, 100000], ["NT proBNP", "NTproBNP", "N-terminal pro-BNP", "N-terminal pro B-type natriuretic peptide", "Pro-BNP", "proBNP"], {
    alternateUnits: ["ng/L", "pmol/L"]
  }),
  analyte("ck", "Creatine kinase", "2157-6", "U/L", [1, 500000], ["CK", "CPK", "Creatine phosphokinase", "CK total", "Total CK", "Kreatinkinase", "Créatine kinase", "Creatina quinasa", "Creatinchinasi"], {
    alternateUnits: ["ukat/L"]
  }),
  analyte("ck_mb", "CK-MB", "13969-1", "ng/mL", [0, 5000], ["CKMB", "CK MB", "CK-MB mass", "Creatine kinase MB", "CK-MB Masse"], { alternateUnits: ["ug/L"] })
]

const bloodGas: ReadonlyArray<Analyte> = [
  analyte("ph_blood", "pH (blood)", "2744-1", "[pH]", [6.5, 8], ["Arterial pH", "pH arterial", "Blood pH", "pH, arterial", "pH (arterial)", "Venous pH", "ABG pH", "pH art"], {
    critical: { low: 7.21, high: 7.59 }, specimen: "arterial blood"
  }),
  analyte("pco2", "pCO2", "2019-8", "mm[Hg]", [5, 200], ["PaCO2", "pCO2 arterial", "Partial pressure of carbon dioxide", "Carbon dioxide partial pressure", "PCO2", "pCO₂", "Kohlendioxidpartialdruck"], {
    alternateUnits: ["kPa"], critical: { low: 19, high: 67 }, specimen: "arterial blood"
  }),
  analyte("po2", "pO2", "2703-7", "mm[Hg]", [5, 800], ["PaO2", "pO2 arterial", "Partial pressure of oxygen", "Oxygen partial pressure", "PO2", "pO₂", "Sauerstoffpartialdruck"], {
    alternateUnits: ["kPa"], critical: { low: 43 }, specimen: "arterial blood"
  }),
  analyte("base_excess", "Base excess", "1925-7", "mmol/L", [-40, 40], ["BE", "Base excess (calc)", "BE(B)", "BEecf", "Base deficit/excess", "Basenüberschuss", "Excès de base", "Exceso de base", "ABE", "SBE"], {
    alternateUnits: ["meq/L"], charge: 1, specimen: "arterial blood"
  }),
  analyte("o2_saturation", "Oxygen saturation", "2708-6", "%", [10, 100], ["SaO2", "sO2", "O2 sat", "O2 saturation", "Oxygen saturation, arterial", "Sauerstoffsättigung", "Saturation en oxygène", "Saturación de oxígeno"], {
    alternateUnits: ["1"], specimen: "arterial blood"
  })
]

/** Urinalysis: dipstick items are qualitative (words, +/++), the sediment counts per field. Names carry "urine" so that they never collide with the blood analytes. */
const urine: ReadonlyArray<Analyte> = [
  analyte("urine_specific_gravity", "Specific gravity (urine)", "5811-5", "1", [1.0, 1.06], ["Specific gravity", "SG", "Spec grav", "Sp. gr.", "Urine specific gravity", "Spezifisches Gewicht", "Densité urinaire", "Densidad", "Densità", "Soortelijk gewicht", "Urine SG"], {
    specimen: "urine"
  }),
  analyte("urine_ph", "pH (urine)", "5803-2", "[pH]", [4, 9.5], ["Urine pH", "pH urine", "pH, urine", "Urin-pH", "pH urinaire"], { specimen: "urine" }),
  analyte("urine_protein", "Protein (urine)", "5804-0", "mg/dL", [0, 2000], ["Urine protein", "Protein, urine", "Urine protein (dipstick)", "Eiweiß im Urin", "Protéinurie", "Proteinuria", "Proteinurie", "Urin-Eiweiß", "Urine albumin (dipstick)"], {
    alternateUnits: ["g/L"], qualitative: true, specimen: "urine"
  }),
  analyte("urine_glucose", "Glucose (urine)", "5792-7", "mg/dL", [0, 5000], ["Urine glucose", "Glucose, urine", "Glucosuria", "Glucosurie", "Glukosurie", "Urin-Glukose", "Glucosuria"], {
    alternateUnits: ["mmol/L"], molarMass: 180.16, qualitative: true, specimen: "urine"
  }),
  analyte("urine_ketones", "Ketones (urine)", "5797-6", "mg/dL", [0, 200], ["Ketones", "Ketone", "Ketone bodies", "Urine ketones", "Ketonkörper", "Cétones", "Corps cétoniques", "Cuerpos cetónicos", "Acetone", "KET", "Ketonen"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_blood", "Blood (urine)", "5794-3", "{presence}", [0, 0], ["Urine blood", "Blood, urine", "Occult blood", "Blood (dipstick)", "Hemoglobin (urine)", "Urine hemoglobin", "Blut im Urin", "BLD", "Hématurie"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_nitrite", "Nitrite (urine)", "5802-4", "{presence}", [0, 0], ["Nitrite", "Nitrites", "Nitrit", "Urine nitrite", "NIT", "Nitritos", "Nitriti", "Nitriet"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_leukocyte_esterase", "Leukocyte esterase (urine)", "5799-2", "{presence}", [0, 0], [
    "Leukocyte esterase", "Leucocyte esterase", "Leukocytes (dipstick)", "LEU", "Urine leukocytes", "Leukozytenesterase", "Estérase leucocytaire", "Esterasa leucocitaria",
    "Leukocyte esterase, urine"
  ], { qualitative: true, specimen: "urine" }),
  analyte("urine_bilirubin", "Bilirubin (urine)", "5770-3", "{presence}", [0, 0], ["Urine bilirubin", "Bilirubin, urine", "Bilirubinurie", "Bilirrubina en orina"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_urobilinogen", "Urobilinogen (urine)", "5818-0", "mg/dL", [0, 20], ["Urobilinogen", "UBG", "URO", "Urine urobilinogen", "Urobilinogène", "Urobilinógeno", "Urobilinogeno"], {
    alternateUnits: ["{Ehrlich'U}/dL", "umol/L"], qualitative: true, specimen: "urine"
  }),
  analyte("urine_color", "Color (urine)", "5778-6", "{text}", [0, 0], ["Color", "Colour", "Urine color", "Urine colour", "Farbe", "Couleur", "Color de la orina", "Colore", "Kleur"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_clarity", "Clarity (urine)", "5767-9", "{text}", [0, 0], ["Clarity", "Appearance", "Urine appearance", "Turbidity", "Aussehen", "Trübung", "Aspect", "Aspecto", "Aspetto", "Helderheid"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_wbc", "White blood cells (urine sediment)", "5821-4", "/[HPF]", [0, 1000], [
    "WBC/HPF", "WBC per HPF", "Urine WBC", "WBC, urine", "Leukocytes/HPF", "Leukozyten im Sediment", "Leucocytes urinaires", "Pus cells", "Sediment leukocytes",
    "White cells (urine)"
  ], { specimen: "urine" }),
  analyte("urine_rbc", "Red blood cells (urine sediment)", "13945-1", "/[HPF]", [0, 1000], [
    "RBC/HPF", "RBC per HPF", "Urine RBC", "RBC, urine", "Erythrocytes/HPF", "Erythrozyten im Sediment", "Hématies urinaires", "Sediment erythrocytes",
    "Red cells (urine)"
  ], { specimen: "urine" }),
  analyte("urine_casts", "Casts (urine sediment)", undefined, "/[LPF]", [0, 500], ["Casts", "Hyaline casts", "Cylinders", "Zylinder", "Cylindres", "Cilindros", "Cilindri", "Casts/LPF"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_bacteria", "Bacteria (urine sediment)", "25145-4", "{presence}", [0, 0], ["Bacteria", "Bakterien", "Bactéries", "Bacterias", "Batteri", "Bacteriën", "Bacteriuria"], {
    qualitative: true, specimen: "urine"
  }),
  analyte("urine_epithelial_cells", "Epithelial cells (urine sediment)", undefined, "/[HPF]", [0, 500], [
    "Epithelial cells", "Squamous epithelial cells", "Epithelia", "Epithelien", "Plattenepithelien", "Cellules épithéliales", "Células epiteliales", "Cellule epiteliali",
    "Epithelial cells/HPF", "Epi cells"
  ], { qualitative: true, specimen: "urine" }),
  analyte("urine_albumin_creatinine_ratio", "Albumin/creatinine ratio (urine)", "9318-7", "mg/g{creat}", [0, 20000], [
    "ACR", "UACR", "Albumin/creatinine ratio", "Urine albumin/creatinine ratio", "Microalbumin/creatinine ratio", "Albumin-Kreatinin-Quotient", "Rapport albumine/créatinine",
    "Cociente albúmina/creatinina", "Microalbumin creatinine ratio"
  ], { alternateUnits: ["mg/mmol{creat}", "mg/g"], specimen: "urine" })
]

export const TABLE: ReadonlyArray<Analyte> = [
  ...cbc,
  ...differential,
  ...chemistry,
  ...lipidsAndDiabetes,
  ...endocrineAndVitamins,
  ...ironAndInflammation,
  ...coagulation,
  ...cardiac,
  ...bloodGas,
  ...urine
]
