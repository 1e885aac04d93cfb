/**
 * lmprobe-ts/native on its own: a child Node process with no Python on PATH and LMPROBE_PYTHON
 * pointing nowhere loads an exported folder and predicts what the worker predicts; and bad input
 * (a newer format, tampered files, a missing optional dependency, over-long and empty prompts,
 * aborts, a closed probe) fails with typed errors. One export of the tiny gpt2.
 */
import { execa } from "execa";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime } from "../../src/index.js";
import {
  AbortError,
  InvalidInputError,
  MissingDependencyError,
  NativeProbe,
  NotSupportedError,
  ProbeFileError,
} from "../../src/native/index.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const runtime = new PythonRuntime();
const root = mkdtempSync(join(tmpdir(), "native-standalone-"));
const DIST_NATIVE = new URL("../../dist/native/index.js", import.meta.url).pathname;
const PROMPTS = [
  "The cat sat on the mat.",
  "A dog!",
  "Emoji 🙂 and café",
  "x",
  ...CATS.slice(0, 3),
  ...DOGS.slice(0, 3),
];
let dir = "";
let workerProba: number[][] = [];

beforeAll(async () => {
  const probe = new Probe({ model: models.gpt2.path, layers: [1, 2], pooling: "last_token", randomState: 0, runtime });
  await probe.fit(CATS, DOGS);
  dir = (await probe.exportNative(join(root, "gpt2"))).path;
  workerProba = await probe.predictProba(PROMPTS);
}, 300_000);
afterAll(async () => {
  await runtime.close();
  rmSync(root, { recursive: true, force: true });
});

/** A copy of the exported folder, changed by `edit`. */
function variant(name: string, edit: (copy: string) => void): string {
  const copy = join(root, name);
  cpSync(dir, copy, { recursive: true });
  edit(copy);
  return copy;
}

describe("with Python absent", () => {
  it("a child Node process without python on PATH and LMPROBE_PYTHON pointing nowhere predicts", async () => {
    const bin = join(root, "bin-node-only");
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, "node")); // PATH holds node and nothing else
    const script = join(root, "serve.mjs");
    writeFileSync(
      script,
      [
        'import { spawnSync } from "node:child_process";',
        `import { NativeProbe } from ${JSON.stringify(DIST_NATIVE)};`,
        'const found = ["python", "python3"].filter((p) => !spawnSync(p, ["--version"]).error);',
        "const probe = await NativeProbe.load(process.argv[2]);",
        "const proba = await probe.predictProba(JSON.parse(process.argv[3]));",
        "await probe.close();",
        "console.log(JSON.stringify({ found, proba }));",
      ].join("\n"),
    );
    const { stdout } = await execa(join(bin, "node"), [script, dir, JSON.stringify(PROMPTS)], {
      env: { PATH: bin, LMPROBE_PYTHON: join(root, "no-such-python"), LMPROBE_HOME: join(root, "no-home") },
      extendEnv: false,
    });
    const out = JSON.parse(stdout) as { found: string[]; proba: number[][] };
    expect(out.found).toEqual([]);
    expect(out.proba).toHaveLength(PROMPTS.length);
    const worst = Math.max(...out.proba.flatMap((r, i) => r.map((v, j) => Math.abs(v - workerProba[i]![j]!))));
    expect(worst).toBeLessThan(1e-4);
  });
});

describe("bad input", () => {
  it("a folder from a newer native format is refused", async () => {
    const copy = variant("newer", (c) => {
      const m = JSON.parse(readFileSync(join(c, "native.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(join(c, "native.json"), JSON.stringify({ ...m, formatVersion: 2 }));
    });
    const err = await NativeProbe.load(copy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeFileError);
    expect((err as Error).message).toMatch(/native format 2, newer than this lmprobe-ts reads \(1\)/);
  });

  it.each([
    ["model.onnx", (f: Buffer) => Buffer.concat([f.subarray(0, f.length - 1), Buffer.from([f.at(-1)! ^ 1])])],
    ["tokenizer.json", (f: Buffer) => Buffer.from(f.toString("utf8").replace('"model"', '"model" ').trim())],
    ["probe/probe.safetensors", (f: Buffer) => f.subarray(0, f.length - 8)],
    ["probe/probe.json", (f: Buffer) => Buffer.from(`${f.toString("utf8")} `)],
  ])("a tampered %s fails its sha256 (ProbeFileError)", async (file, tamper) => {
    const copy = variant(`tampered-${file.replace(/\W/g, "_")}`, (c) =>
      writeFileSync(join(c, file), tamper(readFileSync(join(c, file)))),
    );
    const err = await NativeProbe.load(copy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProbeFileError);
    expect((err as Error).message).toContain(`${file} does not match its sha256`);
  });

  it("a missing optional dependency names what to install (simulated: the importer fails like Node's)", async () => {
    const importModule = async (name: string) => {
      if (name === "onnxruntime-node") {
        throw Object.assign(new Error(`Cannot find package '${name}' imported from x`), {
          code: "ERR_MODULE_NOT_FOUND",
        });
      }
      return import(name);
    };
    const err = await NativeProbe.load(dir, { importModule }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(err).toMatchObject({ code: "MISSING_DEPENDENCY", packages: ["onnxruntime-node"] });
    expect((err as Error).message).toContain("npm install onnxruntime-node");
  });

  it("a prompt longer than the model's positions and an empty prompt fail naming the prompt", async () => {
    await using probe = await NativeProbe.load(dir);
    const long = Array.from({ length: 300 }, () => "cat").join(" ");
    const err = await probe.predict(["a", "b", long]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ argument: "prompts", index: 2 });
    expect((err as Error).message).toMatch(/prompts\[2\] has \d+ tokens; the exported model takes at most 256/);
    const empty = await probe.predictProba(["a", ""]).catch((e: unknown) => e);
    expect(empty).toMatchObject({ code: "INVALID_INPUT", index: 1 });
    await expect(probe.predict([])).rejects.toThrow(InvalidInputError);
  });

  it("an AbortSignal stops a call between forward passes; a closed probe refuses calls", async () => {
    const probe = await NativeProbe.load(dir, { batchSize: 1 });
    await expect(probe.predict(PROMPTS, { signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    const controller = new AbortController();
    const running = probe.predictProba(PROMPTS, { signal: controller.signal });
    controller.abort(new Error("user cancelled")); // the first forward pass is under way
    const err = await running.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error("user cancelled"));
    expect(await probe.predict(PROMPTS.slice(0, 2))).toHaveLength(2); // still usable after an abort
    await probe.close();
    await expect(probe.predict(["a"])).rejects.toThrow(NotSupportedError);
  });

  it("bad load options are typed errors", async () => {
    await expect(NativeProbe.load(dir, { batchSize: 0 })).rejects.toMatchObject({ argument: "batchSize" });
    await expect(NativeProbe.load(dir, { inferencePooling: "avg" as never })).rejects.toMatchObject({
      argument: "inferencePooling",
    });
    await expect(NativeProbe.load(join(root, "nowhere"))).rejects.toThrow(ProbeFileError);
  });
});
