/**
 * The long-lived worker ("daemon", issue 13 item 1) and its faults, with the real worker, real
 * ZeroMQ and real child Node processes against dist/: `lmprobe worker start|status|stop`, two
 * clients at once, a client killed mid-call, the daemon killed mid-call, discovery files that must
 * not be trusted, a daemon of an older protocol, the idle timeout. Everything lives in a private
 * LMPROBE_DAEMON_DIR (never the user's daemon); every daemon started here is killed by pid in
 * afterAll. Waits are hang guards.
 */
import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Probe, PythonRuntime, WorkerExitedError } from "../../src/index.js";
import { readDiscovery } from "../../src/worker/daemon-discovery.js";
import { attachDaemon } from "../../src/worker/daemon-attach.js";
import { pidAlive } from "../../src/worker/pid-alive.js";
import { PROTOCOL_VERSION } from "../../src/protocol/version.js";
import { freshDir, manyPrompts } from "../helpers/cache.js";
import { CATS, DOGS } from "../helpers/prompts.js";

const models = inject("tinyModels");
const cliPath = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const DIST = JSON.stringify(new URL("../../dist/index.js", import.meta.url).href);
const GUARD_MS = 60_000;
const dir = freshDir("lmprobe-daemon-test-"); // mkdtemp: 0700, this user's
const discoveryPath = join(dir, "daemon.json");
const env = { ...process.env, LMPROBE_DAEMON_DIR: dir, LMPROBE_DAEMON: "auto" };
const daemonPids = new Set<number>();

const cli = (...args: string[]) => execa("node", [cliPath, "worker", ...args], { reject: false, env });
const discovered = (): number => {
  const found = readDiscovery(dir);
  if (!found.ok) throw new Error(found.message);
  daemonPids.add(found.info.pid);
  return found.info.pid;
};
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await check()); waited += 100) {
    if (waited > GUARD_MS) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}
async function status(): Promise<Record<string, unknown>> {
  const result = await cli("status", "--json");
  return JSON.parse(result.stdout) as Record<string, unknown>;
}
async function startDaemon(...args: string[]): Promise<number> {
  const result = await cli("start", ...args);
  expect(result.exitCode, result.stderr).toBe(0);
  return discovered();
}
/** A child Node process running `body` with the SDK imported; its stdout lines are JSON. */
const node = (body: string, extraEnv: Record<string, string> = {}) =>
  execa("node", ["--input-type=module", "-e", `import { Probe, PythonRuntime } from ${DIST};\n${body}`], {
    reject: false,
    all: true,
    env: { ...env, ...extraEnv },
  });

beforeAll(() => {
  process.env.LMPROBE_DAEMON_DIR = dir; // runtimes of this file with daemon: "auto" look here only
});

afterAll(async () => {
  await cli("stop");
  for (const pid of daemonPids) if (pidAlive(pid)) process.kill(pid, "SIGKILL");
});

describe("lmprobe worker (daemon)", () => {
  it("two `worker start` at once give one daemon, private discovery file, status reports it", async () => {
    const [a, b] = await Promise.all([cli("start", "--idle-timeout", "10m"), cli("start", "--idle-timeout", "10m")]);
    expect([a.exitCode, b.exitCode], a.stderr + b.stderr).toEqual([0, 0]);
    const pid = discovered();
    expect([a.stdout, b.stdout].filter((s) => s.startsWith("started")).length).toBe(1);
    expect([a.stdout, b.stdout].filter((s) => s.startsWith("already running")).length).toBe(1);
    for (const out of [a.stdout, b.stdout]) expect(out).toContain(`pid ${pid}`);
    expect(readFileSync(discoveryPath, "utf8")).toContain(`"pid": ${pid}`);
    const s = await status();
    expect(s).toMatchObject({ running: true, pid, models: [], idleTimeoutSeconds: 600 });
    expect(Number(s.rssBytes)).toBeGreaterThan(0);
  });

  it("two Node processes use the daemon at once, each with its own progress and results", async () => {
    const daemonPid = discovered();
    const script = (labelOfCats: number, k: number) => `
      const rt = new PythonRuntime();
      const info = await rt.ready();
      const probe = new Probe({ model: ${JSON.stringify(models.llama.path)}, layers: 1, runtime: rt, randomState: 0 });
      const prompts = [...${JSON.stringify(CATS)}.slice(0, ${k}), ...${JSON.stringify(DOGS)}.slice(0, ${k})];
      const labels = prompts.map((p) => (${JSON.stringify(CATS)}.includes(p) ? ${labelOfCats} : 1 - ${labelOfCats}));
      const totals = new Set();
      await probe.fit(prompts, labels, { onProgress: (e) => e.type === "extract" && totals.add(e.total) });
      const predictions = await probe.predict([${JSON.stringify(CATS[0])}, ${JSON.stringify(DOGS[0])}]);
      await rt.close();
      console.log(JSON.stringify({ pid: info.pid, totals: [...totals], predictions }));`;
    const [one, two] = await Promise.all([
      node(script(1, 4), { LMPROBE_CACHE_DIR: freshDir() }),
      node(script(0, 6), { LMPROBE_CACHE_DIR: freshDir() }),
    ]);
    expect([one.exitCode, two.exitCode], one.all + two.all).toEqual([0, 0]);
    const [r1, r2] = [one, two].map((r) => JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>);
    expect([r1!.pid, r2!.pid]).toEqual([daemonPid, daemonPid]);
    expect(r1!.predictions).toEqual([1, 0]); // each process got its own probe's answers
    expect(r2!.predictions).toEqual([0, 1]);
    expect(r1!.totals).toEqual([8]); // its own prompts' progress only
    expect(r2!.totals).toEqual([12]);
    expect((await status()).pid).toBe(daemonPid); // the clients' close() did not stop the shared daemon
  });

  it("a client killed -9 mid-call has its work cancelled; another client is served", async () => {
    const daemonPid = discovered();
    const victim = node(
      `
      const rt = new PythonRuntime();
      const probe = new Probe({ model: ${JSON.stringify(models.gpt2.path)}, layers: 0, runtime: rt });
      const prompts = Array.from({ length: 20000 }, (_, i) => "Victim prompt " + i + " about a cat.");
      await probe.warmup(prompts, {
        batchSize: 1, onProgress: (e) => e.type === "extract" && console.log("EXTRACTING"),
      });
      console.log("FINISHED");`,
      { LMPROBE_CACHE_DIR: freshDir() },
    );
    let output = "";
    victim.all!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    await until("the victim's extraction", () => output.includes("EXTRACTING"));
    victim.kill("SIGKILL");
    const killed = await victim;
    expect(killed.all).not.toContain("FINISHED");
    await until("the daemon to cancel the dead client's request", async () => (await status()).requestsInFlight === 0);
    expect(readFileSync(join(dir, "daemon.log"), "utf8")).toMatch(
      /a client disconnected with \d+ request\(s\) in flight: cancelled/,
    );
    await using rt = new PythonRuntime({ daemon: "auto" });
    const probe = new Probe({ model: models.llama.path, layers: 1, runtime: rt, randomState: 0, cacheDir: freshDir() });
    await probe.fit([...CATS.slice(0, 4), ...DOGS.slice(0, 4)], [1, 1, 1, 1, 0, 0, 0, 0]);
    expect(await rt.pid()).toBe(daemonPid);
  });

  it("the daemon killed -9 mid-call fails the call with WorkerExitedError; the next call falls back", async () => {
    const daemonPid = discovered();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    await using rt = new PythonRuntime({ daemon: "auto" });
    expect((await rt.ready()).pid).toBe(daemonPid);
    const probe = new Probe({ model: models.gpt2.path, layers: 0, runtime: rt, cacheDir: freshDir() });
    let killed = false;
    const call = probe.warmup(manyPrompts(20_000, "doomed"), {
      batchSize: 1,
      onProgress: (e) => {
        if (e.type === "extract" && !killed) {
          killed = true;
          process.kill(daemonPid, "SIGKILL");
        }
      },
    });
    await expect(call).rejects.toBeInstanceOf(WorkerExitedError);
    await until("the daemon to be gone", () => !pidAlive(daemonPid));
    expect(readDiscovery(dir)).toMatchObject({ ok: false, problem: "stale" }); // a SIGKILL leaves the file
    const small = new Probe({ model: models.llama.path, layers: 1, runtime: rt, randomState: 0, cacheDir: freshDir() });
    await small.fit([...CATS.slice(0, 4), ...DOGS.slice(0, 4)], [1, 1, 1, 1, 0, 0, 0, 0]);
    const fallback = await rt.pid();
    expect(fallback).toBeDefined();
    expect(fallback).not.toBe(daemonPid); // a child worker of its own
    process.off("warning", onWarning);
    expect(warnings.join("\n")).toContain(`(pid ${daemonPid}) is not running`);
  });

  it("discovery files of another user, with loose permissions or stale are ignored with a warning", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    const noop = () => undefined;
    const write = (content: object, mode = 0o600) => {
      writeFileSync(discoveryPath, JSON.stringify(content), { mode });
      chmodSync(discoveryPath, mode);
    };
    // A live pid (this test process) and a private socket folder: only the checked property is wrong.
    const base = { endpoint: `ipc://${dir}/w.sock`, pid: process.pid, uid: process.getuid!(), protocol: 1 };
    write({ ...base, uid: base.uid + 4242 });
    expect(await attachDaemon({ daemon: "auto" }, undefined, noop)).toBeUndefined();
    write(base, 0o644);
    expect(await attachDaemon({ daemon: "auto" }, undefined, noop)).toBeUndefined();
    write({ ...base, pid: 2 ** 22 + 12345 });
    expect(await attachDaemon({ daemon: "auto" }, undefined, noop)).toBeUndefined();
    const expected = [`names user ${base.uid + 4242}`, "has mode 0644", `(pid ${2 ** 22 + 12345}) is not running`];
    if (process.getuid!() === 0) {
      write(base);
      chownSync(discoveryPath, 4242, 4242); // a file another user planted
      expect(await attachDaemon({ daemon: "auto" }, undefined, noop)).toBeUndefined();
      expected.push("belongs to user 4242");
    }
    await sleep(50); // process.emitWarning emits on a later tick
    process.off("warning", onWarning);
    for (const text of expected)
      expect(
        warnings.some((w) => w.includes(text)),
        `${text} in ${warnings.join("\n")}`,
      ).toBe(true);
    expect(warnings.every((w) => w.includes("using a child worker instead"))).toBe(true);
    // A runtime with such a file still works: a child worker of its own.
    write(base, 0o666);
    await using rt = new PythonRuntime({ daemon: "auto" });
    expect((await rt.ready()).pid).not.toBe(process.pid);
  });

  it("`worker start` recovers a stale start lock; `worker stop` stops the daemon; status then exits 1", async () => {
    writeFileSync(join(dir, "daemon.lock"), String(2 ** 22 + 12345)); // left by a start killed midway (pid > pid_max)
    const pid = await startDaemon("--idle-timeout", "10m");
    expect(existsSync(join(dir, "daemon.lock"))).toBe(false); // released after the start
    await using attached = new PythonRuntime({ daemon: "auto" });
    expect((await attached.ready()).pid).toBe(pid);
    const stop = await cli("stop");
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout).toBe(`stopped: pid ${pid}`);
    expect(pidAlive(pid)).toBe(false);
    expect(existsSync(discoveryPath)).toBe(false);
    const after = await cli("status");
    expect(after.exitCode).toBe(1);
    expect(after.stdout).toMatch(/^no daemon running/);
    // A runtime attached while idle: its next call finds the daemon gone and is served by a child worker.
    const probe = new Probe({ model: models.llama.path, layers: 1, runtime: attached, cacheDir: freshDir() });
    await probe.fit([...CATS.slice(0, 4), ...DOGS.slice(0, 4)], [1, 1, 1, 1, 0, 0, 0, 0]);
    expect(await attached.pid()).not.toBe(pid);
  });

  it("a daemon of an older protocol: `worker start` replaces it, `worker stop` stops it", async () => {
    // A real daemon whose discovery file says it speaks an older protocol, as one started before an upgrade.
    const olden = () => {
      const content = JSON.parse(readFileSync(discoveryPath, "utf8")) as Record<string, unknown>;
      writeFileSync(discoveryPath, JSON.stringify({ ...content, protocol: PROTOCOL_VERSION - 1 }));
    };
    const old = await startDaemon("--idle-timeout", "10m");
    olden();
    const replaced = await cli("start", "--idle-timeout", "10m");
    expect(replaced.exitCode, replaced.stderr).toBe(0);
    expect(replaced.stdout).toMatch(/^started: pid \d+/);
    const fresh = discovered();
    expect(fresh).not.toBe(old);
    await until("the older daemon to exit", () => !pidAlive(old));
    olden();
    const stopped = await cli("stop");
    expect(stopped.stdout).toBe(`stopped: pid ${fresh}`);
    await until("the stopped daemon to exit", () => !pidAlive(fresh));
    // A live pid in such a file that no worker answers for (a pid reused since) is never signalled.
    const bystander = execa("sleep", ["600"], { reject: false });
    const endpoint = `ipc://${dir}/nobody/w.sock`;
    const file = { endpoint, pid: bystander.pid, uid: process.getuid!(), protocol: PROTOCOL_VERSION - 1 };
    writeFileSync(discoveryPath, JSON.stringify(file), { mode: 0o600 });
    try {
      const left = await cli("stop");
      expect(left.stdout).toContain(`pid ${bystander.pid} was left alone`);
      expect(pidAlive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill("SIGKILL");
      await bystander;
    }
  });

  it("an idle daemon exits by itself after --idle-timeout", async () => {
    const pid = await startDaemon("--idle-timeout", "2s");
    await until("the idle daemon to exit", () => !pidAlive(pid));
    expect(existsSync(discoveryPath)).toBe(false);
    expect(readFileSync(join(dir, "daemon.log"), "utf8")).toContain("the daemon exits");
  });

  it("usage errors name the option", async () => {
    const bad = await cli("start", "--idle-timeout", "soon");
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("--idle-timeout must be a duration");
    const help = await cli("start", "--help");
    expect(help.stdout).toMatch(/^Usage: lmprobe worker start/);
  });
});
