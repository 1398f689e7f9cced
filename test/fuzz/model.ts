/**
 * botocore's AWS KMS API model for the fuzz suite (test/fuzz/kms-model.json, written by
 * `python3 test/fuzz/generate-kms-model.py`): the operations, their input, output and error
 * shapes, a checker for successful answers against an output shape, and the error names an
 * operation may answer with.
 */
import { readFileSync } from 'node:fs';

export interface ShapeRef {
  shape: string;
}

export interface Shape {
  type: 'structure' | 'string' | 'blob' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'list' | 'map' | 'double' | 'float';
  required?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  sensitive?: boolean;
  exception?: boolean;
  fault?: boolean;
  members?: Record<string, ShapeRef>;
  member?: string;
  key?: string;
  value?: string;
}

export interface OperationModel {
  input: string | null;
  output: string | null;
  errors: string[];
}

export interface KmsModel {
  source: string;
  metadata: { targetPrefix: string };
  operations: Record<string, OperationModel>;
  shapes: Record<string, Shape>;
}

export const MODEL: KmsModel = JSON.parse(readFileSync(new URL('./kms-model.json', import.meta.url), 'utf8')) as KmsModel;

export function shape(name: string): Shape {
  const s = MODEL.shapes[name];
  if (!s) throw new Error(`kms-model.json has no shape ${name}`);
  return s;
}

/** The members of an operation's input structure, in the model's order. */
export function inputMembers(operation: string): [string, string][] {
  const op = MODEL.operations[operation];
  if (!op?.input) return [];
  return Object.entries(shape(op.input).members ?? {}).map(([m, ref]) => [m, ref.shape]);
}

export function requiredMembers(operation: string): Set<string> {
  const op = MODEL.operations[operation];
  return new Set(op?.input ? (shape(op.input).required ?? []) : []);
}

/**
 * Errors any operation may answer with besides the ones its model lists: the JSON 1.1 protocol's
 * own (a body or target it cannot read, constraint violations) and AWS's common errors
 * (https://docs.aws.amazon.com/kms/latest/APIReference/CommonErrors.html). The signature errors
 * cannot happen in the `none` authentication mode the suite runs in, but are AWS's answers.
 */
export const GENERIC_ERRORS: ReadonlySet<string> = new Set([
  'SerializationException',
  'UnknownOperationException',
  'ValidationException',
  'AccessDeniedException',
  'ThrottlingException',
  'MissingAuthenticationTokenException',
  'IncompleteSignatureException',
  'InvalidSignatureException',
  'UnrecognizedClientException',
]);

/** The error names `operation` may answer with: its model's error shapes plus the generic ones. */
export function allowedErrors(operation: string | undefined): Set<string> {
  const listed = operation !== undefined && Object.hasOwn(MODEL.operations, operation) ? MODEL.operations[operation]!.errors : [];
  return new Set([...GENERIC_ERRORS, ...listed]);
}

/** Canonical standard base64, as the JSON 1.1 protocol writes blobs. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Problems of `value` (parsed JSON of a successful answer) against the output shape `name`: a
 * member the shape does not have, a wrong JSON type, an enum value or a length the model does not
 * allow, a missing required member. Empty when the value fits.
 */
export function checkShape(name: string, value: unknown, path = '$'): string[] {
  const s = shape(name);
  const bad = (what: string) => [`${path}: ${what} (shape ${name}), got ${preview(value)}`];
  switch (s.type) {
    case 'structure': {
      if (!isPlainObject(value)) return bad('expected an object');
      const out: string[] = [];
      for (const [k, v] of Object.entries(value)) {
        const ref = s.members?.[k];
        if (!ref || !s.members || !Object.hasOwn(s.members, k)) out.push(`${path}.${k}: member not in shape ${name}`);
        else out.push(...checkShape(ref.shape, v, `${path}.${k}`));
      }
      for (const r of s.required ?? []) if (!(r in value)) out.push(`${path}.${r}: required member missing (shape ${name})`);
      return out;
    }
    case 'string': {
      if (typeof value !== 'string') return bad('expected a string');
      if (s.enum && !s.enum.includes(value)) return bad(`expected one of ${s.enum.join(', ')}`);
      if (s.min !== undefined && value.length < s.min) return bad(`expected length >= ${s.min}`);
      if (s.max !== undefined && value.length > s.max) return bad(`expected length <= ${s.max}`);
      return [];
    }
    case 'blob': {
      if (typeof value !== 'string' || !BASE64.test(value)) return bad('expected canonical base64');
      const n = (value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0);
      if (s.min !== undefined && n < s.min) return bad(`expected >= ${s.min} bytes`);
      if (s.max !== undefined && n > s.max) return bad(`expected <= ${s.max} bytes`);
      return [];
    }
    case 'integer':
    case 'long': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad('expected an integer');
      if (s.min !== undefined && value < s.min) return bad(`expected >= ${s.min}`);
      if (s.max !== undefined && value > s.max) return bad(`expected <= ${s.max}`);
      return [];
    }
    case 'double':
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? [] : bad('expected a number');
    case 'boolean':
      return typeof value === 'boolean' ? [] : bad('expected a boolean');
    case 'timestamp':
      // JSON 1.1 timestamps are epoch seconds (fractions allowed).
      return typeof value === 'number' && Number.isFinite(value) && value > 0 ? [] : bad('expected epoch seconds');
    case 'list': {
      if (!Array.isArray(value)) return bad('expected a list');
      if (s.min !== undefined && value.length < s.min) return bad(`expected >= ${s.min} items`);
      if (s.max !== undefined && value.length > s.max) return bad(`expected <= ${s.max} items`);
      return value.flatMap((v, i) => checkShape(s.member!, v, `${path}[${i}]`));
    }
    case 'map': {
      if (!isPlainObject(value)) return bad('expected a map');
      return Object.entries(value).flatMap(([k, v]) => [...checkShape(s.key!, k, `${path}{key}`), ...checkShape(s.value!, v, `${path}.${k}`)]);
    }
    default:
      return bad(`unknown shape type ${String((s as Shape).type)}`);
  }
}

/** A short, printable rendering of any value for messages. */
export function preview(v: unknown, max = 200): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return abbreviate(s, max);
}

/** Shortens runs of one character (`"aaaa…"` → `<'a' x 5000>`) and cuts the rest at `max`. */
export function abbreviate(text: string, max = 2000): string {
  const runs = text.replace(/(.)\1{31,}/gsu, (run, ch: string) => `<${JSON.stringify(ch)} x ${run.length / ch.length}>`);
  const nests = runs.replace(/((?:\[|\{"a":)){32,}/g, (run) => `<nesting x ${run.length}>`);
  return nests.length > max ? `${nests.slice(0, max)}… (${nests.length} chars)` : nests;
}
