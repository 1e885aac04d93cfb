/**
 * Imports point one way (DESIGN.md §2): no file-level import cycle and no cycle between folders,
 * in src/ and in python_worker/lmprobe_worker/. Parsed from the source text, so this runs
 * without Python; dynamic imports count (an `import()` back up is still a cycle).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { cycles, folderGraph, pyGraph, reachable, tsGraph, type ImportGraph } from "../helpers/import-graph.js";

const ROOT = join(import.meta.dirname, "..", "..");
const show = (found: string[][]) => found.map((c) => c.join(" <-> "));

/** Writes files (path → content) into a fresh folder. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "import-graph-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("the import graph parser", () => {
  it("sees static, type-only, re-exported and dynamic TS imports, and ignores commented ones", () => {
    const root = tree({
      "src/a/one.ts": 'import { b } from "../b/two.js";\nexport type { T } from "./three.js";\n// import "./four.js"\n',
      "src/a/three.ts": "export type T = number;\n",
      "src/a/four.ts": "export {};\n",
      "src/b/two.ts":
        'export async function b() { return import("../a/one.js"); }\nimport type { T } from "../a/three.js";\n',
    });
    const graph = tsGraph(root);
    expect([...graph.get("src/a/one.ts")!].sort()).toEqual(["src/a/three.ts", "src/b/two.ts"]);
    expect(show(cycles(graph))).toEqual(["src/a/one.ts <-> src/b/two.ts"]);
    expect(show(cycles(folderGraph(graph, "src")))).toEqual(["src/a/ <-> src/b/"]);
    expect([...tsGraph(root, "src", true).get("src/b/two.ts")!]).toEqual(["src/a/one.ts"]); // type import left out
  });

  it("sees relative, absolute, function-level and parenthesised Python imports", () => {
    const root = tree({
      "pw/pkg/__init__.py": "",
      "pw/pkg/a.py": "from .b import (\n    x,\n    y,\n)\n",
      "pw/pkg/b.py": "def f():\n    from pkg.sub import c  # inside a function\n",
      "pw/pkg/sub/__init__.py": "",
      "pw/pkg/sub/c.py": "from .. import a\n",
      "pw/pkg/d.py": "# from .a import x\nimport pkg.b\n",
    });
    const graph = pyGraph(root, "pw/pkg", "pkg");
    expect([...graph.get("pw/pkg/d.py")!]).toEqual(["pw/pkg/b.py"]);
    expect(show(cycles(graph))).toEqual(["pw/pkg/a.py <-> pw/pkg/b.py <-> pw/pkg/sub/c.py"]);
    expect(show(cycles(folderGraph(graph, "pw/pkg")))).toEqual(["pw/pkg/a.py <-> pw/pkg/b.py <-> pw/pkg/sub/"]);
  });
});

describe("the project's imports point one way", () => {
  const ts: ImportGraph = tsGraph(ROOT);
  const py: ImportGraph = pyGraph(ROOT);

  it("parses the whole project", () => {
    expect(ts.size).toBeGreaterThan(40);
    expect(py.size).toBeGreaterThan(10);
    expect(ts.get("src/index.ts")?.size).toBeGreaterThan(5);
  });

  it("src/ has no file-level import cycle", () => {
    expect(show(cycles(ts))).toEqual([]);
  });

  it("src/ folders do not import each other (no folder-level cycle)", () => {
    expect(show(cycles(folderGraph(ts, "src")))).toEqual([]);
  });

  it("src/native/ is Python-free: it loads nothing of src/worker/ or src/env/, directly or through other files", () => {
    const runtime = tsGraph(ROOT, "src", true);
    const native = [...runtime.keys()].filter((f) => f.startsWith("src/native/"));
    expect(native).toContain("src/native/index.ts");
    // Not even a type import straight from src/native/ (the declarations would name the worker).
    for (const f of native)
      expect(
        [...ts.get(f)!].filter((t) => /^src\/(worker|env)\//.test(t)),
        f,
      ).toEqual([]);
    const loaded = new Set(native.flatMap((f) => [...reachable(runtime, f)]));
    expect([...loaded].filter((f) => /^src\/(worker|env)\//.test(f))).toEqual([]);
    expect(loaded.has("src/persist/probe-file.ts")).toBe(true); // it does reuse the probe loader
  });

  it("python_worker/lmprobe_worker has no file-level import cycle", () => {
    expect(show(cycles(py))).toEqual([]);
  });

  it("python_worker/lmprobe_worker packages do not import each other", () => {
    expect(show(cycles(folderGraph(py, "python_worker/lmprobe_worker")))).toEqual([]);
  });
});
