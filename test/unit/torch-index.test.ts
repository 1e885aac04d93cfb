/**
 * Which torch build the managed install asks pip for, per machine and LMPROBE_TORCH_INDEX: the
 * decision and the pip command lines are pure functions, checked here without network or pip.
 */
import { describe, expect, it } from "vitest";
import { InvalidOptionError } from "../../src/errors.js";
import {
  afterTorchFailure,
  chooseTorchIndex,
  detectMachine,
  indexUnreachable,
  pipInstallSteps,
  torchPin,
  torchNeedsReplacing,
  torchRequirement,
  type MachineFacts,
} from "../../src/env/torch-index.js";

const linuxCpu: MachineFacts = { platform: "linux", arch: "x64" };
const linuxGpu: MachineFacts = { platform: "linux", arch: "x64", nvidiaGpu: "/proc/driver/nvidia/version" };
const CPU_URL = "https://download.pytorch.org/whl/cpu";
const plan = (machine: MachineFacts, value?: string, extra: { constraint?: string; replaceTorch?: boolean } = {}) =>
  pipInstallSteps({
    choice: chooseTorchIndex(machine, value),
    requirements: ["/pkg/requirements.txt", "/pkg/requirements-test.txt"],
    torchRequirement: "torch>=2.4",
    pinFile: "/venv/.lmprobe-torch-pin.txt",
    ...extra,
  }).map((step) => step.args.slice(7)); // after "-I -m pip install --disable-pip-version-check --progress-bar off"

// pip output when the index host cannot be resolved (the shape pip 24-26 prints).
const OFFLINE = [
  "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) " +
    "after connection broken by " +
    "'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: " +
    "Failed to establish a new connection: " +
    "[Errno -3] Temporary failure in name resolution')': /whl/cpu/torch/",
  "ERROR: Could not find a version that satisfies the requirement torch>=2.4 (from versions: none)",
  "ERROR: No matching distribution found for torch>=2.4",
].join("\n");
const NO_WHEEL =
  "ERROR: Could not find a version that satisfies the requirement torch==9.9 " +
  "(from versions: 2.12.0+cpu, 2.13.0+cpu)\n" +
  "ERROR: No matching distribution found for torch==9.9";

describe("GPU detection (no torch, no network)", () => {
  it("finds the driver file, the device node, or nvidia-smi on PATH", () => {
    const only =
      (...paths: string[]) =>
      (p: string) =>
        paths.includes(p);
    expect(detectMachine({ PATH: "/usr/bin" }, only("/proc/driver/nvidia/version")).nvidiaGpu).toBe(
      "/proc/driver/nvidia/version",
    );
    expect(detectMachine({ PATH: "/usr/bin" }, only("/dev/nvidia0")).nvidiaGpu).toBe("/dev/nvidia0");
    const smi = process.platform === "win32" ? "nvidia-smi.exe" : "nvidia-smi";
    const sep = process.platform === "win32" ? ";" : ":";
    expect(detectMachine({ PATH: `/opt/x${sep}/usr/local/bin` }, only(`/usr/local/bin/${smi}`)).nvidiaGpu).toMatch(
      /nvidia-smi/,
    );
    expect(detectMachine({ PATH: "/usr/bin" }, only()).nvidiaGpu).toBeUndefined();
  });
});

describe("torch index choice", () => {
  it("Linux without an NVIDIA GPU: PyTorch's CPU index, and it says why", () => {
    const choice = chooseTorchIndex(linuxCpu, undefined);
    expect(choice).toMatchObject({ name: "cpu", url: CPU_URL, source: "auto" });
    expect(choice.reason).toContain("no NVIDIA GPU found");
    expect(chooseTorchIndex({ platform: "linux", arch: "arm64" }, "auto").url).toBe(CPU_URL);
  });

  it("Linux with a GPU, macOS and Windows: the default pip index", () => {
    expect(chooseTorchIndex(linuxGpu, undefined)).toMatchObject({ name: "pypi", source: "auto" });
    expect(chooseTorchIndex(linuxGpu, undefined).url).toBeUndefined();
    expect(chooseTorchIndex({ platform: "darwin", arch: "arm64" }, undefined).reason).toContain("macOS");
    expect(
      chooseTorchIndex({ platform: "win32", arch: "x64", nvidiaGpu: "C:\\nvidia-smi.exe" }, undefined).url,
    ).toBeUndefined();
  });

  it("LMPROBE_TORCH_INDEX overrides: cpu, a CUDA or ROCm tag, pypi, a URL", () => {
    expect(chooseTorchIndex(linuxGpu, "cpu")).toMatchObject({ url: CPU_URL, source: "LMPROBE_TORCH_INDEX" });
    expect(chooseTorchIndex(linuxCpu, "cu126").url).toBe("https://download.pytorch.org/whl/cu126");
    expect(chooseTorchIndex(linuxCpu, "rocm6.4").url).toBe("https://download.pytorch.org/whl/rocm6.4");
    expect(chooseTorchIndex(linuxCpu, "pypi")).toMatchObject({ name: "pypi", source: "LMPROBE_TORCH_INDEX" });
    expect(chooseTorchIndex(linuxCpu, "https://mirror.example/torch-cpu/").url).toBe(
      "https://mirror.example/torch-cpu",
    );
  });

  it("refuses anything else, naming the variable and the valid forms", () => {
    expect(() => chooseTorchIndex(linuxCpu, "cuda")).toThrow(InvalidOptionError);
    expect(() => chooseTorchIndex(linuxCpu, "cuda")).toThrow(/LMPROBE_TORCH_INDEX="cuda".*"cpu".*"cu126".*"pypi"/s);
  });
});

describe("pip command lines", () => {
  it("every pip step runs isolated (-I): a pip/ or json.py in the working directory is never imported", () => {
    for (const machine of [linuxCpu, linuxGpu]) {
      const steps = pipInstallSteps({
        choice: chooseTorchIndex(machine, undefined),
        requirements: ["/pkg/requirements.txt"],
        torchRequirement: "torch>=2.4",
        pinFile: "/venv/.lmprobe-torch-pin.txt",
      });
      for (const step of steps) expect(step.args.slice(0, 3)).toEqual(["-I", "-m", "pip"]);
    }
  });

  it("CPU box: torch alone from the CPU index, then the rest pinned to that torch", () => {
    expect(plan(linuxCpu, undefined, { constraint: "/c.txt" })).toEqual([
      ["--retries", "1", "--index-url", CPU_URL, "torch>=2.4", "-c", "/c.txt"],
      [
        "-r",
        "/pkg/requirements.txt",
        "-r",
        "/pkg/requirements-test.txt",
        "-c",
        "/c.txt",
        "-c",
        "/venv/.lmprobe-torch-pin.txt",
      ],
    ]);
    // --extra-index-url would let PyPI's CUDA build win on a higher version: never used.
    expect(plan(linuxCpu).flat()).not.toContain("--extra-index-url");
  });

  it("GPU box or pypi: one install from the default index, as before", () => {
    expect(plan(linuxGpu)).toEqual([["-r", "/pkg/requirements.txt", "-r", "/pkg/requirements-test.txt"]]);
    expect(plan(linuxCpu, "pypi")).toEqual([["-r", "/pkg/requirements.txt", "-r", "/pkg/requirements-test.txt"]]);
  });

  it("an index the user named keeps pip's own retries; a venv from another index gets torch replaced", () => {
    expect(plan(linuxGpu, "cu126")[0]).toEqual(["--index-url", "https://download.pytorch.org/whl/cu126", "torch>=2.4"]);
    expect(plan(linuxGpu, undefined, { replaceTorch: true })[0]).toEqual([
      "--upgrade",
      "--force-reinstall",
      "torch>=2.4",
    ]);
  });

  it("the pin keeps the installed build's local label; the torch line comes from requirements.txt", () => {
    expect(torchPin("2.13.0+cpu")).toBe("torch==2.13.0+cpu\n");
    expect(torchRequirement("# x\ntorchvision\ntorch>=2.4  # unpinned\nnumpy\n")).toBe("torch>=2.4");
    expect(torchRequirement("numpy\n")).toBe("torch");
  });
});

describe("an existing venv's torch", () => {
  it("is replaced for a named index it was not built from, kept when unrecorded and automatic", () => {
    const auto = chooseTorchIndex(linuxCpu, undefined);
    expect(torchNeedsReplacing(auto, "cpu")).toBe(false);
    expect(torchNeedsReplacing(auto, undefined)).toBe(false); // a venv from before the record: kept
    expect(torchNeedsReplacing(auto, "pypi")).toBe(true); // e.g. built by a fallback, CPU index now chosen
    expect(torchNeedsReplacing(chooseTorchIndex(linuxCpu, "cu126"), undefined)).toBe(true);
    expect(torchNeedsReplacing(chooseTorchIndex(linuxCpu, "cu126"), "cu126")).toBe(false);
  });
});

describe("when the torch index cannot be reached", () => {
  it("tells an unreachable index from a missing wheel", () => {
    expect(indexUnreachable(OFFLINE)).toBe(true);
    expect(indexUnreachable(NO_WHEEL)).toBe(false);
  });

  it("an automatic CPU index falls back to the default index and says what that costs", () => {
    const decision = afterTorchFailure(chooseTorchIndex(linuxCpu, undefined), OFFLINE);
    expect(decision.action).toBe("fallback");
    if (decision.action !== "fallback") return;
    expect(decision.choice).toMatchObject({ name: "pypi", source: "auto" });
    expect(decision.message).toMatch(/could not be reached.*CUDA build.*LMPROBE_TORCH_INDEX/s);
    // The fallback's plan is the plain default-index install.
    expect(
      pipInstallSteps({ choice: decision.choice, requirements: ["/r.txt"], torchRequirement: "torch", pinFile: "/p" }),
    ).toHaveLength(1);
  });

  it("an index the user named, or a missing wheel, stops with the fix", () => {
    const named = afterTorchFailure(chooseTorchIndex(linuxCpu, "cpu"), OFFLINE);
    expect(named).toMatchObject({ action: "fail" });
    expect(named.message).toMatch(/could not be reached.*LMPROBE_TORCH_INDEX=pypi/s);
    const missing = afterTorchFailure(chooseTorchIndex(linuxCpu, undefined), NO_WHEEL);
    expect(missing).toMatchObject({ action: "fail" });
    expect(missing.message).toMatch(/could not install torch from https:\/\/download.pytorch.org\/whl\/cpu/);
  });
});
