/** The `lmprobe` command, run as users run it: the published bin (the bundle) in a child process. */
import { execa } from "execa";
import { describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime } from "../../src/index.js";
import { CLASSIFIERS } from "../../src/config/probe-options.js";
import { HELP, MAIN_USAGE } from "../../src/cli/usage.js";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CATS, DOGS } from "../helpers/prompts.js";
import { freshDir } from "../helpers/cache.js";

const models = inject("tinyModels");
// The published bin (package.json: the bundle, scripts/bundle.mjs); the other CLI tests run dist/cli/main.js.
const { bin } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  bin: { lmprobe: string };
};
const cliPath = new URL(`../../${bin.lmprobe}`, import.meta.url).pathname;
const cli = (...args: string[]) => execa("node", [cliPath, ...args], { reject: false });
/** An interpreter that does not exist: a command that starts Python fails with PythonEnvError (exit 1). */
const noPython = { ...process.env, LMPROBE_PYTHON: "/nonexistent/python3" };
/** Every subcommand the CLI has help for: a new one is walked without editing this list. */
const SUBCOMMANDS = Object.keys(HELP);

describe("lmprobe CLI usage (no Python started)", () => {
  it.each(SUBCOMMANDS)("%s --help prints its usage to stdout and exits 0", async (command) => {
    const result = await execa("node", [cliPath, command, "--help"], { reject: false, env: noPython });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: lmprobe ${command}`));
    expect(result.stderr).toBe("");
    expect((await execa("node", [cliPath, "help", command], { reject: false, env: noPython })).stdout).toBe(
      result.stdout,
    );
  });

  it("every command lmprobe --help lists has its own help, and the reverse", () => {
    const listed = [...MAIN_USAGE.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]);
    expect(new Set(listed)).toEqual(new Set(SUBCOMMANDS));
    expect(SUBCOMMANDS).toContain("sweep");
  });

  it("lmprobe --help lists every command on stdout; no or an unknown command is a usage error on stderr", async () => {
    const help = await cli("--help");
    expect(help.exitCode).toBe(0);
    for (const command of SUBCOMMANDS) expect(help.stdout).toContain(`  ${command}`);
    for (const args of [[], ["bogus"]]) {
      const bad = await cli(...args);
      expect(bad.exitCode).toBe(2);
      expect(bad.stdout).toBe("");
      expect(bad.stderr).toContain("Usage: lmprobe <command>");
    }
  });

  it("train, predict and sweep --help document the JSONL format", async () => {
    for (const command of ["train", "predict", "sweep"]) {
      const { stdout } = await cli(command, "--help");
      expect(stdout).toContain('{"text": "The cat sat.", "label": 1}');
      expect(stdout).toMatch(/plain text, one prompt per line/);
    }
  });

  it("bad usage: usage or the reason on stderr, exit 2, nothing on stdout", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["train"], /Usage: lmprobe train OUT_DIR/],
      [["train", "out", "--model", "m"], /Usage: lmprobe train OUT_DIR/],
      [["predict"], /Usage: lmprobe predict PROBE_DIR/],
      [["export", "probe"], /Usage: lmprobe export PROBE_DIR OUT_DIR/],
      [["export", "probe", "out", "--bogus"], /Unknown option '--bogus'/],
      [["setup", "--bogus"], /Unknown option '--bogus'.*lmprobe setup --help/s],
      [["cache"], /no action given.*Usage: lmprobe cache/s],
      [["cache", "prune"], /--max-gb/],
      [
        ["train", "out", "--model", "m", "--data", "d.jsonl", "--batch-size", "0"],
        /--batch-size must be an integer of at least 1, got "0"/,
      ],
      [
        ["train", "out", "--model", "m", "--data", "d.jsonl", "--task", "ranking"],
        /--task "ranking" is not one of: classification, regression/,
      ],
      [["train", "out", "--model", "m", "--data", "missing.jsonl", "--layers", "sideways"], /layers/],
      [["sweep"], /Usage: lmprobe sweep --model M/],
      [["sweep", "--model", "m"], /Usage: lmprobe sweep --model M/],
      [["sweep", "--model", "m", "--data", "d.jsonl", "--positive", "p.txt"], /Usage: lmprobe sweep/],
      [["sweep", "--model", "m", "--data", "d.jsonl", "--test", "t.jsonl", "--split", "0.2"], /Usage: lmprobe sweep/],
      [["sweep", "--model", "m", "--data", "d.jsonl", "--split", "2"], /--split must be a fraction/],
      [["sweep", "--model", "m", "--data", "d.jsonl", "--layers", "auto"], /--layers auto selects layers/],
      [["sweep", "--model", "m", "--data", "d.jsonl", "--seed", "1.5"], /--seed must be an integer/],
      [["sweep", "--model", "m", "--data", "d.jsonl", "--classifier", "svc"], /--classifier "svc" is not one of/],
    ];
    for (const [args, stderr] of cases) {
      const result = await execa("node", [cliPath, ...args], { reject: false, env: noPython });
      expect(result.exitCode, args.join(" ")).toBe(2);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(stderr);
    }
  });

  it("--classifier errors list the valid names, before Python starts", async () => {
    const result = await execa(
      "node",
      [cliPath, "train", "out", "--model", "m", "--data", "d.jsonl", "--classifier", "svc"],
      { reject: false, env: noPython },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--classifier "svc" is not one of:');
    for (const name of CLASSIFIERS) expect(result.stderr).toContain(name);
  });

  it("demo --n abc fails before starting Python", async () => {
    for (const [flag, value] of [
      ["--n", "abc"],
      ["--n", "3"],
      ["--layers", "1.5"],
      ["--layers", "40"],
    ] as const) {
      const result = await execa("node", [cliPath, "demo", flag, value], { reject: false, env: noPython });
      expect(result.exitCode, `${flag} ${value}`).toBe(2); // a started Python would be PythonEnvError, exit 1
      expect(result.stderr).toContain(`${flag} must be an integer`);
      expect(result.stderr).not.toContain("PythonEnvError");
    }
  });

  it("train refuses a folder that is not a saved probe, even with --force, and leaves it alone", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "notes.txt"), "keep me");
    const result = await execa(
      "node",
      [cliPath, "train", dir, "--model", "m", "--positive", "p.txt", "--negative", "n.txt", "--force"],
      { reject: false, env: noPython },
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain("exists and is not a saved probe");
    expect(readFileSync(join(dir, "notes.txt"), "utf8")).toBe("keep me");
  });
});

describe("lmprobe CLI", () => {
  it("setup reuses an up-to-date environment (no pip run)", async () => {
    const result = await cli("setup");
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/ready: .*python/);
    expect(result.stderr).not.toMatch(/installing|Collecting/);
  });

  it("env --json reports the interpreter and package versions", async () => {
    const result = await cli("env", "--json");
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      executable: string;
      versions: Record<string, string>;
      protocol: number;
      torchIndex: { name: string; source: string; reason: string } | null;
    };
    expect(report.executable).toContain("python");
    // What setup chooses for torch on this machine, and why (the test machines have no NVIDIA GPU).
    if (!process.env.LMPROBE_PYTHON)
      expect(report.torchIndex).toMatchObject({
        source: "auto",
        reason: expect.stringMatching(/NVIDIA|macOS|default pip index/),
      });
    expect(Object.keys(report.versions)).toEqual(expect.arrayContaining(["torch", "transformers", "sklearn"]));
  });

  it("cache info, prune and clear", async () => {
    const dir = freshDir();
    await using runtime = new PythonRuntime();
    const probe = new Probe({ model: models.gpt2.path, layers: [0, 1], cacheDir: dir, runtime });
    await probe.warmup(CATS);
    await probe.close();
    const info = JSON.parse((await cli("cache", "info", "--json", "--dir", dir)).stdout) as {
      models: Array<{ model: string; entries: number; layers: number }>;
    };
    expect(info.models).toMatchObject([{ model: models.gpt2.path, entries: 20, layers: 2 }]);
    expect((await cli("cache", "prune", "--max-gb", "0", "--dir", dir)).stdout).toContain("removed 20");
    await probe.warmup(CATS);
    await probe.close();
    expect((await cli("cache", "clear", "--model", models.gpt2.path, "--dir", dir)).stdout).toContain("removed 20");
    expect((await cli("cache", "prune", "--dir", dir)).stderr).toContain("--max-gb");
    expect((await cli("bogus")).exitCode).toBe(2);
  });

  it("train saves a probe from a JSONL file; predict prints labels, probabilities and metrics", async () => {
    const dir = freshDir();
    const data = join(dir, "train.jsonl");
    writeFileSync(
      data,
      [...CATS.map((text) => ({ text, label: 1 })), ...DOGS.map((text) => ({ text, label: 0 }))]
        .map((r) => JSON.stringify(r))
        .join("\n"),
    );
    const env = { ...process.env, LMPROBE_CACHE_DIR: join(dir, "cache") };
    const trained = await execa(
      "node",
      [
        cliPath,
        "train",
        join(dir, "probe"),
        "--model",
        models.gpt2.path,
        "--layers",
        "0,2",
        "--classifier",
        "lda",
        "--data",
        data,
        "--random-state",
        "0",
      ],
      { reject: false, env },
    );
    expect(trained.exitCode, trained.stderr).toBe(0);
    expect(trained.stdout).toContain("layers 0,2, classes 0,1");
    const predicted = await execa("node", [cliPath, "predict", join(dir, "probe"), "--data", data, "--json"], {
      reject: false,
      env,
    });
    expect(predicted.exitCode, predicted.stderr).toBe(0);
    const report = JSON.parse(predicted.stdout) as {
      predictions: Array<{ prediction: number; proba: number[] }>;
      metrics: { accuracy: number; nEval: number };
    };
    expect(report.predictions).toHaveLength(20);
    expect(report.metrics.nEval).toBe(20);
    expect(report.metrics.accuracy).toBe(
      report.predictions.filter((p, i) => p.prediction === (i < 10 ? 1 : 0)).length / 20,
    );
    // A second train into the same folder is refused without --force, and the saved probe survives.
    const manifest = join(dir, "probe", "probe.json");
    const before = readFileSync(manifest, "utf8");
    const again = await execa(
      "node",
      [cliPath, "train", join(dir, "probe"), "--model", models.gpt2.path, "--layers", "1", "--data", data],
      { reject: false, env },
    );
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain("already holds a saved probe; pass --force");
    expect(readFileSync(manifest, "utf8")).toBe(before);
    const forced = await execa(
      "node",
      [cliPath, "train", join(dir, "probe"), "--model", models.gpt2.path, "--layers", "1", "--data", data, "--force"],
      { reject: false, env },
    );
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain("layers 1, classes 0,1");
    expect(statSync(manifest).isFile()).toBe(true);
  });
});
