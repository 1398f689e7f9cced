/**
 * Compile-time check (run by `npm run lint`, which type-checks test/): the client's typed
 * operation list (@edge-kms/client KmsOperations) names exactly the operations of the core's
 * registry (packages/core/src/operations/index.ts). The client does not depend on the core, so
 * its list is its own; adding an operation to one and not the other fails the lint.
 */
import type { OperationName as ClientOperation } from '@edge-kms/client';
import type { OperationName as CoreOperation } from '@edge-kms/core';

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Names in the core's registry and not in the client's list, and the other way round: both `never`. */
export type MissingFromClient = Exclude<CoreOperation, ClientOperation>;
export type MissingFromCore = Exclude<ClientOperation, CoreOperation>;

export const registryAndClientAgree: Same<CoreOperation, ClientOperation> = true;
