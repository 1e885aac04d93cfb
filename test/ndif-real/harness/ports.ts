/** Free loopback ports for the server's services, away from the kernel's ephemeral range. */
import { createServer } from "node:net";

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/**
 * `count` single ports and one block of `block` consecutive ports, all free on 127.0.0.1 now,
 * drawn at random from 20000-32000 (below Linux's ephemeral range, so outgoing connections do
 * not take them before the services bind).
 */
export async function freePorts(count: number, block: number): Promise<{ ports: number[]; blockStart: number }> {
  const taken = new Set<number>();
  const pick = () => 20000 + Math.floor(Math.random() * (12000 - block));
  let blockStart = 0;
  for (let tries = 0; tries < 50 && !blockStart; tries++) {
    const start = pick();
    const all = await Promise.all(Array.from({ length: block }, (_, i) => bindable(start + i)));
    if (all.every(Boolean)) blockStart = start;
  }
  if (!blockStart) throw new Error(`no ${block} consecutive free loopback ports found for Ray's workers`);
  for (let i = 0; i < block; i++) taken.add(blockStart + i);
  const ports: number[] = [];
  while (ports.length < count) {
    const p = pick();
    if (!taken.has(p) && (await bindable(p))) {
      taken.add(p);
      ports.push(p);
    }
  }
  return { ports, blockStart };
}
