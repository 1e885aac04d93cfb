/**
 * Builds the tiny random test models once per run (offline, deterministic) with the worker's
 * interpreter, and hands their paths to the tests through `inject("tinyModels")`.
 */
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import type { TestProject } from "vitest/node";
import { ensurePythonEnv } from "../../src/env/python-env.js";

export interface TinyModel {
  path: string;
  num_layers: number;
  hidden_size: number;
  padding_side: "left" | "right";
}

declare module "vitest" {
  export interface ProvidedContext {
    tinyModels: Record<"llama" | "gpt2" | "gpt_neox" | "llama_chat", TinyModel>;
    python: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const { python } = await ensurePythonEnv({ test: true });
  const dir = join(tmpdir(), "lmprobe-ts-tiny-models-v1");
  mkdirSync(dir, { recursive: true });
  const { stdout } = await execa(python, [join(import.meta.dirname, "..", "fixtures", "make_tiny_models.py"), dir]);
  project.provide("tinyModels", JSON.parse(stdout.trim().split("\n").pop() ?? "{}"));
  project.provide("python", python);
}
