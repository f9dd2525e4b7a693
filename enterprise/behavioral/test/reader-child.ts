/**
 * A reader in another process (as `hangar-ctl baseline show --db` is): reads
 * the file `reads` times while an agent writes it, one JSON line per read.
 * Not a test by itself; concurrency.test.ts runs it.
 */
import { listProviders } from "../src/index.js";

const [db, readsText] = process.argv.slice(2);
const reads = Number(readsText ?? "20");
for (let i = 0; i < reads; i++) {
  const started = Date.now();
  const providers = await listProviders(db ?? "");
  const p = providers.find((x) => x.provider === "notes");
  process.stdout.write(
    `${JSON.stringify({ events: p?.events ?? 0, egress: p?.items.egress ?? 0, waitedMs: Date.now() - started })}\n`,
  );
  await new Promise((r) => setTimeout(r, 15));
}
