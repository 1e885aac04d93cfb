/**
 * Root of the installed package (holds package.json and python_worker/), from src/ or dist/. Kept
 * out of src/env/ so Python-free code (the probe file loader, lmprobe-ts/native) can read it.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Root of the installed package, from src/ or dist/ (both sit one level below it). */
export const PACKAGE_ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
