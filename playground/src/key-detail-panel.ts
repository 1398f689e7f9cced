/**
 * The selected key: its lifecycle and rotation actions, and its history as a timeline of key
 * material versions (oldest first; each rotation adds one, the newest is CURRENT for encryption,
 * every older one still decrypts what it encrypted).
 */
import type { App } from './app.js';
import { formatDate, formatDateTime, h, mount } from './dom.js';
import { keyLabel, type KeyView } from './keys.js';
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

  const period = h('input', { id: 'rotation-period', type: 'number', min: '90', max: '2560', value: '365', 'aria-label': 'Rotation period in days' });
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
      { class: 'group', role: 'group', 'aria-label': 'Rotation' },
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
        () => 'Rotated: new key material is current.',
      ),
    ),
  );

  const title = h('h2', { id: 'key-detail-title' }, 'Key');
  const summary = h('dl', { class: 'summary' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline', 'aria-label': 'Key material versions' });
  const note = h('p', { class: 'hint' });
  const content = h('div', null, summary, actions, h('h3', null, 'History'), timeline, note);
  const empty = h('p', { class: 'empty' }, 'Select or create a key.');

  app.onRender(() => {
    const k = app.selected;
    content.hidden = !k;
    empty.hidden = !!k;
    if (!k) return void (title.textContent = 'Key');
    title.textContent = keyLabel(k);
    renderSummary(summary, k);
    renderTimeline(timeline, note, k);
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
  );
}

function renderTimeline(ol: HTMLElement, note: HTMLElement, k: KeyView): void {
  if (!k.versions) {
    mount(ol);
    note.textContent =
      k.meta.KeyState === 'PendingDeletion'
        ? 'The history of a key pending deletion is not readable (AWS refuses ListKeyRotations). Cancel the deletion to see it.'
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
