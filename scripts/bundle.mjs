// The package's entry points as a few files (run by `npm run build` after tsc): Node 20 loads an
// ES module graph file by file, and the SDK's ~130 modules plus zod's ~95 cost a fresh process
// more to open and link than a cached fit attached to a daemon takes in all (issue 13; measured
// in bench/daemon-start.mjs). Everything under dist/ stays as tsc wrote it (the declarations, and
// the npm scripts' `node dist/cli/main.js`); dist/bundle/ holds `index.js`, `native.js` and the
// `lmprobe` bin `cli.js` (hashbang kept), with the chunks they share, so one class (an error, a
// Probe) is the same object from every entry.
// Run: node scripts/bundle.mjs [DIST]   (default: ./dist)
import { rmSync } from "node:fs";
import { isBuiltin } from "node:module";
import { resolve } from "node:path";
import { build } from "rolldown";

const dist = resolve(process.argv[2] ?? "dist");
const out = resolve(dist, "bundle");
// Dependencies stay imports (native addons, optional peers, lazily imported ones); zod is pure
// JavaScript used on every path, so it travels inside the bundle.
const INLINED = /^zod(\/|$)/;
const external = (id) => isBuiltin(id) || (!/^[./]/.test(id) && !INLINED.test(id));

rmSync(out, { recursive: true, force: true });
await build({
  input: {
    index: resolve(dist, "index.js"),
    native: resolve(dist, "native", "index.js"),
    cli: resolve(dist, "cli", "main.js"),
  },
  platform: "node",
  external,
  // Keep every module's top-level code even where package.json says "sideEffects": false.
  treeshake: { moduleSideEffects: true },
  // Chunks sit beside the entries, two levels below the package root like every dist/ module, so
  // `new URL("../../package.json", import.meta.url)` and PACKAGE_ROOT resolve the same from both.
  output: { dir: out, format: "esm", sourcemap: true, entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" },
  logLevel: "warn",
});
