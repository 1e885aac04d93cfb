import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // zeromq.js must stay off worker_threads (it can crash on exit there): one forked process per file.
    pool: "forks",
    // Each run gets its own activation cache: tests never see a previous run's entries.
    // Daemons off: no test may attach to a user's `lmprobe worker start` (daemon.test.ts opts in,
    // with a private LMPROBE_DAEMON_DIR).
    env: { LMPROBE_CACHE_DIR: mkdtempSync(join(tmpdir(), "lmprobe-ts-test-cache-")), LMPROBE_DAEMON: "off" },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // 2-core machines: integration files each hold a worker with torch; run two files at a time.
    maxWorkers: 2,
    // vitest runs a project's globalSetup only when files of that project are in the run: the
    // unit tier needs no Python, and the real NDIF server (minutes to install once, ~30 s and
    // ~2 GB to start) comes up only for its own tier. Together they include test/**/*.test.ts.
    projects: [
      // Python-free tiers: pure TypeScript (golden values committed under test/fixtures/golden/),
      // and the consumer-types check. No global setup, so they run on a machine without Python.
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts", "test/types/**/*.test.ts"] } },
      // Tiers that run Python: the managed venv and the tiny models are prepared once per run.
      {
        extends: true,
        test: {
          name: "python",
          include: ["test/integration/**/*.test.ts", "test/worker/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts"],
        },
      },
      // The real NDIF server on loopback: the tiny models, then the server (test/ndif-real/harness).
      {
        extends: true,
        test: {
          name: "ndif-real",
          include: ["test/ndif-real/**/*.test.ts"],
          globalSetup: ["test/helpers/global-setup.ts", "test/ndif-real/harness/global-setup.ts"],
          // a model's first job on NDIF waits for its deployment (seconds idle, more under load)
          testTimeout: 300_000,
        },
      },
    ],
  },
});
