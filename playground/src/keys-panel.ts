/**
 * The key list: create a key (symmetric, a signing key pair or an HMAC key; single-Region, or
 * multi-Region: an `mrk-` key that can be replicated to other Regions), and every key of the page's Region with its state, spec and rotation at a glance.
 */
import type { App } from './app.js';
import { ON_DEMAND_LIMIT } from './backend.js';
import { formatDate, h, mount, shortId } from './dom.js';
import { keyLabel, type KeyView } from './keys.js';

/** The key specs "Create key" offers: a symmetric encryption key, signing key pairs, an HMAC key. */
const KEY_SPECS = [
  ['SYMMETRIC_DEFAULT', 'Symmetric'],
  ['ECC_NIST_P256', 'ECC P-256'],
  ['ECC_NIST_EDWARDS25519', 'Ed25519'],
  ['ECC_SECG_P256K1', 'secp256k1'],
  ['RSA_2048', 'RSA 2048'],
  ['ML_DSA_44', 'ML-DSA 44'],
  ['HMAC_256', 'HMAC 256'],
] as const;
type KeySpecChoice = (typeof KEY_SPECS)[number][0];

/** CreateKey's KeySpec and KeyUsage for a choice (nothing for the default symmetric key). */
function keySpecInput(spec: KeySpecChoice): { KeySpec?: KeySpecChoice; KeyUsage?: 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC' } {
  if (spec === 'SYMMETRIC_DEFAULT') return {};
  return { KeySpec: spec, KeyUsage: spec.startsWith('HMAC_') ? 'GENERATE_VERIFY_MAC' : 'SIGN_VERIFY' };
}

export function keysPanel(app: App): HTMLElement {
  const description = h('input', { id: 'new-key-description', type: 'text', placeholder: 'Description (optional)', 'aria-label': 'New key description' });
  const spec = h(
    'select',
    { id: 'new-key-spec', 'aria-label': 'New key spec' },
    KEY_SPECS.map(([value, label]) => h('option', { value }, label)),
  );
  const multiRegion = h('input', { id: 'new-key-multi-region', type: 'checkbox' });
  const create = h('button', { id: 'create-key', type: 'submit', class: 'primary' }, 'Create key');
  const onSubmit = (e: Event) => {
    e.preventDefault();
    void app.run(create, async () => {
      const { KeyMetadata } = await app.backend.kms.createKey({
        Description: description.value.trim() || undefined,
        MultiRegion: multiRegion.checked || undefined,
        ...keySpecInput(spec.value as KeySpecChoice),
      });
      app.selectedKeyId = KeyMetadata.KeyId;
      description.value = '';
      multiRegion.checked = false;
      const kind = KeyMetadata.KeySpec && KeyMetadata.KeySpec !== 'SYMMETRIC_DEFAULT' ? `${KeyMetadata.KeySpec} ` : '';
      return `Created ${kind}${KeyMetadata.MultiRegion ? `multi-Region key ${KeyMetadata.KeyId} in ${app.backend.region}` : `key ${KeyMetadata.KeyId}`}.`;
    });
  };

  const body = h('tbody');
  const empty = h('p', { class: 'empty' }, 'No keys yet: create one.');
  const table = h(
    'table',
    { class: 'keys', id: 'keys-table' },
    h('thead', null, h('tr', null, ...['Key', 'State', 'Spec', 'Rotation', 'Next rotation', 'On-demand left'].map((t) => h('th', { scope: 'col' }, t)))),
    body,
  );

  app.onRender(() => {
    mount(
      body,
      app.keys.map((k) => row(app, k)),
    );
    empty.hidden = app.keys.length > 0;
    table.hidden = app.keys.length === 0;
  });

  return h(
    'section',
    { class: 'panel', id: 'keys-panel', 'aria-labelledby': 'keys-title' },
    h('h2', { id: 'keys-title' }, 'Keys'),
    h(
      'form',
      { class: 'row', onsubmit: onSubmit },
      description,
      spec,
      h('label', { class: 'inline', title: 'An mrk- key whose key material and rotations its replicas in other Regions share' }, multiRegion, 'Multi-Region'),
      create,
    ),
    h('div', { class: 'table-wrap' }, table),
    empty,
  );
}

function row(app: App, k: KeyView): HTMLTableRowElement {
  const m = k.meta;
  const selected = m.KeyId === app.selectedKeyId;
  const rotation = k.rotation ? (k.rotation.enabled ? `On · ${k.rotation.periodDays ?? 365} d` : 'Off') : '—';
  const tr = h(
    'tr',
    { class: selected ? 'selected' : '', dataset: { keyId: m.KeyId }, tabIndex: 0, 'aria-selected': String(selected) },
    h(
      'td',
      null,
      h('div', { class: 'key-name' }, keyLabel(k)),
      h('code', { class: 'key-id', title: m.Arn ?? m.KeyId }, shortId(m.KeyId)),
      m.KeyManager === 'AWS' ? h('span', { class: 'tag' }, 'AWS managed') : null,
      k.regions
        ? h('span', { class: 'tag multi-region', title: k.regions.map((r) => r.region).join(', ') }, `Multi-Region · ${regionCount(k.regions.length)}`)
        : null,
    ),
    h('td', null, stateBadge(m.KeyState ?? 'Unknown')),
    h('td', { class: 'spec' }, m.KeySpec ?? '—'),
    h('td', { class: 'rotation' }, rotation),
    h(
      'td',
      { class: 'next-rotation' },
      k.rotation?.enabled ? formatDate(k.rotation.next) : m.KeyState === 'PendingDeletion' ? `deleted ${formatDate(m.DeletionDate)}` : '—',
    ),
    h('td', { class: 'on-demand-left' }, k.onDemandLeft === undefined ? '—' : `${k.onDemandLeft} of ${ON_DEMAND_LIMIT}`),
  );
  tr.addEventListener('click', () => app.select(m.KeyId));
  tr.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && app.select(m.KeyId));
  return tr;
}

const regionCount = (n: number) => `${n} Region${n === 1 ? '' : 's'}`;

export function stateBadge(state: string): HTMLElement {
  return h(
    'span',
    { class: `badge state-${state.toLowerCase()}` },
    state === 'PendingDeletion' ? 'Pending deletion' : state === 'PendingReplicaDeletion' ? 'Pending replica deletion' : state,
  );
}
