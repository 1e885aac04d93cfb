/**
 * vitest globalSetup of the real-NDIF tier (project "ndif-real" in vitest.config.ts): installs
 * the server venv once, starts the real NDIF server on loopback, hands its URL to the tests
 * through `inject("ndifReal")`, and stops every process it started at teardown. A server that
 * cannot start fails the run with the failing step and its log (the tier never skips itself).
 */
import type { TestProject } from "vitest/node";
import { startNdifServer } from "./ndif-server.js";
import { RUN_MARK } from "./processes.js";

/** What the tests of the tier get. */
export interface NdifRealContext {
  host: string;
  logs: string;
  installMs: number;
  startMs: number;
}

declare module "vitest" {
  export interface ProvidedContext {
    ndifReal: NdifRealContext;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const say = (m: string) => console.info(`[ndif-real] ${m}`);
  const server = await startNdifServer({ log: say });
  project.provide("ndifReal", {
    host: server.host,
    logs: server.logs,
    installMs: server.installMs,
    startMs: server.startMs,
  });
  // If vitest exits before teardown runs (an interrupt), a synchronous last try: SIGKILL every
  // process of the run. A run killed outright is cleaned by the next run, from its record on disk.
  const lastTry = () => server.killNow();
  process.once("exit", lastTry);
  return async () => {
    process.off("exit", lastTry);
    const n = await server.stop();
    say(`stopped ${n} server processes (${RUN_MARK} marked or in the harness's groups), ${server.alive()} left`);
  };
}
