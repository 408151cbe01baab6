// Flat config: typescript-eslint's recommended rules plus a few that keep Effect code honest, and
// the architecture's direction of dependencies (http → programs → repos → services ← layers; src/main
// is the only place that picks layers), checked on every `npm test`; programs hold no SQL (it lives
// in src/repos, one module per table). Import cycles are checked by test/architecture/imports.test.ts.
import tseslint from "typescript-eslint"

const effect3 = {
  paths: [
    { name: "@effect/schema", message: "Effect 3's package: Schema comes from effect." },
    { name: "@effect/platform", message: "Effect 3's package: HTTP is effect/http, HttpApi effect/http-api." },
    { name: "@effect/sql", message: "Effect 3's package: SQL is effect/sql." },
    { name: "@effect/experimental", message: "Effect 3's package: Reactivity is effect/reactivity." },
    { name: "@effect/platform-node", message: "Import by module (@effect/platform-node/NodeHttpServer …): the index loads redis, which we do not install." }
  ],
  patterns: [{ group: ["@effect/platform/*", "@effect/sql/*", "@effect/schema/*"], message: "Effect 3's packages: these live in effect on Effect 4." }]
}

/**
 * `from` may not import the sibling directories of src named in `forbidden` (relative imports climb
 * with ../), nor anything in `extra` (more `paths` and `patterns` of no-restricted-imports: a later
 * override's rule replaces an earlier one for the same files, so every restriction of a directory
 * goes into its one boundary).
 */
const boundary = (from, forbidden, why, extra = { paths: [], patterns: [] }) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    "no-restricted-imports": ["error", {
      paths: [...effect3.paths, ...extra.paths],
      patterns: [
        ...effect3.patterns,
        { regex: `^(\\.\\./)+(${forbidden.join("|")})/`, message: `src/${from} may not import src/${forbidden.join(", src/")}: ${why} (README, Layout).` },
        ...extra.patterns
      ]
    }]
  }
})

const noSql = "programs contain no SQL: statements live in src/repos (one module per table), transactions go through src/repos/transaction.ts inTransaction"

/** What a program may not import: the SQL client, by any of its ways in. */
const programsSqlImports = {
  paths: [
    { name: "effect/sql", importNames: ["SqlClient"], message: noSql },
    { name: "@effect/sql-pg", message: noSql }
  ],
  patterns: [
    { regex: "(^|/)services/database(\\.js)?$", importNames: ["SqlClient", "withoutTransforms"], message: noSql },
    { regex: "^effect/sql/", message: noSql },
    { regex: "^@effect/sql-pg/", message: noSql },
    {
      regex: "^(\\.\\./)+config(\\.js|/)",
      message: "programs take the numbers they use from small services (UploadLimits, PlanLimits, SessionLifetime), never from the settings (docs/architecture.md)."
    }
  ]
}

export default tseslint.config(
  { ignores: ["node_modules/", "**/dist/", "cdk.out/", "coverage/", ".data/", "scratch/", "docs/effect4/", "bench/results/", "test/contract/.generated/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "error",
      "no-restricted-imports": ["error", effect3]
    }
  },
  boundary("services", ["layers", "programs", "repos", "http", "main"], "services are the interfaces everything else depends on"),
  boundary("layers", ["programs", "repos", "http", "main"], "a layer implements a service; what runs programs is an entry point under src/main"),
  boundary("programs", ["layers", "http", "main"], "programs use services, never a particular layer", programsSqlImports),
  boundary("config", ["layers", "programs", "repos", "http", "main"], "a settings slice is read by what uses it and knows no implementation"),
  boundary("repos", ["layers", "programs", "http", "main"], "a repository holds one table's statements; programs call repositories, never the other way"),
  boundary("http", ["layers", "main", "repos"], "the API calls programs; src/main picks the layers; tables are the programs' business"),
  {
    files: ["src/programs/**/*.ts"],
    rules: {
      "no-restricted-syntax": ["error",
        // sql`…`, sql<Row>`…`, and any client named *sql / *Sql (plain, ownerSql…)
        { selector: "TaggedTemplateExpression[tag.name=/(^plain$|[sS]ql$)/]", message: noSql },
        { selector: "TaggedTemplateExpression[tag.object.name=/(^plain$|[sS]ql$)/]", message: noSql },
        // sql(table), sql.unsafe(…), sql.in(…), sql.withTransaction(…)
        { selector: "CallExpression[callee.name=/(^plain$|[sS]ql$)/]", message: noSql },
        { selector: "CallExpression[callee.object.name=/(^plain$|[sS]ql$)/]", message: noSql }
      ]
    }
  },
  {
    files: ["test/**/*.ts", "scripts/**/*", "bench/**/*.ts"],
    rules: { "no-console": "off" }
  }
)
