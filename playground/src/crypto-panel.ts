/**
 * Envelope encryption with @edge-kms/client: each text or file gets a fresh data key from
 * GenerateDataKey under the selected KMS key and is sealed in chunks with AES-256-GCM in the
 * browser; only the wrapped data key travels to KMS on Decrypt. Decrypting tells which key
 * material version unwrapped the data key, so a ciphertext from before a rotation shows the older
 * version, still working.
 */
import { decrypt, encrypt } from '@edge-kms/client';
import type { App } from './app.js';
import { formatBytes, formatDateTime, h, mount, shortId } from './dom.js';
import { keyLabel, loadVersions } from './keys.js';

interface Sealed {
  id: number;
  name: string;
  kind: 'text' | 'file';
  type: string;
  plainSize?: number;
  ciphertext: Blob;
  keyId?: string;
  at?: Date;
  result: HTMLElement;
}

let nextId = 1;

export function cryptoPanel(app: App): HTMLElement {
  const kms = app.backend.kms;
  const sealed: Sealed[] = [];
  const list = h('ol', { class: 'sealed', id: 'ciphertexts', 'aria-label': 'Ciphertexts' });
  const keyNote = h('p', { class: 'hint', id: 'encrypt-key' });

  function selectedKeyId(): string {
    const k = app.selected;
    if (!k) throw new Error('Select a key first (or create one).');
    return k.meta.KeyId;
  }

  function add(item: Omit<Sealed, 'id' | 'result'>): Sealed {
    const s: Sealed = { ...item, id: nextId++, result: h('div', { class: 'result' }) };
    sealed.unshift(s);
    renderList();
    return s;
  }

  // Text
  const text = h('textarea', { id: 'plaintext', rows: 2, placeholder: 'Some secret text', 'aria-label': 'Text to encrypt' });
  const encryptText = h('button', { id: 'encrypt-text', class: 'primary' }, 'Encrypt text');
  encryptText.addEventListener('click', () =>
    app.run(
      encryptText,
      async () => {
        const keyId = selectedKeyId();
        const bytes = new TextEncoder().encode(text.value);
        const ct = await encrypt(kms, bytes, { keyId });
        add({
          name: text.value.length > 40 ? `${text.value.slice(0, 40)}…` : text.value || '(empty text)',
          kind: 'text',
          type: 'text/plain',
          plainSize: bytes.length,
          ciphertext: new Blob([ct as BlobPart]),
          keyId,
          at: app.now(),
        });
        return `Encrypted ${formatBytes(bytes.length)} of text under ${shortId(keyId)}.`;
      },
      { refresh: false },
    ),
  );

  // Files
  const file = h('input', { id: 'file-to-encrypt', type: 'file', 'aria-label': 'File to encrypt' });
  const encryptFile = h('button', { id: 'encrypt-file', class: 'primary' }, 'Encrypt file');
  encryptFile.addEventListener('click', () =>
    app.run(
      encryptFile,
      async () => {
        const f = file.files?.[0];
        if (!f) throw new Error('Choose a file first.');
        const keyId = selectedKeyId();
        const ct = await encrypt(kms, f, { keyId });
        add({ name: f.name, kind: 'file', type: f.type, plainSize: f.size, ciphertext: ct, keyId, at: app.now() });
        file.value = '';
        return `Encrypted ${f.name} (${formatBytes(f.size)}) under ${shortId(keyId)}.`;
      },
      { refresh: false },
    ),
  );

  // Ciphertext files made elsewhere (e.g. downloaded earlier)
  const upload = h('input', { id: 'file-to-decrypt', type: 'file', accept: '.ekms', 'aria-label': 'Ciphertext file to decrypt' });
  upload.addEventListener('change', () => {
    const f = upload.files?.[0];
    if (!f) return;
    upload.value = '';
    const s = add({ name: f.name.replace(/\.ekms$/, ''), kind: 'file', type: '', ciphertext: f });
    void decryptOne(s);
  });

  async function decryptOne(s: Sealed, button?: HTMLButtonElement): Promise<void> {
    mount(s.result);
    await app
      .run(
        button,
        async () => {
          const out = await decrypt(kms, s.ciphertext);
          const key = app.key(out.keyId);
          const versions = key?.versions ?? (key ? await loadVersions(kms, key.meta.KeyId, key.meta.CreationDate) : []);
          const v = versions.find((x) => x.keyMaterialId === out.keyMaterialId);
          const where = v
            ? `key material v${v.n} of ${versions.length}${v.current ? ' (current)' : ' (not current: from before a rotation)'}`
            : 'key material not in the timeline';
          mount(
            s.result,
            h('div', { class: 'plaintext' }, ...(await showPlaintext(s, out.plaintext))),
            h(
              'div',
              { class: 'decrypted-by', dataset: { keyMaterialId: out.keyMaterialId ?? '', version: String(v?.n ?? '') } },
              `Decrypted by ${key ? keyLabel(key) : shortId(out.keyId)} with ${where}. KeyMaterialId `,
              h('code', { class: 'material' }, out.keyMaterialId ?? '—'),
            ),
          );
          return `Decrypted ${s.name}.`;
        },
        { refresh: false },
      )
      .then((ok) => ok || mount(s.result, h('div', { class: 'failed' }, 'Decryption failed (see the message above).')));
  }

  function renderList(): void {
    mount(
      list,
      sealed.map((s) => {
        const dec = h('button', { class: 'decrypt' }, 'Decrypt');
        dec.addEventListener('click', () => decryptOne(s, dec));
        const download = h('a', { class: 'button', download: `${s.name}.ekms`, href: URL.createObjectURL(s.ciphertext) }, 'Download ciphertext');
        return h(
          'li',
          { class: 'sealed-item', dataset: { name: s.name } },
          h(
            'div',
            { class: 'sealed-head' },
            h('span', { class: `kind ${s.kind}` }, s.kind === 'text' ? 'Text' : 'File'),
            h('span', { class: 'name' }, s.name),
            h(
              'span',
              { class: 'meta' },
              [
                s.plainSize !== undefined ? `${formatBytes(s.plainSize)} → ` : '',
                `${formatBytes(s.ciphertext.size)} ciphertext`,
                s.keyId && s.at ? ` · ${shortId(s.keyId)} · ${formatDateTime(s.at)}` : '',
              ].join(''),
            ),
            h('span', { class: 'buttons' }, dec, s.kind === 'file' ? download : null),
          ),
          s.result,
        );
      }),
    );
  }

  app.onRender(() => {
    const k = app.selected;
    // Envelope encryption needs a symmetric key; ciphertexts already made still decrypt.
    const symmetric = !k || k.meta.KeySpec === 'SYMMETRIC_DEFAULT';
    for (const c of [text, encryptText, file, encryptFile]) c.disabled = !symmetric;
    mount(
      keyNote,
      !k
        ? 'Select a key to encrypt.'
        : symmetric
          ? ['Under the selected key: ', h('strong', null, keyLabel(k)), ` (${shortId(k.meta.KeyId)})`]
          : ['The selected key ', h('strong', null, keyLabel(k)), ` is ${k.meta.KeySpec}: encryption needs a symmetric key (select one).`],
    );
  });

  return h(
    'section',
    { class: 'panel', id: 'crypto-panel', 'aria-labelledby': 'crypto-title' },
    h('h2', { id: 'crypto-title' }, 'Encrypt & decrypt'),
    keyNote,
    h('div', { class: 'row' }, text, encryptText),
    h('div', { class: 'row' }, file, encryptFile),
    h('div', { class: 'row' }, h('label', { class: 'inline' }, 'Decrypt a .ekms file ', upload)),
    list,
  );
}

async function showPlaintext(s: Sealed, plaintext: Blob): Promise<(Node | string)[]> {
  if (s.kind === 'text') return [h('span', { class: 'label' }, 'Plaintext: '), h('q', { class: 'text' }, await plaintext.text())];
  const typed = new Blob([plaintext], { type: s.type || 'application/octet-stream' });
  const parts: (Node | string)[] = [
    h('span', { class: 'label' }, 'Plaintext: '),
    h('a', { href: URL.createObjectURL(typed), download: s.name }, s.name),
    ` (${formatBytes(plaintext.size)})`,
  ];
  if (plaintext.size <= 4096 && (s.type.startsWith('text/') || s.type === '' || s.type === 'application/json')) {
    const preview = await plaintext.text();
    if (!preview.includes('\uFFFD')) parts.push(h('pre', { class: 'preview' }, preview));
  }
  return parts;
}
