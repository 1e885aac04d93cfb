/**
 * After an abort the worker could not honour (scikit-learn does not check for cancellation), or
 * an abort of a call on a stopped worker, the runtime kills that worker; the next call on the same
 * probe must transparently get a fresh worker, never WorkerExitedError (issue 11 item 10). So must
 * a call sent to a worker that died before it saw the call. Real worker, real scikit-learn.
 */
import { afterAll, describe, expect, it } from "vitest";
import { AbortError, Probe, PythonRuntime } from "../../src/index.js";

// A small grace: the abandoned fit is killed soon after the abort instead of 5 s later.
const runtime = new PythonRuntime({ cancelGraceMs: 300 });
afterAll(() => runtime.close());

/** n × d pseudo-random activations with random labels: an SVC with probabilities fits for long. */
function hardProblem(n: number, d: number, seed: number) {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return {
    x: { data: Float32Array.from({ length: n * d }, rnd), shape: [n, d] as [number, number] },
    y: Array.from({ length: n }, () => (rnd() > 0 ? 1 : 0)),
  };
}
const easy = {
  x: [
    [0, 1],
    [0, 2],
    [1, 0],
    [2, 0],
  ],
  y: [0, 0, 1, 1],
};

describe("the call after an abort the worker could not honour", () => {
  it("abort during a scikit-learn fit: the next call on the same probe succeeds on a fresh worker", async () => {
    const slow = new Probe({ layers: 0, classifier: "svm", randomState: 0, runtime });
    const hard = hardProblem(3000, 64, 1);
    const controller = new AbortController();
    const call = slow.fitFromActivations(hard.x, hard.y, {
      signal: controller.signal,
      onProgress: (e) => e.type === "fit" && e.phase === "start" && controller.abort(new Error("stop")),
    });
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AbortError);
    const before = await runtime.pid();
    // The very next call, at once: the old worker is still busy in scikit-learn.
    await slow.fitFromActivations(easy.x, easy.y);
    expect(
      await slow.predictFromActivations([
        [0, 3],
        [3, 0],
      ]),
    ).toEqual([0, 1]);
    expect(await runtime.pid()).not.toBe(before); // the stuck worker was replaced
  });

  it("abort of a call on a stopped worker: the next call succeeds on a fresh worker", async () => {
    const probe = new Probe({ layers: 0, randomState: 0, runtime });
    await probe.fitFromActivations(easy.x, easy.y);
    const pid = (await runtime.pid())!;
    process.kill(pid, "SIGSTOP");
    const controller = new AbortController();
    const call = probe.fitFromActivations(easy.x, easy.y, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(
      await call.then(
        () => undefined,
        (e: unknown) => e,
      ),
    ).toBeInstanceOf(AbortError);
    await probe.fitFromActivations(easy.x, easy.y);
    expect(await probe.predictFromActivations([[0, 3]])).toEqual([0]);
    expect(await runtime.pid()).not.toBe(pid);
  });

  it("a call sent to a worker that was killed while idle is served by a fresh worker", async () => {
    const probe = new Probe({ layers: 0, randomState: 0, runtime });
    await probe.fitFromActivations(easy.x, easy.y);
    const pid = (await runtime.pid())!;
    process.kill(pid, "SIGKILL");
    // Sent before Node has noticed the exit: the worker never saw it, so it is safe to resend.
    await probe.fitFromActivations(easy.x, easy.y);
    expect(await runtime.pid()).not.toBe(pid);
  });
});
