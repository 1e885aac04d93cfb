/**
 * An ensemble on disk: one Probe folder per member (`member-0`, ...; the Probe's own format, no
 * pickle) and `ensemble.json` (voting, weights, bootstrap seed, member folders), written last so
 * that a folder without it is never mistaken for a whole ensemble. lmprobe pickles the ensemble;
 * this format is ours.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { ProbeFileError } from "../errors.js";
import { Probe, type LoadOverrides } from "../probe/probe.js";
import { PythonRuntime } from "../worker/python-runtime.js";
import type { Voting } from "./ensemble-options.js";

const MANIFEST = "ensemble.json";
const FORMAT = "lmprobe-ts-ensemble";
const FORMAT_VERSION = 1;

const manifestSchema = z.strictObject({
  format: z.literal(FORMAT),
  formatVersion: z.literal(FORMAT_VERSION),
  voting: z.enum(["soft", "hard"]),
  weights: z.array(z.number().finite().nonnegative()).min(1),
  bootstrap: z.boolean(),
  seed: z.number().int().nonnegative().nullable(),
  members: z.array(z.string().regex(/^member-\d+$/)).min(1),
});

/** What `saveEnsemble` records besides the members. */
export interface EnsembleRecord {
  weights: number[];
  voting: Voting;
  bootstrap: boolean;
  seed: number | null;
}

/** Writes the members, then the manifest (through a temporary file and a rename). */
export async function saveEnsemble(path: string, probes: readonly Probe[], record: EnsembleRecord): Promise<void> {
  const target = resolve(path);
  await mkdir(target, { recursive: true });
  const members = probes.map((_, i) => `member-${i}`);
  for (const [i, p] of probes.entries()) await p.save(join(target, members[i]!));
  const manifest = { format: FORMAT, formatVersion: FORMAT_VERSION, ...record, members };
  const temp = join(target, `.${MANIFEST}.${process.pid}.tmp`);
  await writeFile(temp, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temp, join(target, MANIFEST));
}

/** A loaded ensemble's parts. */
export interface LoadedEnsemble extends EnsembleRecord {
  probes: Probe[];
  ownedRuntime: PythonRuntime | undefined;
}

/**
 * Reads the manifest (untrusted: parsed strictly) and loads every member onto one worker.
 * @throws {ProbeFileError} for a missing, malformed or inconsistent ensemble folder.
 */
export async function loadEnsemble(path: string, overrides: LoadOverrides): Promise<LoadedEnsemble> {
  const target = resolve(path);
  const file = join(target, MANIFEST);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new ProbeFileError(file, `No readable ensemble manifest at ${file}: save the ensemble with save().`, {
      cause: err,
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success)
    throw new ProbeFileError(file, `Invalid ensemble manifest ${file}:\n${z.prettifyError(parsed.error)}`);
  const m = parsed.data;
  if (m.weights.length !== m.members.length)
    throw new ProbeFileError(
      file,
      `Ensemble manifest ${file} has ${m.weights.length} weights for ${m.members.length} members.`,
    );
  const ownedRuntime = overrides.runtime === undefined ? new PythonRuntime() : undefined;
  const runtime = overrides.runtime ?? ownedRuntime!;
  const probes: Probe[] = [];
  try {
    for (const member of m.members) probes.push(await Probe.load(join(target, member), { ...overrides, runtime }));
  } catch (err) {
    await ownedRuntime?.close();
    throw err;
  }
  return { probes, ownedRuntime, weights: m.weights, voting: m.voting, bootstrap: m.bootstrap, seed: m.seed };
}
