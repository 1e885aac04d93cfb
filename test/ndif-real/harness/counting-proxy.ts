/**
 * A transparent loopback HTTP proxy in front of the real NDIF API that counts job submissions
 * (POST /request): the tests' way to see "no job was submitted" without reading server internals.
 * Each test file starts its own, so files running side by side do not see each other's jobs.
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A started proxy. */
export interface CountingProxy {
  host: string;
  port: number;
  /** Jobs submitted through this proxy so far. */
  submitted(): number;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (e.g. http://127.0.0.1:23456) on a free loopback port. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  let submitted = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === "POST" && req.url?.startsWith("/request")) submitted++;
    const out = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on("error", (err) => {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ detail: `proxy: ${err.message}` }));
    });
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `http://127.0.0.1:${port}`,
    port,
    submitted: () => submitted,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
