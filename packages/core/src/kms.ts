/**
 * createKms: the engine behind one object. `execute` runs an operation in process (blobs as
 * Uint8Array, dates as Date); `handle` is the TrentService wire protocol as one pure
 * Request -> Response function; `runMaintenance` rotates due keys and deletes keys whose waiting
 * period is over (the Node timer and the Worker's cron trigger call it).
 */
import { Engine, isDeletionDue, isRotationDue, type KmsOptions } from './engine.js';
import { internalError, isKmsError, KmsError } from './errors.js';
import { isOperationName, OPERATIONS, type OperationName } from './operations/index.js';
import type { Output } from './operations/shared.js';
import { handleProtocolRequest } from './protocol.js';
import { InputReader } from './validate.js';

export interface MaintenanceReport {
  rotated: string[];
  deleted: string[];
}

export interface Kms {
  readonly accountId: string;
  readonly region: string;
  readonly engine: Engine;
  /** Runs one operation in process. Throws KmsError. */
  execute(operation: OperationName | string, input?: unknown): Promise<Output>;
  /** The TrentService JSON 1.1 protocol: one Request in, one Response out. */
  handle(request: Request): Promise<Response>;
  /** Rotates every key whose automatic rotation is due and deletes keys whose deletion is due. */
  runMaintenance(): Promise<MaintenanceReport>;
  /** Removes every key, version and alias (test mode). */
  reset(): Promise<void>;
}

export function createKms(options: KmsOptions = {}): Kms {
  const engine = new Engine(options);

  async function execute(operation: string, input?: unknown): Promise<Output> {
    if (!isOperationName(operation)) {
      throw new KmsError('UnknownOperationException', `Unknown operation ${operation}`);
    }
    try {
      return await OPERATIONS[operation](engine, InputReader.from(input));
    } catch (e) {
      if (isKmsError(e)) throw e;
      engine.onInternalError(e);
      throw internalError();
    }
  }

  async function runMaintenance(): Promise<MaintenanceReport> {
    const report: MaintenanceReport = { rotated: [], deleted: [] };
    for (let after: string | undefined; ; ) {
      const page = await engine.store.listKeys({ after, limit: 500 });
      const now = engine.now();
      for (const key of page.items) {
        try {
          if (isDeletionDue(key, now)) {
            if (await engine.deleteIfDue(key.KeyId)) report.deleted.push(key.KeyId);
          } else if (isRotationDue(key, now)) {
            if (await engine.rotate(key.KeyId, 'AUTOMATIC')) report.rotated.push(key.KeyId);
          }
        } catch (e) {
          engine.onInternalError(e);
        }
      }
      if (!page.next) break;
      after = page.next;
    }
    return report;
  }

  const kms: Kms = {
    accountId: engine.accountId,
    region: engine.region,
    engine,
    execute,
    handle: (request) => handleProtocolRequest(kms, request),
    runMaintenance,
    reset: () => engine.store.clear(),
  };
  return kms;
}
