/**
 * IAM-style wildcard matching (`*` any run of characters, `?` any one character) without
 * backtracking, for key-policy actions, resources and the StringLike / ArnLike condition operators.
 *
 * A regular expression built from a pattern backtracks: `*\/*\/reports` against 200,000 slashes
 * took seconds, and `*?*?…x` is exponential. Here a pattern is split at its stars into segments:
 * the first must match the value's start, the last its end, and each one between is found at its
 * leftmost place after the previous one (taking the leftmost match is always right for globs, so
 * no choice is ever revisited). Segments without `?` are found with Knuth-Morris-Pratt, so such a
 * pattern costs O(value + pattern) whatever the input. A segment with `?` is compared at each
 * candidate place, which costs at most O(value × that segment's length) for that segment: the
 * pattern comes from the key policy (at most 32 KB, written by the key's administrators), and
 * only the value from the caller, so for a given policy the cost stays linear in the request.
 *
 * Characters are UTF-16 code units, as in the string comparisons of the rest of the policy engine.
 */

interface Segment {
  text: string;
  /** Has a `?`: compared place by place; otherwise found with KMP using `failure`. */
  wild: boolean;
  failure?: Int32Array;
}

export interface CompiledGlob {
  /** No star: the value must match `segments[0]` exactly (with `?`). */
  anchored: boolean;
  segments: Segment[];
  /** Sum of the segment lengths: the shortest value that can match. */
  minLength: number;
}

function segment(text: string): Segment {
  const wild = text.includes('?');
  return wild ? { text, wild } : { text, wild, failure: failureTable(text) };
}

/** KMP failure function: failure[i] = length of the longest proper border of text[0..i]. */
function failureTable(p: string): Int32Array {
  const f = new Int32Array(p.length);
  for (let i = 1, k = 0; i < p.length; i++) {
    while (k > 0 && p.charCodeAt(i) !== p.charCodeAt(k)) k = f[k - 1]!;
    if (p.charCodeAt(i) === p.charCodeAt(k)) k++;
    f[i] = k;
  }
  return f;
}

export function compileGlob(pattern: string): CompiledGlob {
  const parts = pattern.split('*');
  const segments = parts.map(segment);
  let minLength = 0;
  for (const s of segments) minLength += s.text.length;
  return { anchored: parts.length === 1, segments, minLength };
}

/** Does `seg` (with `?`) match value[at .. at + seg.length)? The caller checks the bounds. */
function matchesAt(seg: string, value: string, at: number): boolean {
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c !== 63 /* ? */ && c !== value.charCodeAt(at + i)) return false;
  }
  return true;
}

/** Leftmost start of `seg` in value[from .. end), or -1. */
function find(seg: Segment, value: string, from: number, end: number): number {
  const p = seg.text;
  const m = p.length;
  if (seg.wild) {
    for (let at = from; at + m <= end; at++) if (matchesAt(p, value, at)) return at;
    return -1;
  }
  const f = seg.failure!;
  for (let i = from, k = 0; i < end; i++) {
    const c = value.charCodeAt(i);
    while (k > 0 && c !== p.charCodeAt(k)) k = f[k - 1]!;
    if (c === p.charCodeAt(k)) k++;
    if (k === m) return i - m + 1;
  }
  return -1;
}

export function matchCompiled(glob: CompiledGlob, value: string): boolean {
  const { segments } = glob;
  const n = value.length;
  if (glob.anchored) return n === segments[0]!.text.length && matchesAt(segments[0]!.text, value, 0);
  if (n < glob.minLength) return false;
  const first = segments[0]!.text;
  const last = segments[segments.length - 1]!.text;
  if (!matchesAt(first, value, 0) || !matchesAt(last, value, n - last.length)) return false;
  let pos = first.length;
  const end = n - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const seg = segments[i]!;
    if (seg.text.length === 0) continue;
    const at = find(seg, value, pos, end);
    if (at < 0) return false;
    pos = at + seg.text.length;
  }
  return true;
}

// Compiled patterns, bounded: a policy's patterns are few and used on every request.
const cache = new Map<string, CompiledGlob>();
const CACHE_SIZE = 2000;

function compiled(pattern: string): CompiledGlob {
  let g = cache.get(pattern);
  if (!g) {
    if (cache.size >= CACHE_SIZE) cache.clear();
    cache.set(pattern, (g = compileGlob(pattern)));
  }
  return g;
}

/**
 * Does `value` match the IAM wildcard `pattern`? Case-insensitive matching (actions) compares
 * lower-cased strings.
 */
export function globMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  if (pattern === '*') return true;
  if (caseInsensitive) {
    pattern = pattern.toLowerCase();
    value = value.toLowerCase();
  }
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  return matchCompiled(compiled(pattern), value);
}
