/** Every worker error code reaches TypeScript as its own LmprobeError subclass (no Python needed). */
import { describe, expect, it } from "vitest";
import * as sdk from "../../src/index.js";
import { errorFromWire, WORKER_ERROR_CODES, type WorkerErrorCode } from "../../src/protocol/error-from-wire.js";

const EXPECTED: Record<WorkerErrorCode, [new (...args: never[]) => sdk.LmprobeError, sdk.LmprobeErrorCode]> = {
  BAD_ACTIVATIONS: [sdk.BadActivationsError, "BAD_ACTIVATIONS"],
  BAD_REQUEST: [sdk.BadRequestError, "BAD_REQUEST"],
  CANCELLED: [sdk.AbortError, "ABORTED"],
  INVALID_INPUT: [sdk.InvalidInputError, "INVALID_INPUT"],
  MODEL_NOT_FOUND: [sdk.ModelNotFoundError, "MODEL_NOT_FOUND"],
  NOT_FITTED: [sdk.NotFittedError, "NOT_FITTED"],
  PYTHON_EXCEPTION: [sdk.PythonError, "PYTHON_EXCEPTION"],
  PYTHON_OOM: [sdk.PythonOomError, "PYTHON_OOM"],
  REMOTE: [sdk.RemoteError, "REMOTE"],
  REMOTE_AUTH: [sdk.RemoteError, "REMOTE_AUTH"],
  REMOTE_JOB: [sdk.RemoteJobError, "REMOTE_JOB"],
  REMOTE_REJECTED: [sdk.RemoteError, "REMOTE_REJECTED"],
  REMOTE_TIMEOUT: [sdk.RemoteTimeoutError, "REMOTE_TIMEOUT"],
  UNSUPPORTED_MODEL: [sdk.UnsupportedModelError, "UNSUPPORTED_MODEL"],
  RAY_CLUSTER: [sdk.RayClusterError, "RAY_CLUSTER"],
};

describe("errorFromWire", () => {
  it.each(WORKER_ERROR_CODES.map((c) => [c]))("%s maps to its class and code", (code) => {
    const body = {
      code,
      ename: "WorkerFailure",
      evalue: `boom ${code}`,
      traceback: ["Traceback\n", "line\n"],
      details: {},
    };
    const err = errorFromWire("fit", body);
    const [cls, tsCode] = EXPECTED[code];
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(sdk.LmprobeError);
    expect(err.code).toBe(tsCode);
    expect(err.name).toBe(err.constructor.name);
    if (code !== "CANCELLED") expect(err.message).toContain(`boom ${code}`);
  });

  it("keeps the worker's details: prompt index, remote job, timeout, traceback", () => {
    const input = errorFromWire("extract", {
      code: "INVALID_INPUT",
      evalue: "prompt 3 is empty",
      details: { argument: "prompts", index: 3 },
    });
    expect(input).toMatchObject({ argument: "prompts", index: 3 });
    const job = errorFromWire("extract", {
      code: "REMOTE_JOB",
      evalue: "failed",
      details: { job_id: "j1", remote_traceback: "TB", host: "http://h" },
    });
    expect(job).toMatchObject({ jobId: "j1", remoteTraceback: "TB", host: "http://h" });
    const late = errorFromWire("extract", { code: "REMOTE_TIMEOUT", evalue: "late", details: { timeout_s: 1.5 } });
    expect(late).toMatchObject({ timeoutMs: 1500 });
    const py = errorFromWire("fit", {
      code: "PYTHON_EXCEPTION",
      ename: "ValueError",
      evalue: "x",
      traceback: ["a\n", "b\n"],
    });
    expect(py).toMatchObject({ pythonType: "ValueError", pythonTraceback: "a\nb\n", method: "fit" });
  });

  it("a code from a newer worker stays a PythonError carrying that code; garbage fields do not throw", () => {
    const err = errorFromWire("fit", { code: "SOMETHING_NEW", evalue: 42, traceback: "not a list", details: [1] });
    expect(err).toBeInstanceOf(sdk.PythonError);
    expect((err as sdk.PythonError).workerCode).toBe("SOMETHING_NEW");
    expect(errorFromWire("fit", {})).toBeInstanceOf(sdk.PythonError);
  });
});

describe("error classes", () => {
  it("every exported error class reports its own name", () => {
    const classes = Object.entries(sdk).filter(
      ([, v]) => typeof v === "function" && (v === sdk.LmprobeError || v.prototype instanceof sdk.LmprobeError),
    );
    expect(classes.length).toBeGreaterThan(20);
    for (const [exported, cls] of classes) {
      const proto = (cls as { prototype: object }).prototype;
      // Construct without running constructors' argument logic: name comes from new.target.
      const err = Reflect.construct(sdk.LmprobeError, ["INVALID_INPUT", "m"], cls as never) as Error;
      expect(Object.getPrototypeOf(err)).toBe(proto);
      expect(err.name).toBe(exported);
      expect(Object.keys(err)).not.toContain("name");
    }
  });
});
