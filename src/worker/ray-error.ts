/** The typed error of the Ray path (`PythonRuntime({ ray })`): code `RAY_CLUSTER`. */
import { LmprobeError } from "../errors.js";

/**
 * The Ray cluster could not be reached, was lost during a request, could not place the actors, or a
 * shard's actors kept dying (after the retries). What the TypeScript cache committed before stays.
 */
export class RayClusterError extends LmprobeError {
  /** The cluster address the worker used, when known. */
  readonly address: string | undefined;
  constructor(message: string, address?: string, options?: { cause?: unknown }) {
    super("RAY_CLUSTER", message, options);
    this.address = address;
  }
}
