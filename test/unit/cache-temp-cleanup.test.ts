/**
 * Temporary blob files (issue 11 item 11): a write that fails because the disk is full removes
 * its `*.tmp-*` file, and `lmprobe cache prune` removes those of writers that were killed. The
 * full disk is real: a 1 MB tmpfs (mounting needs root; skipped otherwise). No Python, no dist/.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cacheCommand } from "../../src/cli/cache-command.js";
import { ActivationCache, CacheError } from "../../src/index.js";
import type { NewEntry } from "../../src/cache/activation-cache.js";
import { freshDir } from "../helpers/cache.js";

const files = (dir: string) =>
  readdirSync(join(dir, "blobs"), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
/** `count` full-sequence entries of 16 rows × 256 float32 (16 KB each). */
const fullEntries = (count: number, tag: string): NewEntry[] =>
  Array.from({ length: count }, (_, i) => ({
    promptHash: `${tag}${i.toString(16).padStart(6, "0")}${"cd".repeat(28)}`,
    layer: 1,
    kind: "full",
    rows: 16,
    dim: 256,
    data: new Float32Array(16 * 256).fill(i),
  }));

const mountPoint = freshDir("lmprobe-tmpfs-");
let mounted = false;
try {
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { stdio: "ignore" });
  mounted = true;
} catch {
  // not root, or no mount permission in this sandbox
}
afterAll(() => {
  if (mounted) execFileSync("umount", [mountPoint]);
});

describe.skipIf(!mounted)("a full disk (a real 1 MB tmpfs)", () => {
  it("the failing write leaves no temporary blob, and committed entries stay readable", () => {
    const dir = join(mountPoint, "cache");
    const cache = new ActivationCache(dir);
    const first = fullEntries(4, "aa");
    cache.putMany("mk", first, "float32");
    let err: unknown;
    for (let round = 0; round < 200 && err === undefined; round++) {
      try {
        cache.putMany(
          "mk",
          fullEntries(4, `${round.toString(16).padStart(2, "0")}`).map((e) => ({ ...e, layer: 2 + round })),
          "float32",
        );
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(CacheError);
    expect((err as Error).message).toMatch(/disk is full/);
    expect(files(dir).filter((f) => f.includes(".tmp-"))).toEqual([]);
    expect(
      cache.getMany(
        "mk",
        first.map((e) => e.promptHash),
        1,
        "full",
        "float32",
      ).size,
    ).toBe(4);
    cache.close();
  });
});

describe("lmprobe cache prune", () => {
  it("removes temporaries of writers that are gone and keeps those of a live writer", () => {
    const dir = freshDir();
    new ActivationCache(dir).close();
    const dead = Number(
      spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString(),
    );
    mkdirSync(join(dir, "blobs", "ab"), { recursive: true });
    const stale = join(dir, "blobs", "ab", `abcdef-x-0-full-float32.bin.tmp-${dead}`);
    const live = join(dir, "blobs", "ab", `abcdef-y-0-full-float32.bin.tmp-${process.ppid}`);
    writeFileSync(stale, "");
    writeFileSync(live, "partial");
    const lines: string[] = [];
    expect(cacheCommand(["prune", "--max-gb", "10", "--dir", dir], (line) => lines.push(line))).toBe(0);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(live)).toBe(true); // our parent process is alive: its write may be in flight
    expect(lines.join("\n")).toMatch(/removed 1 temporary file/);
  });
});
