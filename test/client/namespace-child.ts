/**
 * Child process for namespace-crash.test.ts: opens namespace "crash" in the LMDB record store at
 * argv[2] with a KMS over HTTP (argv[3]), puts `count` records under `oldKey`, prints "stored N",
 * waits for "go" on stdin, then changes the namespace to `newKey`, printing "moving <id> <n>" before
 * each record and "progress <done>/<total>" as changeKey reports it. The test SIGKILLs it midway.
 * Each record is slowed by a few ms (a slower KMS) so that the kill lands in the middle.
 */
import { createInterface } from 'node:readline';
import { createKmsClient, openNamespace } from '@edge-kms/client';
import { createLmdbRecordStore } from '@edge-kms/node';
import { recordId, recordText } from './records.js';

const [path, endpoint, oldKey, newKey, count] = process.argv.slice(2) as [string, string, string, string, string];
const say = (line: string) => process.stdout.write(`${line}\n`);

const kms = createKmsClient({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIAEDGEKMSE2ETEST00', secretAccessKey: 'edge-kms-e2e-dummy-secret' },
});
const store = createLmdbRecordStore({ path });
const ns = await openNamespace({ name: 'crash', kms, store, keyId: oldKey, chunkSize: 256 });

for (let i = 0; i < Number(count); i++) await ns.put(recordId(i), recordText(i));
say(`stored ${count}`);

const lines = createInterface({ input: process.stdin });
await new Promise<void>((resolve) => lines.on('line', (l) => l.trim() === 'go' && resolve()));

let n = 0;
await ns.changeKey(newKey, {
  concurrency: 4,
  beforeRecord: async (id) => {
    say(`moving ${id} ${++n}`);
    await new Promise((r) => setTimeout(r, 4));
  },
  onProgress: (p) => say(`progress ${p.done}/${p.total}`),
});
say('done');
process.exit(0);
