/**
 * Headless Chromium for the report's browser test: Debian's `chromium` package (installed with
 * apt-get when missing and the test runs as root), driven by puppeteer-core. The browser process
 * is killed by its pid whatever happens, so a failed test leaves no Chromium behind.
 */
import { execa } from "execa";
import puppeteer, { type Browser } from "puppeteer-core";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome"];

async function which(name: string): Promise<string | undefined> {
  const found = await execa("sh", ["-c", `command -v ${name}`], { reject: false });
  return found.exitCode === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

async function findBrowser(): Promise<string | undefined> {
  if (process.env.LMPROBE_CHROMIUM) return process.env.LMPROBE_CHROMIUM;
  for (const name of CANDIDATES) {
    const path = await which(name);
    if (path) return path;
  }
  return undefined;
}

/**
 * The Chromium binary, installing Debian's package once when it is missing. Returns the reason
 * instead when there is no way to get one (no apt-get, not root, or the install failed).
 */
export async function ensureChromium(): Promise<{ path: string } | { missing: string }> {
  const known = await findBrowser();
  if (known) return { path: known };
  if (!(await which("apt-get")))
    return { missing: "no chromium on PATH and no apt-get to install it (set LMPROBE_CHROMIUM=/path/to/chromium)" };
  if (process.getuid?.() !== 0)
    return { missing: "no chromium on PATH; install it with `sudo apt-get install -y chromium`" };
  console.info("browser test: installing Debian's chromium package (once)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let install = await execa("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], {
    reject: false,
    env,
  });
  if (install.exitCode !== 0) {
    await execa("apt-get", ["update"], { reject: false, env });
    install = await execa("apt-get", ["install", "-y", "--no-install-recommends", "chromium"], { reject: false, env });
  }
  const path = await findBrowser();
  if (path) return { path };
  return { missing: `apt-get install chromium failed (exit ${install.exitCode}): ${install.stderr.slice(-400)}` };
}

/** Pids of browsers started and not yet killed: {@link killBrowsers} ends them (a timed-out test's too). */
const running = new Set<number>();

/** Kills every browser {@link withBrowser} started that is still running (for afterAll). */
export function killBrowsers(): void {
  for (const pid of running) kill(pid);
}

function kill(pid: number): void {
  running.delete(pid);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone: close() ended it
  }
}

/** Runs `fn` with a headless browser, then closes it and kills its process by pid (even on failure). */
export async function withBrowser<T>(executablePath: string, fn: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // Root in a container: Chromium's sandbox needs user namespaces it may not have.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  const pid = browser.process()?.pid;
  if (pid !== undefined) running.add(pid);
  try {
    return await fn(browser);
  } finally {
    await browser.close().catch(() => undefined);
    if (pid !== undefined) kill(pid);
  }
}
