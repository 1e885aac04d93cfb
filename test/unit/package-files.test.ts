/** What `npm pack` puts in the published package: the license travels with the code. */
import { execa } from "execa";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;

describe("published package", () => {
  it("ships an MIT LICENSE matching package.json", async () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as { license: string };
    expect(pkg.license).toBe("MIT");
    expect(readFileSync(`${root}LICENSE`, "utf8")).toMatch(/^MIT License\n/);
    // --ignore-scripts: list the files without running the build (prepare).
    const { stdout } = await execa("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root });
    const [report] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    expect(report!.files.map((f) => f.path)).toContain("LICENSE");
  });
});
