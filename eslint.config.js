// Flat config: typescript-eslint's recommended rules plus a few that keep Effect code honest, and
// the architecture's direction of dependencies (http → programs → services ← layers; src/main is
// the only place that picks layers), checked on every `npm test`. Import cycles are checked by
// test/architecture/imports.test.ts.
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

/** `from` may not import the sibling directories of src named in `forbidden` (relative imports climb with ../). */
const boundary = (from, forbidden, why) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    "no-restricted-imports": ["error", {
      paths: effect3.paths,
      patterns: [
        ...effect3.patterns,
        { regex: `^(\\.\\./)+(${forbidden.join("|")})/`, message: `src/${from} may not import src/${forbidden.join(", src/")}: ${why} (README, Layout).` }
      ]
    }]
  }
})

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
  boundary("services", ["layers", "programs", "http", "main"], "services are the interfaces everything else depends on"),
  boundary("layers", ["programs", "http", "main"], "a layer implements a service; what runs programs is an entry point under src/main"),
  boundary("programs", ["layers", "http", "main"], "programs use services, never a particular layer"),
  boundary("http", ["layers", "main"], "the API calls programs; src/main picks the layers"),
  {
    files: ["test/**/*.ts", "scripts/**/*", "bench/**/*.ts"],
    rules: { "no-console": "off" }
  }
)
