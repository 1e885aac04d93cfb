/**
 * Served workers over loopback TCP + CURVE: the real `lmprobe worker serve` (CLI → Python worker,
 * ZAP authenticator), real zeromq.js clients, the real tiny models. Two served workers: one open
 * to any client with its key, one with an allow-list. Every one is stopped by pid in afterAll.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { execa } from "execa";
import { createServer } from "node:net";
import { join } from "node:path";
import { curveKeyPair } from "zeromq";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  InvalidOptionError,
  ModelNotFoundError,
  Probe,
  PythonRuntime,
  WorkerConnectError,
  WorkerExitedError,
  type LinearModelState,
  type RemoteConnectOptions,
} from "../../src/index.js";
import { ActivationCache } from "../../src/cache/activation-cache.js";
import { freshDir, manyPrompts } from "../helpers/cache.js";
import { CATS, DOGS, TEST_PROMPTS } from "../helpers/prompts.js";
import { serveWorker, type ServedWorker } from "../helpers/served-worker.js";

const model = inject("tinyModels").llama.path;
const home = freshDir("lmprobe-served-");
const listed = curveKeyPair();
const stranger = curveKeyPair();
let open: ServedWorker;
let guarded: ServedWorker;
const local = new PythonRuntime();
const clients: PythonRuntime[] = [];
/** Every error the tests saw, checked for secrets at the end. */
const seen: unknown[] = [];

function client(server: ServedWorker, keys: Partial<RemoteConnectOptions> = {}): PythonRuntime {
  const runtime = new PythonRuntime({
    connect: { endpoint: server.endpoint, serverPublicKey: server.serverPublicKey, ...keys },
  });
  clients.push(runtime);
  return runtime;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  const err = await promise.then(
    () => new Error("expected a failure"),
    (e: unknown) => e,
  );
  seen.push(err);
  return err;
}

const secretOf = (keyFolder: string) =>
  /secret-key = "(.{40})"/.exec(readFileSync(join(keyFolder, "server.key_secret"), "utf8"))![1]!;

beforeAll(async () => {
  const allow = join(home, "allow.txt");
  writeFileSync(allow, `# the listed client\n${listed.publicKey} laptop\n`);
  mkdirSync(join(home, "open"), { mode: 0o700 });
  // Settled one by one: if one fails to start, the other is still known to afterAll, which stops it.
  const [a, b] = await Promise.allSettled([
    serveWorker(["--keys", join(home, "open", "keys")]),
    serveWorker(["--keys", join(home, "guarded-keys"), "--allow", allow]),
  ]);
  if (a.status === "fulfilled") open = a.value;
  if (b.status === "fulfilled") guarded = b.value;
  for (const r of [a, b]) if (r.status === "rejected") throw r.reason;
});

afterAll(async () => {
  try {
    await Promise.allSettled([...clients, local].map((r) => r.close()));
  } finally {
    open?.kill();
    guarded?.kill();
  }
});

const options = { model, layers: "all", randomState: 0, cacheDir: null } as const;
const coefOf = (probe: Probe) => (probe.fittedState.model as LinearModelState).coef;

describe("a served worker over loopback TCP + CURVE", () => {
  it("two clients fit and predict through one served worker with exactly the local worker's numbers", async () => {
    const [a, b] = [client(open), client(open)];
    const [pa, pb, pl] = [a, b, local].map((runtime) => new Probe({ ...options, runtime }));
    await Promise.all([pa!.fit(CATS, DOGS), pb!.fit(CATS, DOGS), pl!.fit(CATS, DOGS)]);
    expect(await a.pid()).toBe(open.pid);
    expect(await b.pid()).toBe(open.pid);
    expect(await local.pid()).not.toBe(open.pid);
    // Bit for bit: the same activations crossed the wire, the same scikit-learn fitted them.
    expect(coefOf(pa!)).toStrictEqual(coefOf(pl!));
    expect(coefOf(pb!)).toStrictEqual(coefOf(pl!));
    expect(pa!.fittedState).toStrictEqual(pl!.fittedState);
    const [qa, qb, ql] = await Promise.all([pa, pb, pl].map((p) => p!.predictProba(TEST_PROMPTS)));
    expect(qa).toStrictEqual(ql);
    expect(qb).toStrictEqual(ql);
  });

  it("a client's close() leaves the served worker running for the others", async () => {
    const [a, b] = [client(open), client(open)];
    await Promise.all([a.ready(), b.ready()]);
    await a.close();
    expect(() => process.kill(open.pid, 0)).not.toThrow();
    const probe = new Probe({ ...options, layers: -1, runtime: b });
    await probe.fit(CATS, DOGS);
    expect(await probe.predict(TEST_PROMPTS)).toHaveLength(TEST_PROMPTS.length);
  });

  it("the activation cache stays on the client, keyed as the local worker keys the same weights", async () => {
    const cacheDir = freshDir();
    const remote = new Probe({ ...options, layers: 1, cacheDir, runtime: client(open) });
    await remote.fit(CATS, DOGS);
    const cache = new ActivationCache(cacheDir);
    const after = cache.info();
    expect(after).toHaveLength(1);
    expect(after[0]!.prompts).toBe(CATS.length + DOGS.length);
    // The local worker's probe on the same folder finds the same model entry (the server fingerprinted
    // its folder as TypeScript does) and adds nothing.
    await new Probe({ ...options, layers: 1, cacheDir, runtime: local }).fit(CATS, DOGS);
    const both = cache.info();
    expect(both.map((m) => [m.modelKey, m.entries, m.prompts, m.bytes])).toStrictEqual(
      after.map((m) => [m.modelKey, m.entries, m.prompts, m.bytes]),
    );
    cache.close();
  });

  it("models resolve on the server: a folder it lacks or an unknown embedded model is ModelNotFoundError", async () => {
    const runtime = client(open);
    const missing = await failure(new Probe({ model: "/nonexistent/lmprobe-model", runtime }).fit(CATS, DOGS));
    expect(missing).toBeInstanceOf(ModelNotFoundError);
    expect((missing as Error).message).toMatch(/not a folder on the worker's machine/);
    const embedded = await failure(runtime.call("model_resolve", { model: "embedded:no-such-model" }));
    expect(embedded).toBeInstanceOf(ModelNotFoundError);
    expect((embedded as ModelNotFoundError).model).toBe("embedded:no-such-model");
  });

  it("a wrong server key is refused at the handshake: WorkerConnectError (server-key), no hang", async () => {
    const runtime = client(open, {});
    const wrong = new PythonRuntime({ connect: { endpoint: open.endpoint, serverPublicKey: guarded.serverPublicKey } });
    clients.push(wrong, runtime);
    const err = await failure(wrong.ready());
    expect(err).toBeInstanceOf(WorkerConnectError);
    expect((err as WorkerConnectError).reason).toBe("server-key");
    expect((err as Error).message).toMatch(/lmprobe worker serve.*printed/);
  });

  it("the allow-list lets its client in and refuses others at the handshake, naming the key to add", async () => {
    const ok = client(guarded, { secretKey: listed.secretKey });
    expect((await ok.ready()).pid).toBe(guarded.pid);
    for (const runtime of [client(guarded, { secretKey: stranger.secretKey }), client(guarded)]) {
      const err = await failure(runtime.ready());
      expect(err).toBeInstanceOf(WorkerConnectError);
      expect((err as WorkerConnectError).reason).toBe("refused");
      expect((err as Error).message).toMatch(/--allow file/);
    }
    expect(((await failure(client(guarded, { secretKey: stranger.secretKey }).ready())) as Error).message).toContain(
      stranger.publicKey,
    );
  });

  it("nothing listening: WorkerConnectError (unreachable) naming `lmprobe worker serve`", async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const runtime = new PythonRuntime({
      connect: { endpoint: `tcp://127.0.0.1:${port}`, serverPublicKey: open.serverPublicKey },
    });
    clients.push(runtime);
    const err = await failure(runtime.ready());
    expect(err).toBeInstanceOf(WorkerConnectError);
    expect((err as WorkerConnectError).reason).toBe("unreachable");
    expect((err as Error).message).toMatch(/lmprobe worker serve --bind/);
  });

  it("a missing server key is an InvalidOptionError from the constructor, before anything connects", () => {
    let err: unknown;
    try {
      new PythonRuntime({ env: { LMPROBE_WORKER_CONNECT: open.endpoint } });
    } catch (e) {
      err = e;
    }
    seen.push(err);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe("LMPROBE_WORKER_SERVER_KEY");
  });

  it("no secret key appears in any error, in the CLI's output or in the worker's stderr", () => {
    const secrets = [
      listed.secretKey,
      stranger.secretKey,
      secretOf(join(home, "open", "keys")),
      secretOf(join(home, "guarded-keys")),
    ];
    const text = [
      ...seen.map((e) => (e instanceof Error ? `${e.message}\n${e.stack}\n${JSON.stringify(e)}` : String(e))),
      open.output(),
      guarded.output(),
    ].join("\n");
    expect(seen.length).toBeGreaterThanOrEqual(7);
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).toContain(open.serverPublicKey); // the public key is printed (and these checks see the output)
  });

  it("a server gone silent (SIGSTOP) is dropped by heartbeats: its call in flight gets WorkerExitedError", async () => {
    const runtime = client(guarded, { secretKey: listed.secretKey, heartbeatTimeoutMs: 1500 });
    const probe = new Probe({ ...options, layers: -1, batchSize: 1, runtime });
    let stopped = false;
    try {
      const err = await failure(
        probe.fit(
          manyPrompts(4000, "stop"),
          Array.from({ length: 4000 }, (_, i) => i % 2),
          {
            onProgress: (e) => {
              if (e.type === "extract" && !stopped) {
                stopped = true;
                process.kill(guarded.pid, "SIGSTOP");
              }
            },
          },
        ),
      );
      expect(stopped).toBe(true);
      expect(err).toBeInstanceOf(WorkerExitedError);
      expect((err as Error).message).toMatch(/no heartbeat/);
    } finally {
      if (stopped) process.kill(guarded.pid, "SIGCONT");
    }
  });

  it("killed -9 mid-call: the call fails with WorkerExitedError, the next one reports nothing listening", async () => {
    const runtime = client(open);
    const probe = new Probe({ ...options, layers: -1, batchSize: 1, runtime });
    let killed = false;
    const err = await failure(
      probe.fit(
        manyPrompts(4000, "kill"),
        Array.from({ length: 4000 }, (_, i) => i % 2),
        {
          onProgress: (e) => {
            if (e.type === "extract" && !killed) {
              killed = true;
              process.kill(open.pid, "SIGKILL");
            }
          },
        },
      ),
    );
    expect(killed).toBe(true);
    expect(err).toBeInstanceOf(WorkerExitedError);
    expect((err as Error).message).toMatch(/connection was lost.*served worker at tcp:/);
    // SIGKILL is asynchronous: until the process is gone its listening socket still accepts (and then
    // drops) a connection, which reads as a bad server key. The CLI ends (and reaps) its worker.
    await open.exited;
    const next = await failure(runtime.ready());
    expect(next).toBeInstanceOf(WorkerConnectError);
    expect((next as WorkerConnectError).reason).toBe("unreachable");
  });
});

describe("lmprobe worker serve refuses bad settings", () => {
  const cli = new URL("../../dist/cli/main.js", import.meta.url).pathname;
  const serve = (...args: string[]) =>
    execa("node", [cli, "worker", "serve", ...args], { reject: false, timeout: 120_000 });

  it("a bind that is not tcp://HOST:PORT, or an allow-list that does not exist: usage error before Python starts", async () => {
    for (const [args, message] of [
      [["--bind", "ipc:///tmp/w.sock"], /--bind must be tcp:\/\/HOST:PORT/],
      [[], /--bind tcp:\/\/HOST:PORT is required/],
      [["--bind", "tcp://127.0.0.1:0", "--allow", join(home, "nope.txt")], /--allow .*no such file/],
    ] as const) {
      const result = await serve(...args);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toMatch(message);
      expect(result.stdout).toBe("");
    }
  });

  it("a key folder others can enter is refused by the worker, naming chmod 700; nothing is served", async () => {
    const keys = join(home, "loose-keys");
    mkdirSync(keys);
    chmodSync(keys, 0o755);
    const result = await serve("--bind", "tcp://127.0.0.1:0", "--keys", keys);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/chmod 700/);
    expect(result.stdout).not.toMatch(/serving on/);
  });
});
