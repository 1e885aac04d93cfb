import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // zeromq.js must stay off worker_threads (it can crash on exit there): one forked process per file.
    pool: "forks",
    globalSetup: ["test/helpers/global-setup.ts"],
    include: ["test/**/*.test.ts"],
    // Each run gets its own activation cache: tests never see a previous run's entries.
    env: { LMPROBE_CACHE_DIR: mkdtempSync(join(tmpdir(), "lmprobe-ts-test-cache-")) },
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // 2-core machines: integration files each hold a worker with torch; run two files at a time.
    maxWorkers: 2,
  },
});
