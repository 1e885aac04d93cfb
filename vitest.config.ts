import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configDefaults, defineConfig } from "vitest/config";

// Each run gets its own activation cache: tests never see a previous run's entries.
const env = { LMPROBE_CACHE_DIR: mkdtempSync(join(tmpdir(), "lmprobe-ts-test-cache-")) };

export default defineConfig({
  test: {
    // 2-core machines: integration files each hold a worker with torch; run two files at a time.
    maxWorkers: 2,
    // Two projects so that the real NDIF server (minutes to install once, ~30 s and ~2 GB to start)
    // is brought up only when a file of its tier is in the run: vitest runs a project's
    // globalSetup only for projects with selected files. Together they include test/**/*.test.ts.
    projects: [
      {
        test: {
          name: "sdk",
          // zeromq.js must stay off worker_threads (it can crash on exit there): one forked process per file.
          pool: "forks",
          globalSetup: ["test/helpers/global-setup.ts"],
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/ndif-real/**"],
          env,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: "ndif-real",
          pool: "forks",
          // the tiny models, then the real NDIF server (test/ndif-real/harness/global-setup.ts)
          globalSetup: ["test/helpers/global-setup.ts", "test/ndif-real/harness/global-setup.ts"],
          include: ["test/ndif-real/**/*.test.ts"],
          env,
          // a model's first job on NDIF waits for its deployment (seconds on a loaded machine, more under load)
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
