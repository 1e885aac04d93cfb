/** Starts test/fixtures/ndif_standin.py (a loopback NDIF) and drives its test-only controls. */
import { join } from "node:path";
import { createInterface } from "node:readline";
import { execa, type ResultPromise } from "execa";

export interface StandIn {
  host: string;
  port: number;
  control(settings: Record<string, unknown>): Promise<void>;
  stats(): Promise<{ submitted: number; completed: number; errors: number; keys_ok: number }>;
  stop(): Promise<void>;
}

export async function startStandIn(
  python: string,
  apiKey: string,
  extraEnv: Record<string, string> = {},
): Promise<StandIn> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    HF_HUB_OFFLINE: "1",
    HF_HUB_DISABLE_PROGRESS_BARS: "1",
    TRANSFORMERS_VERBOSITY: "error",
    ...extraEnv,
  };
  delete env.PYTHONPATH; // like NDIF: the worker's own code must arrive by value
  delete env.NDIF_API_KEY;
  const child: ResultPromise = execa(
    python,
    [join(import.meta.dirname, "..", "fixtures", "ndif_standin.py"), "--api-key", apiKey],
    {
      env,
      extendEnv: false,
      stdin: "pipe", // its EOF stops the server
      stdout: "pipe",
      stderr: "inherit",
      reject: false,
      cleanup: true,
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const msg = JSON.parse(line) as { event?: string; port?: number };
        if (msg.event === "listening" && msg.port) resolve(msg.port);
      } catch {
        // not ours
      }
    });
    void child.then((r) => reject(new Error(`the NDIF stand-in exited (${r.exitCode})`)));
  });
  const host = `http://127.0.0.1:${port}`;
  return {
    host,
    port,
    async control(settings) {
      const r = await fetch(`${host}/_control`, { method: "POST", body: JSON.stringify(settings) });
      if (!r.ok) throw new Error(`stand-in control failed: ${r.status}`);
    },
    async stats() {
      return (await (await fetch(`${host}/_stats`)).json()) as Awaited<ReturnType<StandIn["stats"]>>;
    },
    async stop() {
      child.stdin?.end();
      child.kill("SIGTERM");
      await child;
    },
  };
}
