/** Option validation: every mistake fails synchronously in the constructor, naming the option. */
import { describe, expect, it } from "vitest";
import { InvalidOptionError, Probe } from "../../src/index.js";
import { parseProbeOptions } from "../../src/config/probe-options.js";

function optionError(options: unknown): InvalidOptionError {
  try {
    new Probe(options as never);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected InvalidOptionError");
}

describe("Probe options", () => {
  it("applies lmprobe's defaults", () => {
    const o = parseProbeOptions({ model: "/m" });
    expect(o).toMatchObject({ layers: "middle", pooling: "last_token", classifier: "logistic_regression", task: "classification", device: "auto", backend: "local", remote: false, batchSize: 8, dtype: "float32", normalizeLayers: true });
  });

  it.each([
    [{ model: "/m", bogus: 1 }, "bogus", "Known options"],
    [{ model: "/m", random_state: 1 }, "random_state", 'use "randomState"'],
    [{ model: "/m", batch_size: 4 }, "batch_size", 'use "batchSize"'],
    [{ model: "" }, "model", "model must name"],
    [{}, "model", "model"],
    [{ model: "/m", layers: 1.5 }, "layers", "layers"],
    [{ model: "/m", layers: "middel" }, "layers", "layers"],
    [{ model: "/m", layers: [] }, "layers", "at least one"],
    [{ model: "/m", pooling: "max_token" }, "pooling", "pooling"],
    [{ model: "/m", batchSize: 0 }, "batchSize", "batchSize"],
    [{ model: "/m", device: "gpu" }, "device", "cuda:N"],
    [{ model: "/m", dtype: "int8" }, "dtype", "dtype"],
    [{ model: "/m", classifier: "xgboost" }, "classifier", "classifier"],
    [{ model: "/m", remote: true }, "remote", "remote"],
    [{ model: "embedded:gpt5" }, "model", "smollm2-135m"],
    [{ model: "/m", runtime: {} }, "runtime", "runtime"],
  ])("rejects %j naming %s", (options, option, text) => {
    const err = optionError(options);
    expect(err.option).toBe(option);
    expect(err.code).toBe("INVALID_OPTION");
    expect(err.message).toContain(text);
  });
});
