/**
 * The published declarations as a consumer sees them: the package is built (the `build` script's
 * compiler, into a temp folder so a concurrent test's dist/ is untouched), installed into a temp
 * consumer project next to its production dependencies only, and the consumer is compiled with
 * `tsc --strict` and no `skipLibCheck` by TypeScript 5.9 and TypeScript 7 (their default `types`).
 * The `lmprobe-ts/native` subpath compiles and imports without its optional peer dependencies
 * (onnxruntime-node, @huggingface/tokenizers), which the consumer really lacks here, and then
 * `NativeProbe.load` says what to install. No Python involved.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..", "..");
const COMPILERS = {
  "TypeScript 5.9": join(ROOT, "node_modules", "typescript", "bin", "tsc"),
  "TypeScript 7": join(ROOT, "node_modules", "typescript7", "bin", "tsc"),
};

/** What a consumer writes; every line is checked by the compiler, the `@ts-expect-error` ones included. */
const CONSUMER = `
import { Probe, PythonRuntime, LmprobeError, lmprobeHome, type ProbeOptions } from "lmprobe-ts";
import { NativeProbe, MissingDependencyError, type NativeTokenScores } from "lmprobe-ts/native";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const same = <A, B>(ok: Equal<A, B>): Equal<A, B> => ok;

const perPrompt = new Probe({ model: "m", layers: 2, classifier: "logistic_regression" });
export const a = same<Awaited<ReturnType<typeof perPrompt.predictProba>>, number[][]>(true);
export const b = same<Awaited<ReturnType<typeof perPrompt.predict>>, number[]>(true);

const perToken = new Probe({ model: "m", layers: 2, inferencePooling: "all" });
export const c = same<Awaited<ReturnType<typeof perToken.predictProba>>, number[][][]>(true);
const trainedOnAll = new Probe({ model: "m", layers: 2, pooling: "all", inferencePooling: "mean" });
export const d = same<Awaited<ReturnType<typeof trainedOnAll.predictProba>>, number[][]>(true);

// Options typed as ProbeOptions forget the literal: either shape is possible, so the union.
const typed: ProbeOptions = { model: "m", layers: 2, inferencePooling: "all" };
const wide = new Probe(typed);
export const e = same<Awaited<ReturnType<typeof wide.predictProba>>, number[][] | number[][][]>(true);

// @ts-expect-error: a misspelt option is a compile error
export const typo1 = new Probe({ model: "m", layrs: 2 });
// @ts-expect-error: also next to valid options
export const typo2 = new Probe({ model: "m", layers: 2, inferencePoolng: "all" });
// @ts-expect-error: a wrong value type
export const badValue = new Probe({ model: "m", layers: 2, pooling: "avg" });

export async function use(runtime: PythonRuntime): Promise<string> {
  await using probe = new Probe({ model: "m", layers: [1, 2], runtime });
  try {
    await probe.fit(["a"], ["b"]);
  } catch (err) {
    if (err instanceof LmprobeError) return err.code;
  }
  return lmprobeHome(process.env);
}

export async function serve(dir: string): Promise<number[][] | readonly string[]> {
  try {
    await using native = await NativeProbe.load(dir, { threads: 1, inferencePooling: "max" });
    const tokens: NativeTokenScores[] = await native.scoreTokens(["a"], { signal: AbortSignal.timeout(1000) });
    return tokens[0]?.proba ?? (await native.predictProba(["a"]));
  } catch (err) {
    if (err instanceof MissingDependencyError) return err.packages;
    throw err;
  }
}
// @ts-expect-error: the test-only importer override is not in the published declarations
export const internal = NativeProbe.load("d", { importModule: async () => ({}) });
`;

const TSCONFIG = {
  compilerOptions: { strict: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", noEmit: true },
  include: ["*.ts"],
};

let dir: string;

/** Links a package of the repo's node_modules into `into` (scoped names keep their scope folder). */
function linkPackage(into: string, name: string): void {
  const target = join(into, "node_modules", name);
  mkdirSync(dirname(target), { recursive: true });
  symlinkSync(join(ROOT, "node_modules", name), target, "dir");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lmprobe-consumer-"));
  const pkg = join(dir, "node_modules", "lmprobe-ts");
  await execa(process.execPath, [
    COMPILERS["TypeScript 5.9"],
    "-p",
    join(ROOT, "tsconfig.build.json"),
    "--outDir",
    join(pkg, "dist"),
  ]);
  await execa(process.execPath, [join(ROOT, "scripts", "bundle.mjs"), join(pkg, "dist")]); // the rest of `build`
  const manifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  writeFileSync(join(pkg, "package.json"), JSON.stringify(manifest));
  // Only what `npm install lmprobe-ts` brings: its dependencies, not the repo's devDependencies.
  for (const name of Object.keys(manifest.dependencies)) linkPackage(pkg, name);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG));
  writeFileSync(join(dir, "consumer.ts"), CONSUMER);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function compile(tsc: string, project: string): Promise<{ exitCode: number | undefined; output: string }> {
  const r = await execa(process.execPath, [tsc, "-p", project], { reject: false, all: true });
  return { exitCode: r.exitCode, output: r.all ?? "" };
}

describe("lmprobe-ts/native without its optional peer dependencies installed", () => {
  it("the main package and the subpath import; NativeProbe.load names what to npm install", async () => {
    const script = [
      'const main = await import("lmprobe-ts");',
      'const native = await import("lmprobe-ts/native");',
      `const unbundled = await import(${JSON.stringify(join(dir, "node_modules", "lmprobe-ts", "dist", "index.js"))});`,
      'const err = await native.NativeProbe.load("/nowhere").catch((e) => e);',
      "console.log(JSON.stringify({ probe: typeof main.Probe, code: err.code, packages: err.packages,",
      "  same: err instanceof main.MissingDependencyError, message: err.message,",
      "  exports: Object.keys(main).sort(), tscExports: Object.keys(unbundled).sort() }));",
    ].join("\n");
    writeFileSync(join(dir, "run-native.mjs"), script);
    const { stdout } = await execa(process.execPath, [join(dir, "run-native.mjs")], { cwd: dir });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      probe: "function",
      code: "MISSING_DEPENDENCY",
      packages: ["@huggingface/tokenizers", "onnxruntime-node"],
      same: true,
    });
    expect(out.message).toContain("npm install @huggingface/tokenizers onnxruntime-node");
    // The entry is the bundle (scripts/bundle.mjs): it exports everything tsc's dist/index.js does.
    expect(out.exports).toEqual(out.tscExports);
    expect(out.exports).toContain("ProbeEnsemble");
  });
});

describe.each(Object.entries(COMPILERS))("consumer compiled by %s (--strict, no skipLibCheck)", (_name, tsc) => {
  it("compiles the declarations, the result types and the expected errors", async () => {
    const { exitCode, output } = await compile(tsc, join(dir, "tsconfig.json"));
    expect(output).toBe("");
    expect(exitCode).toBe(0);
  });

  it("reports a misspelt option that is not marked as expected (the check is not vacuous)", async () => {
    const sub = join(dir, `negative-${tsc.includes("typescript7") ? 7 : 5}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, "tsconfig.json"), JSON.stringify(TSCONFIG));
    writeFileSync(
      join(sub, "bad.ts"),
      `import { Probe } from "lmprobe-ts";\nexport const p = new Probe({ model: "m", layrs: 2 });\n`,
    );
    symlinkSync(join(dir, "node_modules"), join(sub, "node_modules"), "dir");
    const { exitCode, output } = await compile(tsc, join(sub, "tsconfig.json"));
    expect(exitCode).not.toBe(0);
    expect(output).toMatch(/bad\.ts\(2,\d+\): error TS\d+/);
    expect(output).toContain("layrs");
  });
});
