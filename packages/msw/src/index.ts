/** @edge-kms/msw: a real, stateful KMS behind the AWS KMS endpoints, inside browser and Node tests. */
export { kmsHandlers, AWS_KMS_ENDPOINT, type KmsMock, type KmsMockOptions, type Fault } from './handlers.js';
