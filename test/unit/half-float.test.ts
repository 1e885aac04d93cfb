import { describe, expect, it } from "vitest";
import { decodeValues, encodeValues } from "../../src/cache/half-float.js";

describe("half-precision cache storage", () => {
  const values = Float32Array.from([
    1.0,
    -2.5,
    3.14159,
    65504,
    70000,
    1e-5,
    6e-8,
    2e-8,
    -0,
    0.1,
    Number.POSITIVE_INFINITY,
    1 / 3,
  ]);

  it("rounds float32 to float16 exactly as numpy does", () => {
    // numpy: np.array(values, np.float32).astype(np.float16).view(np.uint16)
    const expected = [15360, 49408, 16968, 31743, 31744, 168, 1, 0, 32768, 11878, 31744, 13653];
    expect(Array.from(new Uint16Array(encodeValues(values, "float16").buffer.slice(0)))).toEqual(expected);
  });

  it("round-trips within the precision of each dtype", () => {
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 10);
    for (const [dtype, rel] of [
      ["float16", 1e-3],
      ["bfloat16", 8e-3],
    ] as const) {
      const back = decodeValues(encodeValues(data, dtype), dtype);
      expect(encodeValues(data, dtype).byteLength).toBe(2000);
      back.forEach((v, i) => expect(Math.abs(v - data[i]!)).toBeLessThanOrEqual(Math.abs(data[i]!) * rel + 1e-6));
    }
    expect(Array.from(decodeValues(encodeValues(data, "float32"), "float32"))).toEqual(Array.from(data));
  });
});
