/**
 * Builds a fixture pool and writes its wire bytes to stdout, each message as a
 * 4-byte little-endian length and the bytes. Run by `loadPool()` so that the
 * measuring process never creates the fixture messages itself (see there).
 *
 *   node bench/dist/src/pool-child.js exec|mixed COUNT
 */
import { FIXTURE_KINDS, encode, fixture, type FixtureKind } from "./fixtures.js";

const [kind, count] = process.argv.slice(2);
if (!FIXTURE_KINDS.includes(kind as FixtureKind) || !Number.isInteger(Number(count))) {
  process.stderr.write("usage: pool-child exec|mixed COUNT\n");
  process.exit(2);
}
const frames: Buffer[] = [];
for (const bytes of encode(fixture(kind as FixtureKind, Number(count)))) {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.byteLength);
  frames.push(len, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
process.stdout.write(Buffer.concat(frames));
