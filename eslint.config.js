// ESLint 9 flat config: typescript-eslint's recommended rules (syntax-only, no type information, so
// linting stays fast on a 2-core machine) with Prettier owning all formatting (eslint-config-prettier
// switches off the stylistic rules that would fight it). `npm run lint` runs this, Prettier and ruff.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "bench/results/", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module", globals: globals.node },
    rules: {
      // `_`-prefixed names are deliberate (e.g. destructuring a field away to drop it).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none", ignoreRestSiblings: true },
      ],
    },
  },
  prettier,
  {
    // Lines ≤ 120 characters (the project's style rule). Prettier wraps code at 120 but leaves long strings
    // and comments alone, so this catches those; only URLs and regex literals may run longer. It comes after
    // `prettier` because eslint-config-prettier switches max-len off.
    rules: { "max-len": ["error", { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }] },
  },
);
