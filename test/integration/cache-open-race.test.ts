/**
 * Several processes opening the same fresh cache folder at the same instant (issue 11 item 8):
 * creating the schema and switching to WAL must wait for each other, never fail with
 * `database is locked`. Real processes, real SQLite; no Python.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ActivationCache } from "../../src/index.js";

const DIST = JSON.stringify(new URL("../../dist/index.js", import.meta.url).href);

describe("opening a fresh cache concurrently", () => {
  it("6 processes × 25 fresh folders, opened at the same moment: every open succeeds", async () => {
    const root = mkdtempSync(join(tmpdir(), "cache-open-race-"));
    const folders = Array.from({ length: 25 }, (_, i) => join(root, `c${i}`));
    // Each child waits for a common start instant per folder, so the opens really collide.
    const start = Date.now() + 3000;
    const script = `
      import { ActivationCache } from ${DIST};
      const folders = ${JSON.stringify(folders)};
      const failures = [];
      for (const [i, dir] of folders.entries()) {
        while (Date.now() < ${start} + i * 150) {}
        try {
          const cache = new ActivationCache(dir);
          cache.registerModel("m", "model", {});
          cache.close();
        } catch (err) {
          failures.push(err.message.split("\\n")[0]);
        }
      }
      console.log(JSON.stringify(failures));
    `;
    const children = Array.from({ length: 6 }, () =>
      execa("node", ["--input-type=module", "-e", script], { reject: false, timeout: 60_000 }),
    );
    const results = await Promise.all(children);
    const failures = results.flatMap((r) => {
      expect(r.exitCode, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split("\n").pop()!) as string[];
    });
    expect(failures).toEqual([]);
    for (const dir of folders) {
      const cache = new ActivationCache(dir);
      expect(cache.info()).toEqual([]); // a usable, consistent index
      cache.close();
    }
  });
});
