/**
 * The root key that wraps key material at rest: from env KMS_ROOT_KEY (base64, 32 bytes), or a
 * `root.key` file in the data directory created on first start with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, openSync, closeSync, readFileSync, writeSync, fsyncSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function loadRootKey(dataDir: string, fromEnv?: string): Uint8Array {
  if (fromEnv) {
    const bytes = new Uint8Array(Buffer.from(fromEnv, 'base64'));
    if (bytes.length !== 32) throw new Error('KMS_ROOT_KEY must be 32 bytes, base64-encoded');
    return bytes;
  }
  const file = join(dataDir, 'root.key');
  if (!existsSync(file)) {
    const key = randomBytes(32);
    try {
      // 'wx': never overwrite a root key that another process created meanwhile.
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, key.toString('base64'));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      key.fill(0);
    }
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) chmodSync(file, 0o600);
  const bytes = new Uint8Array(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
  if (bytes.length !== 32) throw new Error(`${file} does not hold a 32-byte base64 root key`);
  return bytes;
}
