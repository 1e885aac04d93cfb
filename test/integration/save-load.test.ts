/**
 * save/load without pickle: a loaded probe predicts exactly what the saved one did, in a fresh
 * Node process; truncated, tampered or newer-format files fail with ProbeFileError.
 */
import { readFileSync, writeFileSync, truncateSync, mkdtempSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, inject, it } from "vitest";
import { Probe, ProbeFileError, PythonRuntime, PROBE_FORMAT_VERSION, type ProbeOptions } from "../../src/index.js";
import { BIRDS, CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
afterAll(() => runtime.close());
const dir = mkdtempSync(join(tmpdir(), "saved-probes-"));
const cacheDir = mkdtempSync(join(tmpdir(), "saved-cache-"));

const configs: Array<[string, Omit<ProbeOptions, "model">, string[], number[]]> = [
  [
    "svm multiclass + pca",
    { layers: [0, 2], classifier: "svm", preprocessing: "standard+pca:4" },
    [...CATS, ...DOGS, ...BIRDS],
    [...CATS.map(() => 0), ...DOGS.map(() => 1), ...BIRDS.map(() => 2)],
  ],
  [
    "ensemble + mass-mean augment",
    { layers: 1, classifier: "ensemble", massMeanAugment: true },
    [...CATS, ...DOGS],
    [...CATS.map(() => 1), ...DOGS.map(() => 0)],
  ],
  [
    "mass_mean, score-level max",
    { layers: 2, classifier: "mass_mean", inferencePooling: "max" },
    [...CATS, ...DOGS],
    [...CATS.map(() => 1), ...DOGS.map(() => 0)],
  ],
  [
    "regression",
    { layers: "all", task: "regression" },
    [...CATS, ...DOGS],
    [...CATS.map((_, i) => i * 0.5), ...DOGS.map((_, i) => -i)],
  ],
];

describe("save / load", () => {
  it.each(configs)(
    "%s: a fresh process predicts exactly what the saved probe did",
    async (name, options, prompts, labels) => {
      const probe = new Probe({ model: models.gpt2.path, randomState: 0, runtime, cacheDir, ...options });
      await probe.fit(prompts, labels);
      const path = join(dir, name.replace(/\W+/g, "-"));
      await probe.save(path);
      const before = await probe.predict(TEST_PROMPTS);
      const script = `
      import { Probe } from ${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)};
      const probe = await Probe.load(${JSON.stringify(path)}, { cacheDir: null });
      console.log(JSON.stringify(await probe.predict(${JSON.stringify(TEST_PROMPTS)})));
      await probe.close();
    `;
      const result = await execa("node", ["--input-type=module", "-e", script], { timeout: 120_000 });
      expect(JSON.parse(result.stdout.trim().split("\n").pop()!)).toEqual(before);
      const again = await Probe.load(path, { runtime, cacheDir });
      expect(again.fittedState).toEqual(probe.fittedState);
      expect(again.options.classifierKwargs).toEqual(probe.options.classifierKwargs);
    },
  );

  describe("damaged files", () => {
    let path = "";
    const fresh = async () => {
      const probe = new Probe({
        model: models.gpt2.path,
        layers: 1,
        randomState: 0,
        runtime,
        cacheDir,
        classifierKwargs: { C: 0.5 },
      });
      await probe.fit(CATS, DOGS);
      path = join(mkdtempSync(join(dir, "damage-")), "probe");
      await probe.save(path);
      return path;
    };
    const loadError = async () => {
      const err = await Probe.load(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProbeFileError);
      return (err as ProbeFileError).message;
    };

    it("saves atomically: no temporary folder is left behind, and re-saving replaces the probe", async () => {
      await fresh();
      const parent = join(path, "..");
      expect(readdirSync(parent)).toEqual(["probe"]);
      const probe = await Probe.load(path, { runtime, cacheDir });
      await probe.save(path);
      expect(readdirSync(parent)).toEqual(["probe"]);
      expect(JSON.parse(readFileSync(join(path, "probe.json"), "utf8")).options.classifierKwargs).toEqual({ C: 0.5 });
    });

    it("a truncated tensor file", async () => {
      await fresh();
      truncateSync(join(path, "probe.safetensors"), 100);
      expect(await loadError()).toMatch(/truncated or was modified/);
    });

    it("a tampered coefficient", async () => {
      await fresh();
      const bytes = readFileSync(join(path, "probe.safetensors"));
      const at = bytes.length - 3;
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(join(path, "probe.safetensors"), bytes);
      expect(await loadError()).toMatch(/does not match the hash/);
    });

    it("an edited manifest", async () => {
      await fresh();
      const manifest = JSON.parse(readFileSync(join(path, "probe.json"), "utf8"));
      manifest.state.model.classes = [0, 2];
      writeFileSync(join(path, "probe.json"), JSON.stringify(manifest));
      expect(await loadError()).toMatch(/edited or damaged/);
    });

    it("a newer format version", async () => {
      await fresh();
      const manifest = JSON.parse(readFileSync(join(path, "probe.json"), "utf8"));
      manifest.formatVersion = PROBE_FORMAT_VERSION + 1;
      writeFileSync(join(path, "probe.json"), JSON.stringify(manifest));
      expect(await loadError()).toMatch(/newer lmprobe-ts/);
    });

    it("a missing or truncated manifest", async () => {
      await fresh();
      writeFileSync(join(path, "probe.json"), '{"format": "lmprob');
      expect(await loadError()).toMatch(/not valid JSON/);
      path = join(dir, "does-not-exist");
      expect(existsSync(path)).toBe(false);
      expect(await loadError()).toMatch(/missing/);
    });
  });
});
