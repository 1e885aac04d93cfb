// A Node process that serves a native probe and nothing else (bench/native.mjs runs it): loads the
// exported folder, answers 50 single-prompt calls and 4 calls of 32, and prints its peak RSS.
import { NativeProbe } from "../dist/native/index.js";

const words = "the a cat dog river market seven blue quietly runs under old bridge never sings".split(" ");
const prompt = (i) => Array.from({ length: 5 + (i % 36) }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(" ");
const probe = await NativeProbe.load(process.argv[2]);
const afterLoad = process.memoryUsage().rss;
for (let i = 0; i < 50; i++) await probe.predictProba([prompt(i)]);
for (let b = 0; b < 4; b++) await probe.predictProba(Array.from({ length: 32 }, (_, i) => prompt(100 + 32 * b + i)));
const mib = (bytes) => bytes / 2 ** 20;
console.log(
  JSON.stringify({
    afterLoadRssMiB: mib(afterLoad),
    endRssMiB: mib(process.memoryUsage().rss),
    peakRssMiB: process.resourceUsage().maxRSS / 1024, // maxRSS is in KiB
  }),
);
await probe.close();
