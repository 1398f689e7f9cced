/**
 * Reads one operation's input the way AWS's JSON 1.1 front end does: wrong JSON types are a
 * SerializationException, constraint violations are collected and reported together as one
 * ValidationException in AWS's wording ("1 validation error detected: Value at 'plaintext' failed
 * to satisfy constraint: Member must have length less than or equal to 4096").
 */
import { fromBase64, isWellFormed } from './bytes.js';
import { KmsError } from './errors.js';

export type RawInput = Record<string, unknown>;

function member(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

function serialization(field: string, expected: string): KmsError {
  return new KmsError('SerializationException', `Value for '${field}' must be ${expected}.`);
}

interface StringRule {
  required?: boolean;
  min?: number;
  max?: number;
  pattern?: RegExp;
  /** Leave the value out of error messages (AWS does for sensitive members). */
  sensitive?: boolean;
}

export class InputReader {
  private readonly errors: string[] = [];
  constructor(readonly raw: RawInput) {}

  static from(input: unknown): InputReader {
    if (input === undefined || input === null) return new InputReader({});
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw new KmsError('SerializationException', 'The request body must be a JSON object.');
    }
    return new InputReader(input as RawInput);
  }

  private fail(field: string, value: string | null | undefined, constraint: string): void {
    const v = value === undefined ? '' : value === null ? ' null' : ` '${value}'`;
    this.errors.push(`Value${v} at '${member(field)}' failed to satisfy constraint: ${constraint}`);
  }

  private missing(field: string): void {
    this.fail(field, null, 'Member must not be null');
  }

  has(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  string(field: string, rule: StringRule & { required: true }): string;
  string(field: string, rule?: StringRule): string | undefined;
  string(field: string, rule: StringRule = {}): string | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (rule.required) this.missing(field);
      return undefined;
    }
    if (typeof v !== 'string') throw serialization(field, 'a string');
    const shown = rule.sensitive ? undefined : v;
    if (rule.min !== undefined && v.length < rule.min) {
      this.fail(field, shown, `Member must have length greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && v.length > rule.max) {
      this.fail(field, shown, `Member must have length less than or equal to ${rule.max}`);
    } else if (rule.pattern && !rule.pattern.test(v)) {
      this.fail(field, shown, `Member must satisfy regular expression pattern: ${rule.pattern.source}`);
    }
    return v;
  }

  int(field: string, rule: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (rule.required) this.missing(field);
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isInteger(v)) throw serialization(field, 'an integer');
    if (rule.min !== undefined && v < rule.min) {
      this.fail(field, String(v), `Member must have value greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && v > rule.max) {
      this.fail(field, String(v), `Member must have value less than or equal to ${rule.max}`);
    }
    return v;
  }

  /**
   * A timestamp as epoch ms: epoch seconds on the wire (AWS JSON 1.1, fractions allowed), or a
   * Date when called in process.
   */
  timestamp(field: string): number | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (v instanceof Date && Number.isFinite(v.getTime())) return v.getTime();
    if (typeof v !== 'number' || !Number.isFinite(v)) throw serialization(field, 'a timestamp (epoch seconds)');
    return Math.round(v * 1000);
  }

  bool(field: string): boolean | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw serialization(field, 'a boolean');
    return v;
  }

  enumValue<T extends string>(field: string, values: readonly T[], rule: { required?: boolean } = {}): T | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (rule.required) this.missing(field);
      return undefined;
    }
    if (typeof v !== 'string') throw serialization(field, 'a string');
    if (!(values as readonly string[]).includes(v)) {
      this.fail(field, v, `Member must satisfy enum value set: [${values.join(', ')}]`);
      return undefined;
    }
    return v as T;
  }

  /** A blob: base64 on the wire, or a Uint8Array when called in process. */
  blob(field: string, rule: { required: true; min?: number; max?: number }): Uint8Array;
  blob(field: string, rule?: { required?: boolean; min?: number; max?: number }): Uint8Array | undefined;
  blob(field: string, rule: { required?: boolean; min?: number; max?: number } = {}): Uint8Array | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (rule.required) this.missing(field);
      return undefined;
    }
    let bytes: Uint8Array | undefined;
    if (v instanceof Uint8Array) bytes = v;
    else if (typeof v === 'string') bytes = fromBase64(v);
    else throw serialization(field, 'a base64-encoded blob');
    if (!bytes) throw serialization(field, 'valid base64');
    if (rule.min !== undefined && bytes.length < rule.min) {
      this.fail(field, undefined, `Member must have length greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && bytes.length > rule.max) {
      this.fail(field, undefined, `Member must have length less than or equal to ${rule.max}`);
    }
    return bytes;
  }

  stringList(field: string, rule: { required?: boolean; minItems?: number; maxItems?: number; itemMin?: number; itemMax?: number } = {}): string[] | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (rule.required) this.missing(field);
      return undefined;
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw serialization(field, 'a list of strings');
    const list = v as string[];
    if (rule.minItems !== undefined && list.length < rule.minItems) {
      this.fail(field, undefined, `Member must have length greater than or equal to ${rule.minItems}`);
    } else if (rule.maxItems !== undefined && list.length > rule.maxItems) {
      this.fail(field, undefined, `Member must have length less than or equal to ${rule.maxItems}`);
    }
    for (const item of list) {
      if (rule.itemMin !== undefined && item.length < rule.itemMin) {
        this.fail(field, undefined, `Member must satisfy constraint: [Member must have length greater than or equal to ${rule.itemMin}]`);
        break;
      }
      if (rule.itemMax !== undefined && item.length > rule.itemMax) {
        this.fail(field, undefined, `Member must satisfy constraint: [Member must have length less than or equal to ${rule.itemMax}]`);
        break;
      }
    }
    return list;
  }

  /** A string-to-string map such as EncryptionContext. */
  stringMap(field: string): Record<string, string> | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw serialization(field, 'a map of strings');
    const out: Record<string, string> = Object.create(null);
    let wellFormed = true;
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      if (typeof val !== 'string') throw serialization(field, 'a map of strings');
      if (!isWellFormed(k) || !isWellFormed(val)) wellFormed = false;
      out[k] = val;
    }
    // Bound into ciphertexts as UTF-8 and compared by policies as UTF-16: a lone surrogate would
    // make different strings the same bytes.
    if (!wellFormed) this.fail(field, undefined, 'Member must contain only well-formed Unicode strings (no lone surrogates)');
    return out;
  }

  tags(field: string, rule: { required?: boolean } = {}): { TagKey: string; TagValue: string }[] | undefined {
    const v = this.raw[field];
    if (v === undefined || v === null) {
      if (rule.required) this.missing(field);
      return undefined;
    }
    if (!Array.isArray(v)) throw serialization(field, 'a list of tags');
    const out: { TagKey: string; TagValue: string }[] = [];
    for (const t of v) {
      if (!t || typeof t !== 'object') throw serialization(field, 'a list of tags');
      const { TagKey, TagValue } = t as Record<string, unknown>;
      if (TagKey === undefined || TagKey === null) {
        this.fail(`${field}.member.tagKey`, null, 'Member must not be null');
        continue;
      }
      if (TagValue === undefined || TagValue === null) {
        this.fail(`${field}.member.tagValue`, null, 'Member must not be null');
        continue;
      }
      if (typeof TagKey !== 'string' || typeof TagValue !== 'string') throw serialization(field, 'a list of tags');
      if (TagKey.length < 1 || TagKey.length > 128) {
        this.fail(`${field}.member.tagKey`, TagKey, 'Member must have length less than or equal to 128');
      } else if (TagValue.length > 256) {
        this.fail(`${field}.member.tagValue`, TagValue, 'Member must have length less than or equal to 256');
      }
      out.push({ TagKey, TagValue });
    }
    return out;
  }

  /** Adds a constraint failure found by the operation itself. */
  invalid(field: string, value: string | undefined, constraint: string): void {
    this.fail(field, value, constraint);
  }

  /** Throws the collected ValidationException, if any. */
  done(): void {
    const n = this.errors.length;
    if (n === 0) return;
    throw new KmsError('ValidationException', `${n} validation error${n === 1 ? '' : 's'} detected: ${this.errors.join('; ')}`);
  }
}
