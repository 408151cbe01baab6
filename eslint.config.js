// Flat config: typescript-eslint's recommended rules plus a few that keep Effect code honest.
import tseslint from "typescript-eslint"

export default tseslint.config(
  { ignores: ["node_modules/", "**/dist/", "cdk.out/", "coverage/", ".data/", "scratch/", "docs/effect4/", "bench/results/", "test/contract/.generated/"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "error",
      "no-restricted-imports": ["error", {
        paths: [
          { name: "@effect/schema", message: "Effect 3's package: Schema comes from effect." },
          { name: "@effect/platform", message: "Effect 3's package: HTTP is effect/http, HttpApi effect/http-api." },
          { name: "@effect/sql", message: "Effect 3's package: SQL is effect/sql." },
          { name: "@effect/experimental", message: "Effect 3's package: Reactivity is effect/reactivity." },
          { name: "@effect/platform-node", message: "Import by module (@effect/platform-node/NodeHttpServer …): the index loads redis, which we do not install." }
        ],
        patterns: [{ group: ["@effect/platform/*", "@effect/sql/*", "@effect/schema/*"], message: "Effect 3's packages: these live in effect on Effect 4." }]
      }]
    }
  },
  {
    files: ["test/**/*.ts", "scripts/**/*", "bench/**/*.ts"],
    rules: { "no-console": "off" }
  }
)
