import { describe, expect, it } from "vitest";
import { decodeMessage, encodeMessage, tensor, type Tensor } from "../../src/protocol/codec.js";
import { PROTOCOL_VERSION } from "../../src/protocol/version.js";
import { readFileSync } from "node:fs";

describe("wire codec", () => {
  it("round-trips nested bodies with tensors as separate aligned frames", () => {
    const x = tensor(Float32Array.from([1.5, -2, 3.25, 0]), [2, 2]);
    const frames = encodeMessage(
      { v: 1, id: "a", type: "fit" },
      { X: x, y: [1, 0], meta: { w: tensor(Float64Array.from([0.5]), [1]) }, skip: undefined },
    );
    expect(frames).toHaveLength(4);
    const { header, body } = decodeMessage(frames.map((f) => Buffer.from(f)));
    expect(header).toEqual({ v: 1, id: "a", type: "fit" });
    expect("skip" in body).toBe(false);
    const back = body.X as Tensor;
    expect(back.dtype).toBe("float32");
    expect(back.shape).toEqual([2, 2]);
    expect(Array.from(back.data as Float32Array)).toEqual([1.5, -2, 3.25, 0]);
    expect(Array.from((body.meta as Record<string, Tensor>).w!.data as Float64Array)).toEqual([0.5]);
  });

  it("checks that a tensor's shape matches its data", () => {
    expect(() => tensor(new Float32Array(3), [2, 2])).toThrow("needs 4 values");
  });

  it("speaks the same protocol version as the Python worker", () => {
    const py = readFileSync(new URL("../../python_worker/lmprobe_worker/protocol.py", import.meta.url), "utf8");
    expect(py).toContain(`PROTOCOL_VERSION = ${PROTOCOL_VERSION}\n`);
  });
});
