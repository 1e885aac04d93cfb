/**
 * Security: a probe folder is untrusted input. A crafted probe.json (with a valid checksum, which
 * anyone can recompute) must not decide where files are written or where NDIF_API_KEY is sent.
 */
import { cpSync, existsSync, mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, ProbeFileError, PythonRuntime } from "../../src/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";
import { forgeProbe } from "../helpers/synthetic-probe.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime({ env: { NDIF_API_KEY: "secret-key-never-sent" } });
const dir = mkdtempSync(join(tmpdir(), "crafted-probes-"));
const cacheDir = mkdtempSync(join(tmpdir(), "crafted-cache-"));
let saved = "";

/** A copy of the saved probe with `edit` applied to its options, re-hashed as a forger would. */
function craft(name: string, edit: (options: Record<string, unknown>) => void): string {
  const folder = mkdtempSync(join(dir, `${name}-probe-`));
  cpSync(saved, folder, { recursive: true });
  forgeProbe(folder, (manifest) => {
    edit(manifest.options as Record<string, unknown>);
  });
  return folder;
}

beforeAll(async () => {
  const probe = new Probe({ model: models.gpt2.path, layers: 1, randomState: 0, runtime, cacheDir });
  await probe.fit(CATS, DOGS);
  saved = join(dir, "genuine");
  await probe.save(saved);
});
afterAll(() => runtime.close());

describe("crafted probe files", () => {
  it("a cacheDir inside probe.json is refused and no cache is created there", async () => {
    const target = join(dir, "attacker-chosen-cache");
    const path = craft("cache", (o) => (o.cacheDir = target));
    const err = await Probe.load(path, { runtime }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeFileError);
    expect((err as Error).message).toContain("options.cacheDir");
    expect(existsSync(target)).toBe(false);
  });

  it("a runtime field inside probe.json is refused", async () => {
    const path = craft("runtime", (o) => (o.runtime = { pythonPath: "/tmp/evil" }));
    await expect(Probe.load(path)).rejects.toThrow(/options\.runtime/);
  });

  it(
    "a remote.host inside probe.json is refused even with the caller's own remote setting; " + "no request is made",
    async () => {
      let requests = 0;
      const server = createServer((_req, res) => {
        requests += 1;
        res.end("{}");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as { port: number }).port;
      try {
        const path = craft("host", (o) => {
          o.backend = "nnsight";
          o.remote = { host: `http://127.0.0.1:${port}` };
        });
        for (const overrides of [{ runtime }, { runtime, remote: true as const }]) {
          const err = await Probe.load(path, overrides).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(ProbeFileError);
          expect((err as Error).message).toContain("options.remote.host");
          expect((err as Error).message).not.toContain("secret-key-never-sent");
        }
        expect(requests).toBe(0);
      } finally {
        server.close();
      }
    },
  );

  it("the genuine file still loads and predicts", async () => {
    const probe = await Probe.load(saved, { runtime, cacheDir });
    expect((await probe.predict(CATS)).length).toBe(CATS.length);
  });
});
