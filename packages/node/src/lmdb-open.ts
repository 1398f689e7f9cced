/**
 * Opens an LMDB database readable by its owner only. lmdb-js creates the database file and its
 * lock file (`<path>` and `<path>-lock` for a path with an extension, as `kms.lmdb`) with
 * `permissionsMode` (default 0664, less the umask): here 0600. A database made by an earlier
 * version with wider modes is narrowed to 0600 when opened. A missing parent directory is made
 * 0700 (lmdb-js would make it with the umask's default, usually 0755).
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { open, type RootDatabase, type RootDatabaseOptionsWithPath } from 'lmdb';

function narrow(file: string): void {
  try {
    if (statSync(file).mode & 0o077) chmodSync(file, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export function openPrivate(path: string): RootDatabase {
  const subdir = extname(path) === '';
  mkdirSync(subdir ? path : dirname(path), { recursive: true, mode: 0o700 });
  // permissionsMode is read by lmdb-js's native open (src/env.cpp) but missing from its types.
  const options: RootDatabaseOptionsWithPath & { permissionsMode: number } = { path, encoding: 'msgpack', compression: false, permissionsMode: 0o600 };
  const db: RootDatabase = open(options);
  for (const file of subdir ? [join(path, 'data.mdb'), join(path, 'lock.mdb')] : [path, `${path}-lock`]) narrow(file);
  return db;
}
