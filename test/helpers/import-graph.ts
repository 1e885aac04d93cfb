/**
 * The project's own import graph, parsed from source text (no TypeScript compiler, no Python):
 * relative imports of src/**\/*.ts (static, `import type`, re-exports and dynamic `import()`) and
 * the lmprobe_worker imports of python_worker/lmprobe_worker/**\/*.py (module level or inside
 * functions, `from . import x`, parenthesised lists). Used by test/unit/import-graph.test.ts.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";

/** File → the project files it imports (paths relative to the root, "/" separated). */
export type ImportGraph = Map<string, Set<string>>;

function walk(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "__pycache__" ? [] : walk(path, ext);
    return path.endsWith(ext) && !path.endsWith(".d.ts") ? [path] : [];
  });
}

const rel = (root: string, path: string) => relative(root, path).split(sep).join("/");

/** Drops comments (block, and `//` or `#` ones after whitespace) so examples in docs are not imports. */
function stripComments(source: string, line: "//" | "#"): string {
  const noBlocks = line === "//" ? source.replace(/\/\*[\s\S]*?\*\//g, "") : source;
  const marker = line === "//" ? "\\/\\/" : "#";
  return noBlocks.replace(new RegExp(`(^|\\s)${marker}.*$`, "gm"), "$1");
}

const TS_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

/** `import type { ... } from "x"` and `export type { ... } from "x"`: erased at run time. */
const TYPE_ONLY = /\b(?:import|export)\s+type\s+[^;]*?\bfrom\s*["'][^"']+["']/g;

/**
 * Relative imports of every src/**\/*.ts file. `runtimeOnly` leaves out type-only imports and
 * re-exports (what the compiled JavaScript does not load).
 */
export function tsGraph(root: string, folder = "src", runtimeOnly = false): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of walk(join(root, folder), ".ts")) {
    const out = new Set<string>();
    let source = stripComments(readFileSync(file, "utf8"), "//");
    if (runtimeOnly) source = source.replace(TYPE_ONLY, "");
    for (const m of source.matchAll(TS_IMPORT)) {
      const target = normalize(join(dirname(file), m[1]!)).replace(/\.js$/, "");
      const found = [`${target}.ts`, join(target, "index.ts")].find((p) => existsSync(p));
      if (found) out.add(rel(root, found));
    }
    graph.set(rel(root, file), out);
  }
  return graph;
}

/** `from X import names` (X relative or under `pkg`) and `import pkg.x`, at any indentation. */
const pyImport = (pkg: string) =>
  new RegExp(
    `^[ \\t]*(?:from[ \\t]+(\\.+[\\w.]*|${pkg}(?:\\.\\w+)*)[ \\t]+import[ \\t]+(\\([^)]*\\)|[^\\n#]+)` +
      `|import[ \\t]+(${pkg}(?:\\.\\w+)*))`,
    "gm",
  );

/**
 * lmprobe_worker imports of every python_worker/lmprobe_worker/**\/*.py file
 * (edges to packages' __init__ are left out).
 */
export function pyGraph(root: string, folder = "python_worker/lmprobe_worker", pkg = "lmprobe_worker"): ImportGraph {
  const base = join(root, folder);
  const modules = new Map<string, string>();
  for (const file of walk(base, ".py")) {
    const parts = relative(base, file).slice(0, -3).split(sep);
    if (parts.at(-1) === "__init__") parts.pop();
    modules.set([pkg, ...parts].join("."), file);
  }
  const graph: ImportGraph = new Map();
  for (const [name, file] of modules) {
    const isInit = file.endsWith("__init__.py");
    const packageName = isInit ? name : name.split(".").slice(0, -1).join(".");
    const out = new Set<string>();
    for (const m of stripComments(readFileSync(file, "utf8"), "#").matchAll(pyImport(pkg))) {
      let target = m[1] ?? m[3]!;
      if (target.startsWith(".")) {
        const dots = target.length - target.replace(/^\.+/, "").length;
        const parts = packageName.split(".");
        const rest = target.slice(dots);
        target = [...parts.slice(0, parts.length - dots + 1), ...(rest ? [rest] : [])].join(".");
      }
      const names = m[2]
        ? m[2]
            .replace(/[()]/g, "")
            .split(",")
            .map((n) => n.trim().split(/\s+/)[0]!)
            .filter(Boolean)
        : [];
      for (const candidate of [target, ...names.map((n) => `${target}.${n}`)]) {
        const hit = modules.get(candidate);
        if (hit && hit !== file && !hit.endsWith("__init__.py")) out.add(rel(root, hit));
      }
    }
    graph.set(rel(root, file), out);
  }
  return graph;
}

/** Every file `start` reaches through the graph (itself included). */
export function reachable(graph: ImportGraph, start: string): Set<string> {
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const f = stack.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    stack.push(...(graph.get(f) ?? []));
  }
  return seen;
}

/** Strongly connected components with more than one node (each one is an import cycle). */
export function cycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/**
 * The graph between folders: each file stands for the first folder below `base`
 * (files directly in `base`, such as src/index.ts, stand for themselves).
 */
export function folderGraph(graph: ImportGraph, base: string): ImportGraph {
  const folderOf = (file: string) => {
    const parts = file.slice(base.length + 1).split("/");
    return parts.length > 1 ? `${base}/${parts[0]}/` : file;
  };
  const out: ImportGraph = new Map();
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    const set = out.get(from) ?? new Set<string>();
    for (const t of targets) if (folderOf(t) !== from) set.add(folderOf(t));
    out.set(from, set);
  }
  return out;
}
