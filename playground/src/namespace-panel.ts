/**
 * An encrypted namespace (openNamespace from @edge-kms/client) with its records in IndexedDB.
 * Each record is envelope-encrypted under the namespace's KMS key. "Change key" re-wraps every
 * record's data key with ReEncrypt (the data itself is not touched) while the namespace is
 * locked: writes are refused until it completes, reads keep working.
 */
import { openNamespace, type Namespace, type NamespaceMeta } from '@edge-kms/client';
import type { App } from './app.js';
import { formatSeconds, h, mount, shortId } from './dom.js';
import { keyLabel } from './keys.js';

export const NAMESPACE = 'notes';
const FILL_COUNT = 300;
const SHOWN_RECORDS = 6;

interface NsState {
  meta?: NamespaceMeta;
  count: number;
  /** Records per wrapping key (ARN). */
  byKey: Map<string, number>;
  firstIds: string[];
}

export function namespacePanel(app: App): HTMLElement {
  const { kms, records: store } = app.backend;
  let ns: Namespace | undefined;
  let state: NsState = { count: 0, byKey: new Map(), firstIds: [] };
  let busy = false; // a fill or key change runs in this tab

  async function open(): Promise<Namespace | undefined> {
    if (!ns && (await store.getMeta(NAMESPACE))) ns = await openNamespace({ name: NAMESPACE, kms, store, resume: false });
    return ns;
  }

  /** Reads the namespace's meta and records again (cheap: a few hundred IndexedDB reads). */
  async function reload(): Promise<void> {
    const meta = await store.getMeta(NAMESPACE);
    const byKey = new Map<string, number>();
    const ids = meta ? await store.listIds(NAMESPACE, { limit: 10_000 }) : [];
    for (const id of ids) {
      const r = await store.getRecord(NAMESPACE, id);
      if (r) byKey.set(r.keyId, (byKey.get(r.keyId) ?? 0) + 1);
    }
    state = { meta, count: ids.length, byKey, firstIds: ids.slice(0, SHOWN_RECORDS) };
    if (meta?.change && !app.lock) app.lock = { namespace: NAMESPACE, from: meta.change.from, to: meta.change.to };
    if (!meta?.change && app.lock && !busy) app.lock = undefined;
    app.render();
  }

  // --- creating the namespace
  const createKey = h('select', { id: 'namespace-create-key', 'aria-label': 'Key for the new namespace' });
  const create = h('button', { id: 'create-namespace', class: 'primary' }, `Create namespace “${NAMESPACE}”`);
  create.addEventListener('click', () =>
    app.run(create, async () => {
      if (!createKey.value) throw new Error('Create an enabled key first.');
      ns = await openNamespace({ name: NAMESPACE, kms, store, keyId: createKey.value, resume: false });
      await reload();
      return `Namespace “${NAMESPACE}” created under ${shortId(createKey.value)}.`;
    }),
  );
  const creation = h('div', { class: 'row' }, h('label', { class: 'inline' }, 'Key ', createKey), create);

  // --- writes
  const fill = h('button', { id: 'fill-namespace', class: 'write' }, `Fill with ${FILL_COUNT} records`);
  fill.addEventListener('click', () =>
    app.run(
      fill,
      async () => {
        const n = await open();
        if (!n) throw new Error('Create the namespace first.');
        busy = true;
        const started = performance.now();
        let done = 0;
        try {
          const ids = Array.from({ length: FILL_COUNT }, (_, i) => `note-${String(i + 1).padStart(4, '0')}`);
          const worker = async () => {
            for (let id = ids.shift(); id; id = ids.shift()) {
              await n.put(id, `Note ${id.slice(5)}: written ${app.now().toISOString()}, ${crypto.randomUUID()}`);
              progress.show('Filling', ++done, FILL_COUNT, started);
            }
          };
          await Promise.all(Array.from({ length: 8 }, worker));
        } finally {
          busy = false;
          await reload();
        }
        return `Wrote ${FILL_COUNT} records in ${formatSeconds((performance.now() - started) / 1000)}.`;
      },
      { refresh: false },
    ),
  );

  const recordId = h('input', { id: 'record-id', type: 'text', placeholder: 'record id', value: 'hello', 'aria-label': 'Record id' });
  const recordText = h('input', { id: 'record-text', type: 'text', placeholder: 'text', value: 'Hello, namespace!', 'aria-label': 'Record text' });
  const put = h('button', { id: 'put-record', class: 'write' }, 'Put');
  put.addEventListener('click', () =>
    app.run(
      put,
      async () => {
        const n = await open();
        if (!n) throw new Error('Create the namespace first.');
        await n.put(recordId.value, recordText.value);
        await reload();
        return `Record “${recordId.value}” written.`;
      },
      { refresh: false },
    ),
  );

  // --- key change
  const target = h('select', { id: 'namespace-target-key', 'aria-label': 'New key for the namespace' });
  const change = h('button', { id: 'change-key', class: 'primary write' }, 'Change key');
  change.addEventListener('click', () => runChange(change, target.value));
  const resume = h('button', { id: 'resume-change' }, 'Resume key change');
  resume.addEventListener('click', () => state.meta?.change && runChange(resume, state.meta.change.to));

  async function runChange(button: HTMLButtonElement, to: string): Promise<void> {
    await app.run(
      button,
      async () => {
        const n = await open();
        if (!n) throw new Error('Create the namespace first.');
        if (!to) throw new Error('Choose the new key.');
        const from = (await store.getMeta(NAMESPACE))?.change?.from ?? (await n.keyId());
        busy = true;
        app.lock = { namespace: NAMESPACE, from, to };
        app.render();
        const started = performance.now();
        progress.show('Re-wrapping', 0, state.count, started);
        try {
          await n.changeKey(to, { onProgress: (p) => progress.report(p) });
        } finally {
          busy = false;
          app.lock = undefined;
          await reload();
        }
        return `Namespace “${NAMESPACE}” now uses ${shortId(to)}: ${state.count} records re-wrapped in ${formatSeconds((performance.now() - started) / 1000)}, no data re-encrypted.`;
      },
      { refresh: false },
    );
  }

  const progress = progressBar();
  const info = h('dl', { class: 'summary', id: 'namespace-info' });
  const recordList = h('ul', { class: 'records', id: 'records' });
  const recordValue = h('p', { class: 'record-value', id: 'record-value' });
  const lockBanner = h('p', { class: 'banner lock', id: 'namespace-lock', role: 'status' });
  const content = h(
    'div',
    null,
    info,
    lockBanner,
    h('div', { class: 'row' }, fill, recordId, recordText, put),
    h('div', { class: 'row' }, h('label', { class: 'inline' }, 'New key ', target), change, resume),
    progress.el,
    h('h3', null, 'Records'),
    recordList,
    recordValue,
  );

  app.onRender(() => {
    const exists = state.meta !== undefined;
    creation.hidden = exists;
    content.hidden = !exists;
    const usable = app.keys.filter((k) => k.meta.KeyState === 'Enabled' && (k.meta.KeySpec ?? 'SYMMETRIC_DEFAULT') === 'SYMMETRIC_DEFAULT');
    fillSelect(
      createKey,
      usable.map((k) => [k.meta.KeyId, `${keyLabel(k)} (${shortId(k.meta.KeyId)})`]),
      app.selectedKeyId,
    );
    if (!exists) return;
    const meta = state.meta!;
    const current = app.key(meta.keyId);
    fillSelect(
      target,
      usable.filter((k) => k.meta.Arn !== meta.keyId).map((k) => [k.meta.Arn ?? k.meta.KeyId, `${keyLabel(k)} (${shortId(k.meta.KeyId)})`]),
    );

    const locked = app.lock?.namespace === NAMESPACE;
    for (const b of [fill, put, change]) if (!b.hasAttribute('aria-busy')) b.disabled = locked;
    resume.hidden = !meta.change || busy;
    lockBanner.hidden = !locked;
    if (locked) mount(lockBanner, '🔒 Locked while its key changes: writes are disabled, reads keep working.');

    const label = (arn: string) => {
      const k = app.key(arn);
      return k ? `${keyLabel(k)} (${shortId(arn)})` : shortId(arn);
    };
    mount(
      info,
      h('dt', null, 'Namespace'),
      h('dd', null, h('code', null, NAMESPACE)),
      h('dt', null, 'Key'),
      h('dd', { id: 'namespace-key', dataset: { keyArn: meta.keyId } }, current ? label(meta.keyId) : shortId(meta.keyId)),
      h('dt', null, 'Records'),
      h('dd', { id: 'namespace-count' }, String(state.count)),
      h('dt', null, 'Wrapped under'),
      h('dd', null, state.byKey.size === 0 ? '—' : [...state.byKey].map(([arn, n]) => `${label(arn)}: ${n}`).join(' · ')),
    );
    mount(
      recordList,
      state.firstIds.map((id) => {
        const read = h('button', { class: 'small' }, 'Read');
        read.addEventListener('click', () =>
          app.run(
            read,
            async () => {
              const n = await open();
              recordValue.textContent = `${id}: ${(await n?.getText(id)) ?? '(missing)'}`;
            },
            { refresh: false },
          ),
        );
        return h('li', null, h('code', null, id), read);
      }),
      state.count > SHOWN_RECORDS ? h('li', { class: 'hint' }, `… and ${state.count - SHOWN_RECORDS} more`) : null,
    );
  });

  void reload().catch((e) => app.say('error', String(e)));

  return h(
    'section',
    { class: 'panel', id: 'namespace-panel', 'aria-labelledby': 'namespace-title' },
    h('h2', { id: 'namespace-title' }, 'Namespace'),
    h(
      'p',
      { class: 'hint' },
      'Records encrypted under one KMS key, kept in IndexedDB. Changing the key re-wraps each record’s data key with ReEncrypt; the data is never decrypted.',
    ),
    creation,
    content,
  );
}

/** Keeps the chosen option when the choices are re-rendered. */
function fillSelect(select: HTMLSelectElement, options: [string, string][], preferred?: string): void {
  const keep = select.value;
  mount(select, options.length ? options.map(([value, text]) => h('option', { value }, text)) : h('option', { value: '' }, 'no enabled key'));
  const values = options.map(([v]) => v);
  select.value = values.includes(keep) ? keep : preferred && values.includes(preferred) ? preferred : (values[0] ?? '');
}

/** done/total, records per second and time left, as a bar. */
function progressBar() {
  const fillEl = h('div', { class: 'progress-fill' });
  const bar = h('div', { class: 'progress', id: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' }, fillEl);
  const text = h('span', { class: 'progress-text', id: 'progress-text' });
  const el = h('div', { class: 'progress-wrap', hidden: true }, bar, text);
  const report = (p: { done: number; total: number; recordsPerSecond: number; etaSeconds: number }, what = 'Re-wrapping') => {
    el.hidden = false;
    const pct = p.total === 0 ? 100 : Math.round((p.done / p.total) * 100);
    bar.setAttribute('aria-valuenow', String(pct));
    fillEl.style.width = `${pct}%`;
    text.textContent = `${what}: ${p.done} / ${p.total} records · ${Math.round(p.recordsPerSecond)} records/s · ETA ${p.done >= p.total ? 'done' : formatSeconds(p.etaSeconds)}`;
  };
  const show = (what: string, done: number, total: number, started: number) => {
    const rate = done / Math.max((performance.now() - started) / 1000, 1e-3);
    report({ done, total, recordsPerSecond: rate, etaSeconds: rate > 0 ? (total - done) / rate : Infinity }, what);
  };
  return { el, report, show };
}
