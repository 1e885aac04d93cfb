/**
 * Replacing a folder so that a crash at any instant (kill -9, power loss) leaves a complete
 * folder behind: the new content is written and flushed to a temporary sibling
 * `.<name>.tmp-<pid>-<hex>`, the old folder is moved aside to `<temp>.old`, the new one renamed in,
 * and only then is the old one deleted. Portable Node has no atomic exchange of two folders
 * (renameat2 RENAME_EXCHANGE), so one window remains where `<name>` is missing while both
 * complete copies exist; {@link recoverFolder} closes it by moving the old one back, and is run by
 * every load and save. Temporary siblings of dead processes are removed by the next save.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { alive } from "../internal/lock.js";

/** Points of {@link writeFolderAtomically} a test can stop at (to simulate a crash there). */
export type ReplaceStep = "temp-partial" | "temp-written" | "old-moved-aside" | "new-in-place" | "old-removed";

/** Hooks of {@link writeFolderAtomically}, for tests: `onStep` is called after each step. */
export interface ReplaceHooks {
  onStep?: (step: ReplaceStep) => void;
}

const prefixOf = (target: string) => `.${basename(target)}.tmp-`;

/** The writer pid in a temporary sibling's name `.<name>.tmp-<pid>-<hex>[.old]`. */
function ownerOf(entry: string, prefix: string): number | undefined {
  const pid = Number.parseInt(entry.slice(prefix.length), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function siblings(target: string): Promise<string[]> {
  const prefix = prefixOf(target);
  const entries = await readdir(dirname(target)).catch((): string[] => []);
  return entries.filter((e) => e.startsWith(prefix));
}

/** fsync of a folder, so a rename inside it survives power loss (not supported everywhere). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open folders; the renames are still atomic, only their durability is weaker.
  }
}

/**
 * If `target` is missing but a save that crashed mid-swap left the old folder as
 * `.<name>.tmp-*.old`, moves it back. Waits a little while the saving process is still alive (it
 * is between its two renames). Returns true when a folder was restored.
 */
export async function recoverFolder(target: string): Promise<boolean> {
  if (existsSync(target)) return false;
  const prefix = prefixOf(target);
  const olds = (await siblings(target)).filter((e) => e.endsWith(".old"));
  if (olds.length === 0) return false;
  for (let waited = 0; waited < 5000 && olds.some((e) => alive(ownerOf(e, prefix) ?? 0)); waited += 50) {
    await sleep(50);
    if (existsSync(target)) return false; // the live save finished its swap
  }
  // Several crashed swaps: the most recent old folder is the last complete probe.
  const dated = await Promise.all(
    olds.map(async (e) => ({ e, t: (await stat(join(dirname(target), e)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  dated.sort((a, b) => b.t - a.t);
  try {
    await rename(join(dirname(target), dated[0]!.e), target);
    await syncDir(dirname(target));
    return true;
  } catch {
    return existsSync(target); // another process restored it first
  }
}

/** Removes temporary siblings left by processes that are gone (after {@link recoverFolder}). */
export async function removeLeftovers(target: string): Promise<void> {
  const prefix = prefixOf(target);
  for (const entry of await siblings(target)) {
    const owner = ownerOf(entry, prefix);
    if (owner === undefined || owner === process.pid || alive(owner)) continue; // a save in progress
    if (entry.endsWith(".old") && !existsSync(target)) continue; // still the only copy
    await rm(join(dirname(target), entry), { recursive: true, force: true });
  }
}

/**
 * Writes `files` (name → content) as the folder `target`, replacing an existing one such that a
 * crash at any step leaves a complete folder (old or new) at `target`, or restorable by
 * {@link recoverFolder}.
 */
export async function writeFolderAtomically(
  target: string,
  files: Record<string, Uint8Array | string>,
  hooks: ReplaceHooks = {},
): Promise<void> {
  await replaceFolderWith(
    target,
    async (temp) => {
      const names = Object.keys(files);
      for (const [i, name] of names.entries()) {
        await writeFile(join(temp, name), files[name]!, { flush: true });
        if (i === 0 && names.length > 1) hooks.onStep?.("temp-partial");
      }
    },
    hooks,
  );
}

/**
 * {@link writeFolderAtomically} for content written by someone else (e.g. the worker writing an
 * ONNX graph too large to hold in memory): `fill` writes into the temporary sibling it is given,
 * then the folder is flushed and swapped in the same crash-safe way. Files `fill` writes must be
 * flushed by their writer; the folder itself is synced here. On failure the temporary is removed.
 */
export async function replaceFolderWith(
  target: string,
  fill: (temp: string) => Promise<void>,
  hooks: ReplaceHooks = {},
): Promise<void> {
  const step = (s: ReplaceStep) => hooks.onStep?.(s);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  await recoverFolder(target);
  await removeLeftovers(target);
  const temp = join(parent, `${prefixOf(target)}${process.pid}-${randomBytes(4).toString("hex")}`);
  const old = `${temp}.old`;
  let movedAside = false;
  await mkdir(temp);
  try {
    await fill(temp);
    await syncDir(temp);
    step("temp-written");
    if (existsSync(target)) {
      await rename(target, old);
      movedAside = true;
      step("old-moved-aside");
    }
    await rename(temp, target);
    await syncDir(parent);
    step("new-in-place");
    if (movedAside) {
      await rm(old, { recursive: true, force: true });
      step("old-removed");
    }
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    if (movedAside && !existsSync(target)) await rename(old, target).catch(() => undefined);
    throw err;
  }
}
