/** Choosing and finding a daemon without Python: options, environment, discovery-file checks, CLI sizes. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvalidOptionError, PythonRuntime } from "../../src/index.js";
import { bytesOption, durationOption } from "../../src/cli/worker-command.js";
import { readDiscovery } from "../../src/worker/daemon-discovery.js";
import { daemonDir, wantsDaemon } from "../../src/worker/daemon-paths.js";
import { pidAlive } from "../../src/worker/pid-alive.js";

describe("daemon choice", () => {
  it("attaches only without an interpreter, environment or worker of the runtime's own, unless turned off", () => {
    expect(wantsDaemon({}, {})).toBe(true);
    expect(wantsDaemon({}, { LMPROBE_DAEMON: "off" })).toBe(false);
    expect(wantsDaemon({ daemon: "auto" }, { LMPROBE_DAEMON: "off" })).toBe(true); // the option wins
    expect(wantsDaemon({ daemon: "off" }, {})).toBe(false);
    for (const own of [{ pythonPath: "/usr/bin/python3" }, { env: {} }, { workerArgs: [] }, { connect: {} }])
      expect(wantsDaemon({ daemon: "auto", ...own }, {})).toBe(false);
    expect(daemonDir({ LMPROBE_HOME: "/x/home" })).toBe("/x/home/daemon");
    expect(daemonDir({ LMPROBE_HOME: "/x/home", LMPROBE_DAEMON_DIR: "/y/d" })).toBe("/y/d");
  });

  it("a daemon option other than auto/off is an InvalidOptionError naming it", () => {
    const bad = () => new PythonRuntime({ daemon: "on" as "auto" });
    expect(bad).toThrow(InvalidOptionError);
    expect(bad).toThrow(/daemon must be "auto" or "off"/);
  });

  it("a missing, unparsable or incomplete discovery file is not a daemon", () => {
    const dir = mkdtempSync(join(tmpdir(), "lmprobe-daemon-unit-"));
    expect(readDiscovery(dir)).toMatchObject({ ok: false, problem: "missing" });
    writeFileSync(join(dir, "daemon.json"), "{not json", { mode: 0o600 });
    expect(readDiscovery(dir)).toMatchObject({ ok: false, problem: "invalid" });
    writeFileSync(join(dir, "daemon.json"), JSON.stringify({ endpoint: "tcp://0.0.0.0:1", pid: 1 }), { mode: 0o600 });
    expect(readDiscovery(dir)).toMatchObject({ ok: false, problem: "invalid" });
  });

  it("pidAlive: this process is alive, an impossible pid is not", () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(2 ** 22 + 12345)).toBe(false);
    expect(pidAlive(-1)).toBe(false);
  });
});

describe("worker start sizes", () => {
  it("parses durations and sizes; bad ones name the option", () => {
    expect(durationOption("--idle-timeout", "30m")).toBe(1800);
    expect(durationOption("--idle-timeout", "2h")).toBe(7200);
    expect(durationOption("--idle-timeout", "90")).toBe(90);
    expect(durationOption("--idle-timeout", "0")).toBe(0);
    expect(() => durationOption("--idle-timeout", "soon")).toThrow(/--idle-timeout must be a duration/);
    expect(bytesOption("--model-memory", "8GiB")).toBe(8 * 2 ** 30);
    expect(bytesOption("--model-memory", "512MB")).toBe(512e6);
    expect(() => bytesOption("--model-memory", "0")).toThrow(InvalidOptionError);
    expect(() => bytesOption("--model-memory", "lots")).toThrow(/--model-memory must be a positive size/);
  });
});
