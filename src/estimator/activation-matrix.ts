/** Activations passed in by the user (`*FromActivations`): checked and brought to float32 rows. */
import { InvalidInputError } from "../errors.js";

/** A row-major matrix: `data` holds `shape[0] × shape[1]` values. */
export interface ActivationMatrix {
  data: Float32Array | Float64Array | number[];
  shape: [number, number];
}

/** Activations given in rows (`number[][]`) or a typed array with its shape. */
export type ActivationsInput = number[][] | ActivationMatrix;

/** Rows of finite float32 values, n × d. */
export interface Rows {
  data: Float32Array;
  n: number;
  d: number;
}

/** Checks shape and values (NaN or infinite values are refused before anything is fitted). */
export function toRows(x: ActivationsInput, argument = "X"): Rows {
  let data: Float32Array;
  let n: number;
  let d: number;
  if (Array.isArray(x)) {
    n = x.length;
    if (n === 0) throw new InvalidInputError(argument, `${argument} is empty: pass at least one row of activations.`);
    if (!x.every((row) => Array.isArray(row)))
      throw new InvalidInputError(
        argument,
        `${argument} must be number[][] (one array per sample) or { data, shape: [n, features] }.`,
      );
    d = x[0]!.length;
    data = new Float32Array(n * d);
    x.forEach((row, i) => {
      if (row.length !== d)
        throw new InvalidInputError(
          argument,
          `${argument}[${i}] has ${row.length} values, ${argument}[0] has ${d}: every row needs the same length.`,
        );
      data.set(row, i * d);
    });
  } else if (x && typeof x === "object" && "shape" in x && "data" in x) {
    [n, d] = x.shape;
    if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 1 || x.data.length !== n * d) {
      throw new InvalidInputError(
        argument,
        `${argument}.shape [${x.shape}] does not match ${x.data.length} values: ` +
          "shape must be [rows, features] with rows × features values.",
      );
    }
    data = x.data instanceof Float32Array ? x.data : Float32Array.from(x.data);
  } else {
    throw new InvalidInputError(
      argument,
      `${argument} must be number[][] (one array per sample) or { data, shape: [n, features] }.`,
    );
  }
  if (d < 1) throw new InvalidInputError(argument, `${argument} rows are empty.`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      throw new InvalidInputError(
        argument,
        `${argument} holds a non-finite value (${data[i]}) at row ${Math.floor(i / d)}, column ${i % d}: ` +
          "activations must be finite.",
      );
    }
  }
  return { data, n, d };
}
