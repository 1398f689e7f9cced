/**
 * Shared by the streaming suites in Node (test/client/streaming.test.ts) and Chromium
 * (packages/client/src/streaming.browser.test.ts); only WebCrypto and WHATWG streams, so it runs in
 * both. A generated plaintext stream of any length (pseudo-random bytes in pseudo-random piece
 * sizes, never held whole), an incremental SHA-256 (WebCrypto has no streaming digest), a hashing
 * sink, a watch on how many bytes are in flight between source and sink, and the tampered variants
 * of a message that every decryption path must reject.
 */

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), incremental.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
  0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
  0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
  0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
  0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 {
  private h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  private w = new Uint32Array(64);
  private buf = new Uint8Array(64);
  private used = 0;
  private length = 0;

  update(data: Uint8Array): this {
    this.length += data.length;
    let i = 0;
    if (this.used) {
      const k = Math.min(64 - this.used, data.length);
      this.buf.set(data.subarray(0, k), this.used);
      this.used += k;
      i = k;
      if (this.used < 64) return this;
      this.block(this.buf, 0);
      this.used = 0;
    }
    for (; i + 64 <= data.length; i += 64) this.block(data, i);
    this.buf.set(data.subarray(i), 0);
    this.used = data.length - i;
    return this;
  }

  digest(): string {
    const bits = this.length * 8;
    const pad = new Uint8Array((this.used < 56 ? 56 : 120) - this.used + 8);
    pad[0] = 0x80;
    const dv = new DataView(pad.buffer);
    dv.setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
    dv.setUint32(pad.length - 4, bits >>> 0);
    this.update(pad);
    return Array.from(this.h, (x) => x.toString(16).padStart(8, '0')).join('');
  }

  private block(d: Uint8Array, o: number): void {
    const w = this.w;
    for (let t = 0; t < 16; t++) w[t] = (d[o + 4 * t]! << 24) | (d[o + 4 * t + 1]! << 16) | (d[o + 4 * t + 2]! << 8) | d[o + 4 * t + 3]!;
    for (let t = 16; t < 64; t++) {
      const a = w[t - 15]!;
      const b = w[t - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[t] = (w[t - 16]! + s0 + w[t - 7]! + s1) | 0;
    }
    const h = this.h;
    let a = h[0]!,
      b = h[1]!,
      c = h[2]!,
      e = h[4]!,
      f = h[5]!,
      g = h[6]!,
      hh = h[7]!,
      dd = h[3]!;
    for (let t = 0; t < 64; t++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[t]! + w[t]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g;
      g = f;
      f = e;
      e = (dd + t1) | 0;
      dd = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] = (h[0]! + a) | 0;
    h[1] = (h[1]! + b) | 0;
    h[2] = (h[2]! + c) | 0;
    h[3] = (h[3]! + dd) | 0;
    h[4] = (h[4]! + e) | 0;
    h[5] = (h[5]! + f) | 0;
    h[6] = (h[6]! + g) | 0;
    h[7] = (h[7]! + hh) | 0;
  }
}

/** A running hash: our Sha256 unless the platform gives a faster incremental one (node:crypto). */
export interface RunningHash {
  update(data: Uint8Array): unknown;
  digest(): string;
}
export type HashFactory = () => RunningHash;
export const jsSha256: HashFactory = () => new Sha256();

// ---------------------------------------------------------------------------------------------
// Generated plaintext and a hashing sink, with the bytes in flight between them watched.

/** xorshift32: deterministic, fast, and not periodic at any chunk size. */
function rng(seed: number) {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

export interface Flow {
  /** The generated plaintext, `total` bytes in pieces of 1 … maxPiece bytes. */
  source: ReadableStream<Uint8Array>;
  /** Hashes and counts what arrives. */
  sink: WritableStream<Uint8Array>;
  /** SHA-256 of what the source produced / what the sink received (after both finished). */
  inputHash(): string;
  outputHash(): string;
  produced(): number;
  consumed(): number;
  /** The most bytes ever produced but not yet consumed. */
  maxInFlight(): number;
}

export function flow(total: number, options: { seed?: number; maxPiece?: number; hash?: HashFactory } = {}): Flow {
  const next = rng(options.seed ?? 1);
  const maxPiece = options.maxPiece ?? 200_000;
  const hin = (options.hash ?? jsSha256)();
  const hout = (options.hash ?? jsSha256)();
  let produced = 0;
  let consumed = 0;
  let maxInFlight = 0;
  let inDigest: string | undefined;
  let outDigest: string | undefined;
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (produced >= total) {
        inDigest = hin.digest();
        return c.close();
      }
      const n = Math.min(total - produced, 1 + (next() % maxPiece));
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) words[i] = next();
      const piece = new Uint8Array(words.buffer, 0, n);
      hin.update(piece);
      produced += n;
      maxInFlight = Math.max(maxInFlight, produced - consumed);
      c.enqueue(piece);
    },
  });
  const sink = new WritableStream<Uint8Array>({
    write(piece) {
      hout.update(piece);
      consumed += piece.length;
    },
    close() {
      outDigest = hout.digest();
    },
  });
  return {
    source,
    sink,
    inputHash: () => inDigest ?? (inDigest = hin.digest()),
    outputHash: () => {
      if (outDigest === undefined) throw new Error('sink not closed');
      return outDigest;
    },
    produced: () => produced,
    consumed: () => consumed,
    maxInFlight: () => maxInFlight,
  };
}

/** Counts the bytes passing through (the encrypted message's length, without keeping it). */
export function counter(): { stream: TransformStream<Uint8Array, Uint8Array>; bytes(): number } {
  let n = 0;
  return {
    stream: new TransformStream({
      transform(piece, c) {
        n += piece.length;
        c.enqueue(piece);
      },
    }),
    bytes: () => n,
  };
}

// ---------------------------------------------------------------------------------------------
// Messages in memory, for tampering.

export function bytesOf(n: number, seed = 7): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

export function streamOf(data: Uint8Array, piece = 1000): ReadableStream<Uint8Array> {
  let o = 0;
  return new ReadableStream({
    pull(c) {
      if (o >= data.length) return c.close();
      c.enqueue(data.slice(o, o + piece));
      o += piece;
    },
  });
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface Parsed {
  /** Key section and body header. */
  head: Uint8Array;
  keySectionLength: number;
  chunks: Uint8Array[];
}

/**
 * Cuts a well-formed message into its head and its chunks (the last one is the final chunk).
 * Format 2 (written now): no header tag, and the final chunk may be full. Format 1: a header tag,
 * and the final chunk is the first piece shorter than a full chunk.
 */
export function parse(m: Uint8Array, chunkSize: number): Parsed {
  const dv = new DataView(m.buffer, m.byteOffset, m.byteLength);
  const il = dv.getUint16(4);
  const wl = dv.getUint16(6 + il);
  const ks = 8 + il + wl;
  const format = m[ks + 3];
  const cl = dv.getUint32(ks + 25);
  const headLength = ks + 29 + cl + (format === 1 ? 16 : 0);
  const chunks: Uint8Array[] = [];
  let o = headLength;
  for (;;) {
    const c = m.subarray(o, Math.min(m.length, o + chunkSize + 16));
    chunks.push(c);
    o += c.length;
    if (format === 1 ? c.length < chunkSize + 16 : o >= m.length) break;
  }
  return { head: m.subarray(0, headLength), keySectionLength: ks, chunks };
}

/**
 * Every way a message can be tampered with that the format must catch. `a` has `chunks` full
 * chunks and a shorter final chunk; `aligned` is a message whose length is a multiple of the
 * chunk size (so its final chunk is full); `b` is another message of the same length, key and
 * context. `source` names the genuine message a case was made from: whatever a decrypting stream
 * releases before it fails must be a whole-chunk prefix of that message's plaintext.
 */
export function tamperCases(
  a: Uint8Array,
  aligned: Uint8Array,
  b: Uint8Array,
  chunkSize: number,
): { name: string; message: Uint8Array; source: 'a' | 'aligned' }[] {
  const pa = parse(a, chunkSize);
  const pal = parse(aligned, chunkSize);
  const pb = parse(b, chunkSize);
  const [c0, c1, c2] = pa.chunks as [Uint8Array, Uint8Array, Uint8Array];
  const fin = pa.chunks.at(-1)!;
  const n = pa.chunks.length;
  if (n < 4) throw new Error('tamperCases needs at least three full chunks');
  const flip = (m: Uint8Array, at: number) => {
    const t = m.slice();
    t[at]! ^= 0x40;
    return t;
  };
  const head = pa.head;
  const start = (i: number) => head.length + i * (chunkSize + 16);
  const rest = (from: number) => pa.chunks.slice(from);
  const cases: { name: string; message: Uint8Array; source: 'a' | 'aligned' }[] = [
    { name: 'flip: a byte of the wrapped data key', message: flip(a, pa.keySectionLength - 3), source: 'a' },
    { name: 'flip: a byte of the key id', message: flip(a, 6 + new DataView(a.buffer, a.byteOffset).getUint16(4) - 1), source: 'a' },
    { name: 'flip: the chunk size', message: flip(a, pa.keySectionLength + 8), source: 'a' },
    { name: 'flip: a byte of the message id', message: flip(a, pa.keySectionLength + 12), source: 'a' },
    { name: 'flip: the last byte of the body header', message: flip(a, head.length - 1), source: 'a' },
    { name: 'flip: the format byte', message: flip(a, pa.keySectionLength + 3), source: 'a' },
    { name: 'flip: the algorithm byte', message: flip(a, pa.keySectionLength + 4), source: 'a' },
    { name: 'flip: first byte of chunk 0', message: flip(a, start(0)), source: 'a' },
    { name: 'flip: middle of chunk 1', message: flip(a, start(1) + (chunkSize >> 1)), source: 'a' },
    { name: 'flip: the tag of chunk 2', message: flip(a, start(3) - 1), source: 'a' },
    { name: 'flip: the final chunk', message: flip(a, a.length - fin.length), source: 'a' },
    { name: 'flip: the last byte of the message', message: flip(a, a.length - 1), source: 'a' },
    { name: 'truncate: at the chunk boundary after the header', message: a.subarray(0, start(0)), source: 'a' },
    { name: 'truncate: at the chunk boundary after chunk 1', message: a.subarray(0, start(2)), source: 'a' },
    { name: 'truncate: in the middle of chunk 1', message: a.subarray(0, start(1) + 100), source: 'a' },
    { name: 'truncate: 1 byte short', message: a.subarray(0, a.length - 1), source: 'a' },
    { name: 'truncate: 16 bytes short (the final tag)', message: a.subarray(0, a.length - 16), source: 'a' },
    { name: 'truncate: in the body header', message: a.subarray(0, head.length - 5), source: 'a' },
    { name: 'truncate: in the key section', message: a.subarray(0, pa.keySectionLength - 5), source: 'a' },
    { name: 'truncate: 5 bytes into chunk 0', message: a.subarray(0, start(0) + 5), source: 'a' },
    { name: 'reorder: chunks 0 and 1 swapped', message: concat(head, c1, c0, ...rest(2)), source: 'a' },
    { name: 'reorder: chunks 1 and 2 swapped', message: concat(head, c0, c2, c1, ...rest(3)), source: 'a' },
    { name: 'duplicate: chunk 0 in place of chunk 1', message: concat(head, c0, c0, ...rest(2)), source: 'a' },
    { name: 'duplicate: chunk 1 inserted again', message: concat(head, c0, c1, c1, ...rest(2)), source: 'a' },
    { name: 'splice: chunk 1 from another message', message: concat(head, c0, pb.chunks[1]!, ...rest(2)), source: 'a' },
    { name: "splice: another message's final chunk", message: concat(head, ...pa.chunks.slice(0, n - 1), pb.chunks.at(-1)!), source: 'a' },
    { name: "splice: another message's header with these chunks", message: concat(pb.head, ...pa.chunks), source: 'a' },
    {
      name: "splice: another message's key section with this body",
      message: concat(b.subarray(0, pb.keySectionLength), a.subarray(pa.keySectionLength)),
      source: 'a',
    },
    { name: 'drop the final chunk', message: concat(head, ...pa.chunks.slice(0, n - 1)), source: 'a' },
    { name: 'drop the final chunk of a chunk-aligned message', message: concat(pal.head, ...pal.chunks.slice(0, -1)), source: 'aligned' },
    {
      name: 'an empty chunk after the full final chunk of a chunk-aligned message',
      message: concat(aligned, pal.chunks.at(-1)!.subarray(-16)),
      source: 'aligned',
    },
    { name: 'drop a middle chunk', message: concat(head, c0, ...rest(2)), source: 'a' },
    { name: 'data after the final chunk: 1 byte', message: concat(a, new Uint8Array([0])), source: 'a' },
    { name: 'data after the final chunk: the final chunk again', message: concat(a, fin), source: 'a' },
    { name: 'data after the final chunk: a whole second message', message: concat(a, b), source: 'a' },
    { name: 'data after the final chunk of a chunk-aligned message: 16 bytes', message: concat(aligned, new Uint8Array(16)), source: 'aligned' },
  ];
  return cases;
}
