/**
 * JSON with bytes: Uint8Arrays travel as {"$b": base64}. Used by the KV stores (values) and the
 * test-mode store proxy (requests and answers).
 */
import { fromBase64, toBase64 } from '@edge-kms/core';

export function encodeJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v) => (v instanceof Uint8Array ? { $b: toBase64(v) } : v));
}

export function decodeJson(text: string): unknown {
  return JSON.parse(text, (_k, v) => (v && typeof v === 'object' && typeof v.$b === 'string' && Object.keys(v).length === 1 ? fromBase64(v.$b) : v));
}

/** A KV value (null when absent) decoded, or undefined. */
export function decodeValue<T>(text: string | null): T | undefined {
  return text === null ? undefined : (decodeJson(text) as T);
}
