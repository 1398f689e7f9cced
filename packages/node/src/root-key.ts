/**
 * The root key that wraps key material at rest, from (in this order of preference):
 * - `key`: base64 of 32 bytes (env KMS_ROOT_KEY);
 * - `file`: a file holding that base64 (env KMS_ROOT_KEY_FILE), kept outside the data directory
 *   (a secret mount, /etc/edge-kms/root.key mode 0600, …). It must exist: a missing file is an
 *   error, never a newly generated key, so a typo cannot start an empty KMS beside the real one;
 * - otherwise `root.key` in the data directory, created on first start with mode 0600. Whoever can
 *   read the data directory (a backup, a copied volume) can then unwrap every key: the server
 *   warns at start (cli.ts). Moving it out is `mv <data>/root.key <elsewhere>` and starting with
 *   KMS_ROOT_KEY_FILE=<elsewhere>.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type RootKeySource = 'env' | 'file' | 'data-dir';

export interface RootKey {
  key: Uint8Array;
  source: RootKeySource;
  /** The file read (file and data-dir sources). */
  path?: string;
}

export interface RootKeyOptions {
  dataDir: string;
  key?: string;
  file?: string;
}

function decode(base64: string, what: string): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(base64.trim(), 'base64'));
  if (bytes.length !== 32) throw new Error(`${what} must hold a 32-byte root key, base64-encoded (e.g. openssl rand -base64 32)`);
  return bytes;
}

export function resolveRootKey(options: RootKeyOptions): RootKey {
  if (options.key && options.file) throw new Error('Set KMS_ROOT_KEY or KMS_ROOT_KEY_FILE, not both');
  if (options.key) return { key: decode(options.key, 'KMS_ROOT_KEY'), source: 'env' };
  if (options.file) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new Error(
        code === 'ENOENT'
          ? `KMS_ROOT_KEY_FILE ${options.file} does not exist. Create it with: (umask 077; openssl rand -base64 32 > ${options.file}), or move an existing root.key there`
          : `KMS_ROOT_KEY_FILE ${options.file} cannot be read: ${(e as Error).message}`,
      );
    }
    return { key: decode(text, `KMS_ROOT_KEY_FILE ${options.file}`), source: 'file', path: options.file };
  }
  const file = join(options.dataDir, 'root.key');
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
  return { key: decode(readFileSync(file, 'utf8'), file), source: 'data-dir', path: file };
}

/** The root key from env KMS_ROOT_KEY (base64, 32 bytes), or `root.key` in the data directory. */
export function loadRootKey(dataDir: string, fromEnv?: string): Uint8Array {
  return resolveRootKey({ dataDir, key: fromEnv }).key;
}
