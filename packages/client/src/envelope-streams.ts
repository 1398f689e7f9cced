/**
 * The streams API of envelope encryption: a message of any length sealed or opened one chunk at
 * a time with bounded memory (about two chunks), each chunk's plaintext released only after its
 * tag is verified.
 */
import type { KmsClient } from './client.js';
import { boundFor, openChunk, sealChunk } from './chunk-crypto.js';
import { bad, concatBytes, decodeBodyHeader, decodeKeySection, TAG } from './envelope-format.js';
import { newOpener, type Decrypted, type Opener } from './opener.js';
import { newSealer, type EncryptOptions, type Sealer } from './sealer.js';

/** Buffers a byte stream into exact-size pieces without holding more than one piece. */
class Reader {
  private pending: Uint8Array[] = [];
  private have = 0;
  private done = false;
  constructor(private readonly source: ReadableStreamDefaultReader<Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.have < n && !this.done) {
      const r = await this.source.read();
      if (r.done) this.done = true;
      else if (r.value.length) {
        this.pending.push(r.value);
        this.have += r.value.length;
      }
    }
  }

  /**
   * Up to n bytes (fewer only at the end of the stream), in a new buffer or at the start of `into`
   * (at least n bytes long), which the caller then reuses for the next read.
   */
  async read(n: number, into?: Uint8Array): Promise<Uint8Array> {
    await this.fill(n);
    const take = Math.min(n, this.have);
    const out = into ? into.subarray(0, take) : new Uint8Array(take);
    let o = 0;
    while (o < take) {
      const head = this.pending[0]!;
      const k = Math.min(head.length, take - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(k);
    }
    this.have -= take;
    return out;
  }

  /** Whether the stream has no byte left (reads ahead by at most one piece of the source). */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.have === 0;
  }

  cancel(reason?: unknown): Promise<void> {
    return this.source.cancel(reason);
  }
}

/** Encrypts a stream of any length with bounded memory (about two chunks). */
export function encryptStream(kms: KmsClient, source: ReadableStream<Uint8Array>, o: EncryptOptions): ReadableStream<Uint8Array> {
  const reader = new Reader(source.getReader());
  let sealer: Sealer | undefined;
  let index = 0;
  let finished = false;
  // Every chunk's plaintext is gathered into this one buffer, wiped and reused once its chunk is
  // sealed (one chunk at a time): a stream leaves only the sealed chunks to the GC, not also a
  // copy of each plaintext chunk.
  let scratch: Uint8Array | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!sealer) {
          sealer = await newSealer(kms, o, undefined);
          controller.enqueue(concatBytes(sealer.keySection, await sealer.bodyHeader));
          return;
        }
        if (finished) return controller.close();
        scratch ??= new Uint8Array(sealer.chunkSize);
        const part = await reader.read(sealer.chunkSize, scratch);
        // The final chunk is the last one: a full piece is final when nothing follows it.
        const final = part.length < sealer.chunkSize || (await reader.atEnd());
        const i = index++;
        controller.enqueue(await sealChunk(sealer.key, i, final, part, boundFor(sealer.format, sealer.header, i)));
        part.fill(0);
        if (final) {
          finished = true;
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 1 },
  );
}

/**
 * Decrypts a stream with bounded memory. `info` resolves once the header is authenticated (format
 * 2: with chunk 0); each chunk's plaintext is released only after that chunk's tag is verified,
 * and a stream that ends without its final chunk errors.
 */
export function decryptStream(kms: KmsClient, source: ReadableStream<Uint8Array>): { stream: ReadableStream<Uint8Array>; info: Promise<Decrypted> } {
  const reader = new Reader(source.getReader());
  let opener: Opener | undefined;
  let index = 0;
  /** Each sealed chunk is read into this one buffer, reused once the chunk is opened. */
  let scratch: Uint8Array | undefined;
  let resolveInfo!: (d: Decrypted) => void;
  let rejectInfo!: (e: unknown) => void;
  const info = new Promise<Decrypted>((res, rej) => {
    resolveInfo = res;
    rejectInfo = rej;
  });
  info.catch(() => undefined);
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (!opener) {
            const fixed = await reader.read(6);
            if (fixed.length < 6) throw bad('truncated key section');
            const il = new DataView(fixed.buffer).getUint16(4);
            const idAndLen = await reader.read(il + 2);
            if (idAndLen.length < il + 2) throw bad('truncated key section');
            const wl = new DataView(idAndLen.buffer).getUint16(il);
            const wrapped = await reader.read(wl);
            const ks = decodeKeySection(concatBytes(fixed, idAndLen, wrapped));
            const fixedHeader = await reader.read(29);
            const cl = fixedHeader.length === 29 ? new DataView(fixedHeader.buffer).getUint32(25) : 0;
            if (cl > 1 << 20) throw bad('encryption context too large');
            const tagLength = fixedHeader[3] === 1 ? TAG : 0;
            const header = decodeBodyHeader(concatBytes(fixedHeader, await reader.read(cl + tagLength)));
            if (!header) throw bad('truncated header');
            opener = await newOpener(kms, ks, header);
            if (opener.format === 1) resolveInfo(opener);
          }
          const full = opener.chunkSize + TAG;
          scratch ??= new Uint8Array(full);
          const sealed = await reader.read(full, scratch);
          // Format 1: the first short piece is the final chunk. Format 2: the last piece is, and a
          // full piece is final when nothing follows it.
          const final = sealed.length < full || (opener.format === 2 && (await reader.atEnd()));
          if (final && sealed.length < TAG) throw bad('truncated: no final chunk');
          if (opener.format === 2 && final && index > 0 && sealed.length === TAG) throw bad('empty final chunk after full chunks');
          const i = index++;
          const plaintext = await openChunk(opener.key, i, final, sealed, boundFor(opener.format, opener.header, i));
          if (opener.format === 2 && i === 0) resolveInfo(opener);
          controller.enqueue(plaintext);
          // A short read only happens at the end of the stream, so nothing can follow a final chunk;
          // bytes appended to a message land in a chunk and fail its authentication.
          if (final) controller.close();
        } catch (e) {
          rejectInfo(e);
          controller.error(e);
          await reader.cancel(e).catch(() => undefined);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 1 },
  );
  return { stream, info };
}
