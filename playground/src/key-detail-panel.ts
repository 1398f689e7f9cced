/**
 * The selected key: its lifecycle and rotation actions, and its history as a timeline of key
 * material versions (oldest first; each rotation adds one, the newest is CURRENT for encryption,
 * every older one still decrypts what it encrypted). A multi-Region key is replicated from here,
 * and its history shows one timeline per Region, primary first, each as that Region answers it:
 * a rotation of the primary adds the same version (the same KeyMaterialId) to every replica.
 */
import type { App } from './app.js';
import { REPLICA_REGIONS } from './backend.js';
import { formatDate, formatDateTime, h, mount } from './dom.js';
import { keyLabel, type KeyView, type RegionKeyView, type Version } from './keys.js';
import { stateBadge } from './keys-panel.js';

export function keyDetailPanel(app: App): HTMLElement {
  const kms = app.backend.kms;
  const keyId = () => app.selectedKeyId!;
  /** A button that makes one KMS call and says what happened. */
  const action = <T>(id: string, label: string, call: () => Promise<T>, done: (out: T) => string, title?: string) => {
    const b = h('button', { id, title }, label);
    b.addEventListener('click', () => app.run(b, async () => done(await call())));
    return b;
  };

  // Replicate a multi-Region key: ReplicateKey is called in the primary's Region.
  const replicaRegion = h('select', { id: 'replica-region', 'aria-label': 'Region to replicate to' });
  const replicate = h('button', { id: 'replicate-key', title: 'ReplicateKey: a replica with the same key id and the whole key material history' }, 'Replicate');
  replicate.addEventListener('click', () =>
    app.run(replicate, async () => {
      const primary = app.selected?.regions?.find((r) => r.role === 'PRIMARY')?.region ?? app.backend.region;
      const region = replicaRegion.value;
      const out = await app.backend.kmsIn(primary).replicateKey({ KeyId: keyId(), ReplicaRegion: region });
      return `Replicated to ${region}: ${out.ReplicaKeyMetadata.Arn ?? out.ReplicaKeyMetadata.KeyId}.`;
    }),
  );
  const replication = h(
    'div',
    { class: 'group', role: 'group', 'aria-label': 'Multi-Region', id: 'replication' },
    h('label', { class: 'inline' }, 'Replicate to ', replicaRegion),
    replicate,
  );

  const period = h('input', { id: 'rotation-period', type: 'number', min: '90', max: '2560', value: '365', 'aria-label': 'Rotation period in days' });
  const rotationNote = h(
    'span',
    { class: 'hint', id: 'rotation-note', hidden: true },
    'Only symmetric keys rotate (KMS refuses rotation for asymmetric and HMAC keys).',
  );
  const actions = h(
    'div',
    { class: 'actions' },
    h(
      'div',
      { class: 'group', role: 'group', 'aria-label': 'Key state' },
      action(
        'enable-key',
        'Enable',
        () => kms.enableKey({ KeyId: keyId() }),
        () => 'Key enabled.',
      ),
      action(
        'disable-key',
        'Disable',
        () => kms.disableKey({ KeyId: keyId() }),
        () => 'Key disabled.',
      ),
      action(
        'schedule-deletion',
        'Schedule deletion',
        () => kms.scheduleKeyDeletion({ KeyId: keyId(), PendingWindowInDays: 7 }),
        (out) => `Key scheduled for deletion on ${formatDate(out.DeletionDate)}.`,
        'Deletes the key after a 7-day waiting period (the shortest AWS allows)',
      ),
      action(
        'cancel-deletion',
        'Cancel deletion',
        () => kms.cancelKeyDeletion({ KeyId: keyId() }),
        () => 'Deletion cancelled; the key stays disabled until you enable it.',
      ),
    ),
    h(
      'div',
      { class: 'group', role: 'group', 'aria-label': 'Rotation', id: 'rotation-controls' },
      h('label', { class: 'inline' }, 'Period ', period, ' days'),
      action(
        'enable-rotation',
        'Enable rotation',
        () => kms.enableKeyRotation({ KeyId: keyId(), RotationPeriodInDays: Number(period.value) }),
        () => `Automatic rotation every ${period.value} days.`,
      ),
      action(
        'disable-rotation',
        'Disable rotation',
        () => kms.disableKeyRotation({ KeyId: keyId() }),
        () => 'Automatic rotation disabled.',
      ),
      action(
        'rotate-now',
        'Rotate now',
        () => kms.rotateKeyOnDemand({ KeyId: keyId() }),
        () => {
          const replicas = app.selected?.regions?.filter((r) => r.role === 'REPLICA').length ?? 0;
          return `Rotated: new key material is current${replicas ? ` in ${app.backend.region} and its ${replicas} replica${replicas === 1 ? '' : 's'}` : ''}.`;
        },
      ),
      rotationNote,
    ),
    replication,
  );
  const rotationControls = [period, ...actions.querySelectorAll<HTMLButtonElement>('#enable-rotation, #disable-rotation, #rotate-now')];

  const title = h('h2', { id: 'key-detail-title' }, 'Key');
  const summary = h('dl', { class: 'summary' });
  const historyTitle = h('h3', null, 'History');
  const timeline = h('ol', { class: 'timeline', id: 'timeline', 'aria-label': 'Key material versions' });
  const regions = h('div', { class: 'regions', id: 'region-timelines' });
  const note = h('p', { class: 'hint', id: 'history-note' });
  const content = h('div', null, summary, actions, historyTitle, timeline, regions, note);
  const empty = h('p', { class: 'empty' }, 'Select or create a key.');

  app.onRender(() => {
    const k = app.selected;
    content.hidden = !k;
    empty.hidden = !!k;
    if (!k) return void (title.textContent = 'Key');
    title.textContent = keyLabel(k);
    renderSummary(summary, k);
    const rotates = k.meta.KeySpec === 'SYMMETRIC_DEFAULT';
    for (const c of rotationControls) c.disabled = !rotates;
    rotationNote.hidden = rotates;
    renderReplication(replication, replicaRegion, replicate, k);
    historyTitle.textContent = k.regions ? 'History by Region' : 'History';
    timeline.hidden = !!k.regions;
    regions.hidden = !k.regions;
    if (k.regions) renderRegions(regions, note, k, k.regions, app.backend.region);
    else renderTimeline(timeline, note, k);
  });

  return h('section', { class: 'panel', id: 'key-detail', 'aria-labelledby': 'key-detail-title' }, title, empty, content);
}

function renderSummary(dl: HTMLElement, k: KeyView): void {
  const m = k.meta;
  const item = (term: string, ...value: (Node | string)[]) => [h('dt', null, term), h('dd', null, ...value)];
  mount(
    dl,
    item('ARN', h('code', { class: 'arn' }, m.Arn ?? m.KeyId)),
    item('State', stateBadge(m.KeyState ?? 'Unknown'), m.DeletionDate ? ` deleted on ${formatDate(m.DeletionDate)}` : ''),
    item('Created', m.CreationDate ? formatDateTime(m.CreationDate) : '—'),
    item('Rotation', k.rotation ? (k.rotation.enabled ? `every ${k.rotation.periodDays ?? 365} days, next ${formatDate(k.rotation.next)}` : 'off') : '—'),
    k.regions ? item('Multi-Region', multiRegionSummary(k.regions)) : [],
  );
}

function multiRegionSummary(regions: RegionKeyView[]): string {
  const primary = regions.find((r) => r.role === 'PRIMARY');
  const replicas = regions.filter((r) => r.role === 'REPLICA').map((r) => r.region);
  return `primary in ${primary?.region ?? '—'}; ${replicas.length ? `replicas in ${replicas.join(', ')}` : 'no replicas yet'}`;
}

/** The Replicate control: shown for a multi-Region key, offering the Regions it is not in yet. */
function renderReplication(group: HTMLElement, select: HTMLSelectElement, button: HTMLButtonElement, k: KeyView): void {
  group.hidden = !k.regions;
  if (!k.regions) return;
  const taken = new Set(k.regions.map((r) => r.region));
  const free = REPLICA_REGIONS.filter((r) => !taken.has(r));
  const keep = free.includes(select.value) ? select.value : free[0];
  mount(
    select,
    free.map((r) => h('option', { value: r, selected: r === keep }, r)),
  );
  if (keep) select.value = keep;
  select.disabled = free.length === 0;
  button.disabled = free.length === 0;
}

/**
 * One column per Region of a multi-Region key, primary first: its state and its own timeline,
 * as ListKeyRotations answered in that Region. The note says whether every Region has the
 * primary's versions (the same KeyMaterialIds, in the same order).
 */
function renderRegions(el: HTMLElement, note: HTMLElement, k: KeyView, regions: RegionKeyView[], home: string): void {
  mount(
    el,
    regions.map((r) => regionColumn(k, r, r.region === home)),
  );
  const primary = regions.find((r) => r.role === 'PRIMARY');
  const ids = (r: RegionKeyView | undefined) => r?.versions?.map((v) => v.keyMaterialId).join(',');
  const differ = regions.filter((r) => r !== primary && ids(r) !== ids(primary));
  const n = primary?.versions?.length ?? 0;
  note.textContent = !primary?.versions
    ? 'History not available in the primary Region.'
    : differ.length
      ? `Not yet the primary's ${n} version${n === 1 ? '' : 's'} in ${differ.map((r) => r.region).join(', ')}.`
      : `${regions.length} Region${regions.length === 1 ? '' : 's'}, the same ${n} key material version${n === 1 ? '' : 's'} (the same KeyMaterialIds) in each: a rotation of the primary reaches every replica in the same commit.`;
  note.dataset.inSync = String(!!primary?.versions && differ.length === 0);
}

function regionColumn(k: KeyView, r: RegionKeyView, home: boolean): HTMLElement {
  const head = h(
    'div',
    { class: 'region-head' },
    h('strong', { class: 'region-name' }, r.region),
    h('span', { class: `badge role-${r.role.toLowerCase()}` }, r.role),
    r.meta?.KeyState && r.meta.KeyState !== 'Enabled' ? stateBadge(r.meta.KeyState) : null,
    home ? h('span', { class: 'hint', title: 'The Region this page creates and lists keys in' }, 'this page') : null,
  );
  const body = r.error
    ? h('p', { class: 'failed region-error' }, h('strong', null, r.error.name), ` ${r.error.message}`)
    : !r.versions
      ? h('p', { class: 'hint' }, r.meta?.KeyState?.startsWith('Pending') ? 'History not readable while deletion is pending.' : 'History not available.')
      : h(
          'ol',
          { class: 'timeline compact', 'aria-label': `Key material versions in ${r.region}` },
          r.versions.map(compactVersion),
          k.rotation?.enabled && k.rotation.next
            ? h(
                'li',
                { class: 'version future' },
                h('span', { class: 'dot', 'aria-hidden': 'true' }),
                h('div', { class: 'line' }, h('span', { class: 'v' }, 'next'), h('span', { class: 'date' }, formatDate(k.rotation.next))),
              )
            : null,
        );
  return h(
    'section',
    { class: `region ${r.role.toLowerCase()}`, dataset: { region: r.region, role: r.role }, 'aria-label': `${r.region} (${r.role})` },
    head,
    body,
  );
}

function compactVersion(v: Version): HTMLElement {
  return h(
    'li',
    { class: `version ${v.current ? 'current' : ''}`, dataset: { version: String(v.n), keyMaterialId: v.keyMaterialId } },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h(
      'div',
      { class: 'line' },
      h('span', { class: 'v' }, `v${v.n}`),
      h('span', { class: `badge type-${v.type.toLowerCase()}` }, v.type === 'ORIGINAL' ? 'Original' : v.type),
      v.current ? h('span', { class: 'badge current' }, 'CURRENT') : null,
    ),
    h('code', { class: 'material', title: `${v.keyMaterialId}${v.date ? ` · ${formatDateTime(v.date)}` : ''}` }, v.keyMaterialId),
  );
}

function renderTimeline(ol: HTMLElement, note: HTMLElement, k: KeyView): void {
  if (!k.versions) {
    mount(ol);
    note.textContent =
      k.meta.KeyState === 'PendingDeletion'
        ? 'The history of a key pending deletion is not readable (AWS refuses ListKeyRotations). Cancel the deletion to see it.'
        : k.meta.KeySpec !== 'SYMMETRIC_DEFAULT'
          ? `A ${k.meta.KeySpec} key keeps its one key material for life: no rotations, no history.`
          : 'History not available.';
    return;
  }
  const versions = k.versions.map((v) =>
    h(
      'li',
      { class: `version ${v.current ? 'current' : ''}`, dataset: { version: String(v.n), keyMaterialId: v.keyMaterialId } },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', { class: 'v' }, `v${v.n}`),
      h('span', { class: 'date' }, v.date ? formatDateTime(v.date) : '—'),
      h('span', { class: `badge type-${v.type.toLowerCase()}` }, v.type === 'ORIGINAL' ? 'Original' : v.type),
      v.current ? h('span', { class: 'badge current' }, 'CURRENT') : null,
      h('code', { class: 'material', title: v.keyMaterialId }, v.keyMaterialId),
    ),
  );
  const next =
    k.rotation?.enabled && k.rotation.next
      ? h(
          'li',
          { class: 'version future' },
          h('span', { class: 'dot', 'aria-hidden': 'true' }),
          h('span', { class: 'v' }, 'next'),
          h('span', { class: 'date' }, formatDate(k.rotation.next)),
          h('span', { class: 'badge type-automatic' }, 'AUTOMATIC'),
          h('span', { class: 'hint' }, 'scheduled'),
        )
      : null;
  mount(ol, versions, next);
  note.textContent = `${k.versions.length} key material version${k.versions.length === 1 ? '' : 's'}. New encryptions use the current one; every older one still decrypts what it encrypted.`;
}
