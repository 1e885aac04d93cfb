/**
 * Which torch build the managed venv gets, decided without network or torch: PyTorch's CPU wheel
 * index on a Linux machine without an NVIDIA GPU (PyPI's Linux torch wheel is the CUDA build and
 * pulls several GB of nvidia-* wheels), the default pip index elsewhere, or what
 * `LMPROBE_TORCH_INDEX` says. Everything here is a pure function of the machine facts and the
 * environment, so the tests can check every machine without one.
 */
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { InvalidOptionError } from "../errors.js";

/** PyTorch's wheel indexes: `${TORCH_WHEEL_ROOT}/cpu`, `/cu126`, `/rocm6.4`... */
export const TORCH_WHEEL_ROOT = "https://download.pytorch.org/whl";

/** What the torch decision depends on. */
export interface MachineFacts {
  platform: NodeJS.Platform;
  arch: string;
  /** What showed an NVIDIA GPU (a driver file, a device node or `nvidia-smi` on PATH), if anything did. */
  nvidiaGpu?: string;
}

/** The index torch is installed from. */
export interface TorchIndexChoice {
  /** Short name recorded in the venv's fingerprint and shown by `lmprobe env`: "cpu", "cu126", "pypi" or a URL. */
  name: string;
  /** `--index-url` for the torch install; absent: the default pip index (PyPI, or the one pip's config names). */
  url?: string;
  /** `auto` when decided from the machine, `LMPROBE_TORCH_INDEX` when the user named it. */
  source: "auto" | "LMPROBE_TORCH_INDEX";
  /** One sentence: what was chosen and why. */
  reason: string;
}

/** Files that exist only where the NVIDIA driver is installed (Linux). */
const NVIDIA_MARKERS = ["/proc/driver/nvidia/version", "/dev/nvidia0"];

/** Looks for an NVIDIA GPU the way the driver shows itself: no torch, no network, no subprocess. */
export function detectMachine(
  env: NodeJS.ProcessEnv = process.env,
  exists: (path: string) => boolean = existsSync,
): MachineFacts {
  const facts: MachineFacts = { platform: process.platform, arch: process.arch };
  const marker = NVIDIA_MARKERS.find((path) => exists(path));
  const smi = marker
    ? undefined
    : findOnPath(process.platform === "win32" ? "nvidia-smi.exe" : "nvidia-smi", env.PATH ?? "", exists);
  const evidence = marker ?? smi;
  return evidence ? { ...facts, nvidiaGpu: evidence } : facts;
}

function findOnPath(file: string, path: string, exists: (path: string) => boolean): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, file);
    if (exists(candidate)) return candidate;
  }
  return undefined;
}

const PYPI: Omit<TorchIndexChoice, "source" | "reason"> = { name: "pypi" };

/** Reads `LMPROBE_TORCH_INDEX` (unset or "auto": decide from the machine) and decides. */
export function chooseTorchIndex(machine: MachineFacts, value: string | undefined): TorchIndexChoice {
  const raw = value?.trim() ?? "";
  if (raw !== "" && raw !== "auto")
    return { ...parseTorchIndex(raw), source: "LMPROBE_TORCH_INDEX", reason: `LMPROBE_TORCH_INDEX=${raw}` };
  if (machine.platform !== "linux") {
    // PyPI's macOS wheels are CPU/MPS builds and its Windows wheel is the CPU build: neither pulls CUDA.
    const os =
      machine.platform === "darwin"
        ? "macOS (PyPI's wheels are CPU/MPS builds)"
        : `${machine.platform} (PyPI's torch wheel has no CUDA libraries here)`;
    return { ...PYPI, source: "auto", reason: `${os}: torch from the default pip index` };
  }
  if (machine.nvidiaGpu) {
    return {
      ...PYPI,
      source: "auto",
      reason:
        `NVIDIA GPU found (${machine.nvidiaGpu}): torch from the default pip index ` +
        "(PyPI's Linux wheel is the CUDA build)",
    };
  }
  return {
    name: "cpu",
    url: `${TORCH_WHEEL_ROOT}/cpu`,
    source: "auto",
    reason:
      `no NVIDIA GPU found (no ${NVIDIA_MARKERS.join(", ")}, no nvidia-smi on PATH): ` +
      "CPU-only torch from PyTorch's CPU index",
  };
}

/** "pypi"/"default", "cpu", "cu126", "rocm6.4" or an http(s)/file URL; anything else is refused. */
function parseTorchIndex(raw: string): Omit<TorchIndexChoice, "source" | "reason"> {
  if (raw === "pypi" || raw === "default") return PYPI;
  if (raw === "cpu" || /^cu\d{2,4}$/.test(raw) || /^rocm\d+(\.\d+)*$/.test(raw))
    return { name: raw, url: `${TORCH_WHEEL_ROOT}/${raw}` };
  if (/^(https?|file):\/\/\S+$/.test(raw)) return { name: raw, url: raw.replace(/\/+$/, "") };
  throw new InvalidOptionError(
    "LMPROBE_TORCH_INDEX",
    `LMPROBE_TORCH_INDEX=${JSON.stringify(raw)} is not a torch index. Use "auto" (the default: CPU-only torch ` +
      'on Linux without an NVIDIA GPU), "cpu", a CUDA tag such as "cu126", a ROCm tag such as "rocm6.4", ' +
      '"pypi" (the default pip index), or the URL of a pip index (https://... or file://...).',
  );
}

/**
 * Whether an existing venv's torch must be reinstalled for `choice` (pip keeps any installed
 * torch that satisfies the requirements): always when the user named an index the venv was not
 * built from, and for an automatic choice only when the venv records another index (a venv from
 * before the record existed keeps its torch).
 */
export function torchNeedsReplacing(choice: TorchIndexChoice, recorded: string | undefined): boolean {
  if (recorded === choice.name) return false;
  return choice.source === "LMPROBE_TORCH_INDEX" || recorded !== undefined;
}

/** The pip calls of one install, in order; each is `python -m pip install ...args`. */
export interface PipStep {
  /** What the step installs, for the progress line. */
  what: string;
  args: string[];
}

/** Inputs of {@link pipInstallSteps}. */
export interface InstallPlanInput {
  choice: TorchIndexChoice;
  /** Requirement files (runtime, then test extras). */
  requirements: string[];
  /** The torch requirement of requirements.txt, e.g. "torch>=2.4". */
  torchRequirement: string;
  /** `LMPROBE_PIP_CONSTRAINT`, applied to every step. */
  constraint?: string;
  /** File that will hold {@link torchPin} of the torch the first step installed. */
  pinFile: string;
  /** The venv holds a torch from another index: reinstall it (pip would keep any torch that fits). */
  replaceTorch?: boolean;
}

// -I: the caller's working directory is not on sys.path (a pip/ or json.py there must not run).
const PIP = ["-I", "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"];

/**
 * With a torch index, torch goes first, alone, with `--index-url` (so only torch and its own
 * small dependencies are looked up there, never the worker's other packages), and the rest is
 * installed with a constraint pinning that exact torch. pip keeps an installed torch that
 * satisfies the requirements, and the pin turns "some package wants another torch" into a
 * resolution error instead of a silent swap to PyPI's CUDA build. `--extra-index-url` is not
 * used: with two indexes pip takes the highest version from either, so a torch release that
 * reached PyPI before the CPU index (or a constraint the CPU index cannot meet) would bring the
 * CUDA build and its nvidia-* wheels back.
 */
export function pipInstallSteps(input: InstallPlanInput): PipStep[] {
  const constraint = input.constraint ? ["-c", input.constraint] : [];
  const reqs = input.requirements.flatMap((file) => ["-r", file]);
  const { url, source } = input.choice;
  if (!url && !input.replaceTorch)
    return [{ what: "the worker's dependencies", args: [...PIP, ...reqs, ...constraint] }];
  // An index picked automatically may be unreachable (offline, firewalled): do not let pip retry
  // each lookup five times before the fallback gets its turn.
  const index = url ? [...(source === "auto" ? ["--retries", "1"] : []), "--index-url", url] : [];
  const replace = input.replaceTorch ? ["--upgrade", "--force-reinstall"] : [];
  return [
    {
      what: `torch from ${url ?? "the default pip index"}`,
      args: [...PIP, ...replace, ...index, input.torchRequirement, ...constraint],
    },
    { what: "the worker's other dependencies", args: [...PIP, ...reqs, ...constraint, "-c", input.pinFile] },
  ];
}

/** Constraint line pinning the torch that the first step installed (local label included: "2.13.0+cpu"). */
export function torchPin(version: string): string {
  return `torch==${version}\n`;
}

/** The `torch...` line of a requirements file ("torch>=2.4"); plain "torch" when it has none. */
export function torchRequirement(requirementsText: string): string {
  const line = requirementsText
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .find((l) => /^torch(\s*[<>=!~;[]|$)/.test(l));
  return line ?? "torch";
}

/** What pip (urllib3, the resolver, the OS) prints when a host cannot be reached. */
const NETWORK_FAILURES = [
  "NewConnectionError",
  "Failed to establish a new connection",
  "Max retries exceeded",
  "Name or service not known",
  "Temporary failure in name resolution",
  "nodename nor servname",
  "getaddrinfo failed",
  "Network is unreachable",
  "Connection refused",
  "ConnectTimeoutError",
  "Read timed out",
  "ProxyError",
  "SSLError",
  "Could not fetch URL",
];

/** pip's output when an index could not be reached at all (DNS, refused, timed out, proxy, TLS). */
export function indexUnreachable(pipOutput: string): boolean {
  const notFound = /No matching distribution found|Could not find a version that satisfies/;
  return NETWORK_FAILURES.some((text) => pipOutput.includes(text)) && notFound.test(pipOutput);
}

/** What to do when the torch step failed: fall back to the default index, or stop with the fix. */
export type TorchFailureDecision =
  { action: "fallback"; choice: TorchIndexChoice; message: string } | { action: "fail"; message: string };

/**
 * An automatically chosen index that cannot be reached falls back to the default pip index, so
 * that a machine that reaches only PyPI or a mirror (a firewall, a CI box with local wheels)
 * still gets a working venv; the message says what that costs and how to avoid it. A failure
 * with an index the user named, or any other failure, stops with the fix.
 */
export function afterTorchFailure(choice: TorchIndexChoice, pipOutput: string): TorchFailureDecision {
  const unreachable = indexUnreachable(pipOutput);
  if (choice.source === "auto" && unreachable) {
    return {
      action: "fallback",
      choice: {
        ...PYPI,
        source: "auto",
        reason: `${choice.url} could not be reached: torch from the default pip index instead`,
      },
      message:
        `PyTorch's CPU index ${choice.url} could not be reached; installing torch from the default pip index ` +
        "instead. On Linux x86_64 PyPI's torch is the CUDA build (several GB of nvidia-* wheels) unless your " +
        "pip config offers a CPU wheel. To avoid it, set LMPROBE_TORCH_INDEX to a reachable CPU index (a mirror " +
        "URL), or pin a CPU wheel with LMPROBE_PIP_CONSTRAINT.",
    };
  }
  const where = choice.url ?? "the default pip index";
  const fix = unreachable
    ? `${where} could not be reached. Check the network/proxy, set LMPROBE_TORCH_INDEX to a reachable index ` +
      "URL, or LMPROBE_TORCH_INDEX=pypi for the default pip index."
    : `pip could not install torch from ${where} (see its output below). Set LMPROBE_TORCH_INDEX to another ` +
      'index ("cpu", "cu126", "pypi" or a URL), or install torch yourself and use LMPROBE_PYTHON.';
  return { action: "fail", message: fix };
}
