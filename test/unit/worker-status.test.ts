/**
 * The worker's status reply and serve announcement in camelCase (src/protocol/worker-status.ts):
 * every field the worker sends is carried over, and a malformed one becomes a neutral value instead
 * of an exception (the CLI prints these for people). The real replies: daemon.test.ts, remote-worker.test.ts.
 */
import { describe, expect, it } from "vitest";
import { serveAnnouncementFromWire, workerStatusFromWire } from "../../src/protocol/worker-status.js";

describe("workerStatusFromWire", () => {
  it("carries every field of the daemon's status reply", () => {
    const wire = {
      pid: 42,
      endpoint: "ipc:///tmp/x/w.sock",
      protocol: 7,
      started_at: 1700000000.5,
      uptime_s: 12.5,
      clients: 2,
      requests_in_flight: 1,
      requests_served: 9,
      models: [["/m", "float32", "cpu"]],
      model_bytes: 1024,
      model_memory_budget: 4096,
      rss_bytes: 2048,
      max_rss_bytes: 3072,
      idle_timeout_s: 600,
      ray: { address: "127.0.0.1:6379", workers: 2, resources: { CPU: 1 }, threads: 2 },
    };
    expect(workerStatusFromWire(wire)).toEqual({
      pid: 42,
      endpoint: "ipc:///tmp/x/w.sock",
      protocol: 7,
      startedAt: 1700000000.5,
      uptimeSeconds: 12.5,
      clients: 2,
      requestsInFlight: 1,
      requestsServed: 9,
      models: [["/m", "float32", "cpu"]],
      modelBytes: 1024,
      modelMemoryBudget: 4096,
      rssBytes: 2048,
      maxRssBytes: 3072,
      idleTimeoutSeconds: 600,
      ray: { address: "127.0.0.1:6379", workers: 2, resources: { CPU: 1 }, threads: 2 },
    });
  });

  it("turns malformed or missing fields into neutral values", () => {
    const s = workerStatusFromWire({ pid: "42", models: "none", ray: { workers: 2 }, uptime_s: Number.NaN });
    expect(s).toMatchObject({ pid: 0, models: [], ray: null, uptimeSeconds: 0, endpoint: "" });
    expect(workerStatusFromWire(null).pid).toBe(0);
  });
});

describe("serveAnnouncementFromWire", () => {
  it("reads the listening line and ignores every other line", () => {
    const line = JSON.stringify({
      event: "listening",
      endpoint: "tcp://127.0.0.1:5555",
      pid: 7,
      server_public_key: "k".repeat(40),
      key_folder: "/keys",
      keys_created: true,
      allow_list: null,
      ray: null,
    });
    expect(serveAnnouncementFromWire(line)).toEqual({
      endpoint: "tcp://127.0.0.1:5555",
      pid: 7,
      serverPublicKey: "k".repeat(40),
      keyFolder: "/keys",
      keysCreated: true,
      allowList: null,
      ray: null,
    });
    expect(serveAnnouncementFromWire("INFO loading")).toBeUndefined();
    expect(serveAnnouncementFromWire(JSON.stringify({ event: "progress" }))).toBeUndefined();
  });
});
