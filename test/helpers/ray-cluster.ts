/**
 * A throwaway local Ray cluster for the Ray tests: `ray start --head --block` on loopback with 2
 * CPUs, a free port and its own temp dir, run as this process's child in its own process group,
 * and stopped by that pid (SIGTERM, then SIGKILL of the group). Never `ray stop`: it would also stop
 * other Ray clusters of this user on the machine (e.g. the NDIF stand-in's).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa, type ResultPromise } from "execa";

/** A running test cluster. */
export interface RayCluster {
  /** `127.0.0.1:PORT` of the head's GCS. */
  address: string;
  /** Stops every process of the cluster (idempotent). */
  stop(): Promise<void>;
  /**
   * Kills the cluster's processes at once (SIGKILL to its process group): a lost cluster. Its temp
   * dir stays until `stop()`, as on a real node whose head died (actors exit when they notice).
   */
  crash(): Promise<void>;
  /** Pids of the cluster's live extraction actors (`ray::ExtractActor` processes in its session). */
  actorPids(): Promise<number[]>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** Starts the head with the `ray` CLI next to `python`; rejects with its output if it does not come up. */
export async function startRayCluster(python: string, timeoutMs = 120_000): Promise<RayCluster> {
  const port = await freePort();
  const temp = mkdtempSync(join(tmpdir(), "lmprobe-ray-"));
  const head: ResultPromise = execa(
    join(dirname(python), "ray"),
    [
      "start",
      "--head",
      "--block",
      "--num-cpus=2",
      "--num-gpus=0",
      `--port=${port}`,
      "--node-ip-address=127.0.0.1",
      "--include-dashboard=false",
      "--disable-usage-stats",
      `--temp-dir=${temp}`,
    ],
    { all: true, reject: false, detached: true, stdin: "ignore", env: { RAY_USAGE_STATS_ENABLED: "0" } },
  );
  let output = "";
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      const pid = head.pid;
      if (pid !== undefined && head.exitCode === null) {
        try {
          process.kill(pid, "SIGTERM"); // `ray start --block` stops the processes it started
        } catch {
          /* already gone */
        }
        const gone = await Promise.race([
          head.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 15_000)),
        ]);
        try {
          if (!gone) process.kill(-pid, "SIGKILL"); // its process group, by the pid we started
        } catch {
          /* already gone */
        }
      }
      await head.catch(() => undefined);
      rmSync(temp, { recursive: true, force: true });
    })());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ray start timed out:\n${output}`)), timeoutMs);
    head.all?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ray runtime started")) {
        clearTimeout(timer);
        resolve();
      }
    });
    void head.then(() => {
      clearTimeout(timer);
      reject(new Error(`ray start exited (${head.exitCode}):\n${output}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  const crash = (): Promise<void> => {
    try {
      if (head.pid !== undefined) process.kill(-head.pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    return head.then(() => undefined);
  };
  // Actors get their own process group from the raylet but stay in the session `ray start` opened
  // (detached: setsid), so the session id tells this cluster's actors from other clusters' on the machine.
  const actorPids = async (): Promise<number[]> => {
    const { stdout } = await execa("ps", ["-eo", "pid=,sid=,args="]);
    return stdout
      .split("\n")
      .map((line) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line))
      .filter((m) => m !== null && Number(m[2]) === head.pid && m[3]!.startsWith("ray::ExtractActor"))
      .map((m) => Number(m![1]));
  };
  return { address: `127.0.0.1:${port}`, stop, crash, actorPids };
}
