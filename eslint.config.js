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
      "no-restricted-imports": ["error", { paths: [{ name: "@effect/schema", message: "Schemas come from effect/Schema; @effect/schema is the old package and breaks HttpApi types." }] }]
    }
  },
  {
    files: ["test/**/*.ts", "scripts/**/*", "bench/**/*.ts"],
    rules: { "no-console": "off" }
  }
)
