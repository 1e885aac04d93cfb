/**
 * loadNativeDeps (src/native/optional-deps.ts) with a simulated importer (a stand-in for Node's
 * resolution; the real absence is tested in test/types/consumer.test.ts), and the real packages.
 */
import { describe, expect, it } from "vitest";
import { MissingDependencyError } from "../../src/errors.js";
import { loadNativeDeps } from "../../src/native/optional-deps.js";

const notFound = (name: string, from = "/app/node_modules/lmprobe-ts/dist/native/optional-deps.js") =>
  Object.assign(new Error(`Cannot find package '${name}' imported from ${from}`), {
    code: "ERR_MODULE_NOT_FOUND",
  });

describe("loadNativeDeps", () => {
  it("loads the real onnxruntime-node and @huggingface/tokenizers (dev dependencies here)", async () => {
    const deps = await loadNativeDeps();
    expect(typeof deps.ort.InferenceSession.create).toBe("function");
    expect(typeof deps.tokenizers.Tokenizer).toBe("function");
  });

  it("simulated: both missing are named together, with one npm install line", async () => {
    const err = await loadNativeDeps((name) => Promise.reject(notFound(name))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingDependencyError);
    expect(err).toMatchObject({
      packages: ["@huggingface/tokenizers", "onnxruntime-node"],
      feature: "lmprobe-ts/native",
    });
    expect((err as Error).message).toContain("Install with: npm install @huggingface/tokenizers onnxruntime-node");
  });

  it("simulated: a package that is installed but fails to load keeps its own error", async () => {
    const broken = new Error("libonnxruntime.so.1: cannot open shared object file");
    const err = await loadNativeDeps((name) =>
      name === "onnxruntime-node" ? Promise.reject(broken) : import(name),
    ).catch((e: unknown) => e);
    expect(err).toBe(broken);
    // A missing package *inside* it is not the package itself missing.
    const inner = await loadNativeDeps((name) =>
      name === "onnxruntime-node"
        ? Promise.reject(notFound("onnxruntime-common", "/app/node_modules/onnxruntime-node/dist/index.js"))
        : import(name),
    ).catch((e: unknown) => e);
    expect(inner).not.toBeInstanceOf(MissingDependencyError);
  });

  it("simulated: a CommonJS module's exports under `default` are used", async () => {
    const ort = { InferenceSession: { create: () => 1 }, Tensor: class {} };
    const deps = await loadNativeDeps((name) =>
      name === "onnxruntime-node" ? Promise.resolve({ default: ort }) : import(name),
    );
    expect(deps.ort).toBe(ort);
  });
});
