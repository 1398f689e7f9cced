/**
 * Signatures and MACs under the selected key, shown for a SIGN_VERIFY key (Sign/Verify with one
 * of its SigningAlgorithms; the private key never leaves KMS) or an HMAC key (GenerateMac/VerifyMac
 * with its MacAlgorithm). Verify checks the signature shown against the message as it is now, so
 * editing the message and verifying again shows it invalid: KMS answers KMSInvalidSignatureException
 * (KMSInvalidMacException for a MAC), which is how AWS says "not valid".
 */
import type { App } from './app.js';
import { h, mount, shortId } from './dom.js';
import { keyLabel, type KeyView } from './keys.js';

/** The last signature or MAC made, and what made it. */
interface Signed {
  keyId: string;
  algorithm: string;
  bytes: Uint8Array;
}

const INVALID = new Set(['KMSInvalidSignatureException', 'KMSInvalidMacException']);

const isMacKey = (k: KeyView | undefined) => k?.meta.KeyUsage === 'GENERATE_VERIFY_MAC';
export const isSigningKey = (k: KeyView | undefined) => k?.meta.KeyUsage === 'SIGN_VERIFY' || isMacKey(k);

function base64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function signPanel(app: App): HTMLElement {
  const kms = app.backend.kms;
  let signed: Signed | undefined;

  const title = h('h2', { id: 'sign-title' }, 'Sign & verify');
  const keyNote = h('p', { class: 'hint', id: 'sign-key' });
  const message = h('textarea', { id: 'sign-message', rows: 2, placeholder: 'A message to sign', 'aria-label': 'Message to sign' });
  const algorithm = h('select', { id: 'signing-algorithm', 'aria-label': 'Algorithm' });
  const sign = h('button', { id: 'sign', class: 'primary' }, 'Sign');
  const verify = h('button', { id: 'verify' }, 'Verify');
  const signature = h('div', { class: 'result', id: 'signature' });
  const verdict = h('div', { class: 'result', id: 'verify-result' });

  const bytes = () => {
    const b = new TextEncoder().encode(message.value);
    if (b.length === 0) throw new Error('Type a message first (1 to 4096 bytes).');
    return b;
  };

  sign.addEventListener('click', () =>
    app.run(
      sign,
      async () => {
        const k = app.selected;
        if (!isSigningKey(k)) throw new Error('Select a signing or HMAC key first.');
        const keyId = k!.meta.KeyId;
        const alg = algorithm.value;
        const out = isMacKey(k)
          ? (await kms.generateMac({ KeyId: keyId, Message: bytes(), MacAlgorithm: alg as 'HMAC_SHA_256' })).Mac
          : (await kms.sign({ KeyId: keyId, Message: bytes(), MessageType: 'RAW', SigningAlgorithm: alg as 'ECDSA_SHA_256' })).Signature;
        signed = { keyId, algorithm: alg, bytes: out };
        const what = isMacKey(k) ? 'MAC' : 'Signature';
        mount(
          signature,
          h('span', { class: 'label' }, `${what} (${alg}, `),
          h('span', { id: 'signature-length' }, `${out.length} bytes`),
          h('span', { class: 'label' }, '): '),
          h('code', { class: 'material', id: 'signature-base64' }, base64(out)),
        );
        mount(verdict);
        return `${what} made with ${alg} under ${shortId(keyId)}.`;
      },
      { refresh: false },
    ),
  );

  verify.addEventListener('click', () =>
    app.run(
      verify,
      async () => {
        const k = app.selected;
        if (!signed || !k || signed.keyId !== k.meta.KeyId) throw new Error('Sign the message first.');
        const keyId = k.meta.KeyId;
        const alg = algorithm.value;
        let valid: boolean;
        try {
          valid = isMacKey(k)
            ? (await kms.verifyMac({ KeyId: keyId, Message: bytes(), Mac: signed.bytes, MacAlgorithm: alg as 'HMAC_SHA_256' })).MacValid
            : (
                await kms.verify({
                  KeyId: keyId,
                  Message: bytes(),
                  MessageType: 'RAW',
                  Signature: signed.bytes,
                  SigningAlgorithm: alg as 'ECDSA_SHA_256',
                })
              ).SignatureValid;
        } catch (e) {
          if (!(e instanceof Error && INVALID.has(e.name))) throw e;
          valid = false;
        }
        const what = isMacKey(k) ? 'MAC' : 'Signature';
        mount(
          verdict,
          h(
            'div',
            { class: valid ? 'decrypted-by' : 'failed', dataset: { valid: String(valid) } },
            valid
              ? `Valid: the ${what.toLowerCase()} matches this message (${alg}).`
              : `Invalid: the ${what.toLowerCase()} does not match this message (${alg}).`,
          ),
        );
        return `${what} ${valid ? 'valid' : 'not valid'} for the message.`;
      },
      { refresh: false },
    ),
  );

  let shownKeyId: string | undefined;
  app.onRender(() => {
    const k = app.selected;
    section.hidden = !isSigningKey(k);
    if (!k || !isSigningKey(k)) return;
    const mac = isMacKey(k);
    title.textContent = mac ? 'MAC: generate & verify' : 'Sign & verify';
    sign.textContent = mac ? 'Generate MAC' : 'Sign';
    verify.textContent = mac ? 'Verify MAC' : 'Verify';
    mount(keyNote, 'Under the selected key: ', h('strong', null, keyLabel(k)), ` (${shortId(k.meta.KeyId)}, ${k.meta.KeySpec})`);
    const algorithms: string[] = (mac ? k.meta.MacAlgorithms : k.meta.SigningAlgorithms) ?? [];
    const keep = algorithms.includes(algorithm.value) ? algorithm.value : algorithms[0];
    mount(
      algorithm,
      algorithms.map((a) => h('option', { value: a, selected: a === keep }, a)),
    );
    if (keep) algorithm.value = keep;
    if (shownKeyId !== k.meta.KeyId) {
      // Another key: the signature shown was not made by it.
      shownKeyId = k.meta.KeyId;
      signed = undefined;
      mount(signature);
      mount(verdict);
    }
  });

  const section = h(
    'section',
    { class: 'panel', id: 'sign-panel', 'aria-labelledby': 'sign-title', hidden: true },
    title,
    keyNote,
    h('div', { class: 'row' }, message),
    h('div', { class: 'row' }, h('label', { class: 'inline' }, 'Algorithm ', algorithm), sign, verify),
    signature,
    verdict,
  );
  return section;
}
