/**
 * The edge-kms playground: keys and their rotation history (for a multi-Region key, one timeline
 * per Region), signatures and MACs (asymmetric and HMAC keys), envelope encryption of text and files, and an encrypted namespace whose key can be
 * changed, against an edge-kms running in this
 * tab (MSW + IndexedDB, the default) or any TrentService URL (`?endpoint=/` for the `npm start`
 * server that serves this page).
 */
import './style.css';
import { App } from './app.js';
import { connect, loadCredentials, saveCredentials, type Backend } from './backend.js';
import { cryptoPanel } from './crypto-panel.js';
import { $, errorMessage, formatDate, h, mount, shortId } from './dom.js';
import { keyDetailPanel } from './key-detail-panel.js';
import { keysPanel } from './keys-panel.js';
import { namespacePanel } from './namespace-panel.js';
import { signPanel } from './sign-panel.js';

const root = $('#app');

function backendControls(backend: Backend): HTMLElement {
  const remote = backend.mode === 'remote';
  const endpoint = h('input', {
    id: 'endpoint',
    type: 'url',
    value: remote ? backend.endpoint : `${location.origin}/`,
    'aria-label': 'TrentService URL',
    size: 28,
  });
  const creds = loadCredentials();
  const accessKeyId = h('input', { id: 'access-key-id', type: 'text', value: creds.accessKeyId, 'aria-label': 'Access key id' });
  const secret = h('input', { id: 'secret-access-key', type: 'password', value: creds.secretAccessKey, 'aria-label': 'Secret access key' });
  const connectButton = h('button', { id: 'connect', type: 'submit' }, remote ? 'Reconnect' : 'Connect');
  const useMock = h('button', { id: 'use-mock', type: 'button', hidden: !remote }, 'Back to in-browser mock');
  useMock.addEventListener('click', () => (location.search = ''));

  const form = h(
    'form',
    { class: 'backend', id: 'backend-form' },
    h('span', { class: `mode ${backend.mode}`, id: 'mode' }, remote ? 'Remote KMS' : 'In-browser KMS'),
    h('span', { class: 'hint' }, remote ? 'SigV4 over HTTP via @edge-kms/client' : 'MSW + IndexedDB, nothing leaves this tab'),
    h('label', { class: 'inline' }, remote ? 'TrentService URL ' : 'or use a TrentService URL ', endpoint),
    h(
      'details',
      { class: 'credentials' },
      h('summary', null, 'Credentials'),
      h('label', null, 'Access key id ', accessKeyId),
      h('label', null, 'Secret ', secret),
    ),
    connectButton,
    useMock,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    saveCredentials({ accessKeyId: accessKeyId.value, secretAccessKey: secret.value });
    const url = new URL(location.href);
    url.search = `?endpoint=${encodeURIComponent(endpoint.value)}`;
    location.href = url.href;
  });
  return form;
}

/** The mock's test clock: move it forward and watch automatic rotations (and deletions) happen. */
function clockControls(app: App): HTMLElement {
  const mock = app.backend.mock;
  if (!mock) return h('div', { class: 'clock', hidden: true });
  const now = h('span', { id: 'clock-now' });
  const advance = (days: number, label: string) => {
    const b = h('button', { id: `advance-${days}` }, label);
    b.addEventListener('click', () =>
      app.run(b, async () => {
        const before = app.keys.reduce((n, k) => n + (k.versions?.length ?? 0), 0);
        await mock.advanceDays(days);
        await app.refresh();
        const after = app.keys.reduce((n, k) => n + (k.versions?.length ?? 0), 0);
        return `Clock moved ${label.slice(1)}. ${after > before ? `${after - before} automatic rotation${after - before === 1 ? '' : 's'} happened.` : 'No rotation was due.'}`;
      }),
    );
    return b;
  };
  const reset = h('button', { id: 'reset', class: 'danger' }, 'Reset');
  reset.addEventListener('click', async () => {
    if (!confirm('Delete every key, version and namespace record of the in-browser KMS, and reset its clock?')) return;
    await app.run(reset, async () => {
      await mock.reset();
      location.reload();
    });
  });
  app.onRender(() => {
    const offsetDays = Math.round((mock.now() - Date.now()) / 86_400_000);
    mount(now, formatDate(mock.now()), offsetDays ? h('span', { class: 'offset' }, ` (+${offsetDays} d)`) : '');
  });
  return h('div', { class: 'clock', id: 'clock' }, h('span', { class: 'label' }, 'Test clock '), now, advance(30, '+30 days'), advance(365, '+1 year'), reset);
}

function lockBanner(app: App): HTMLElement {
  const el = h('div', { class: 'banner lock', id: 'lock-banner', role: 'status', hidden: true });
  app.onRender(() => {
    const lock = app.lock;
    el.hidden = !lock;
    if (lock) {
      mount(
        el,
        h('strong', null, `Namespace “${lock.namespace}” is locked`),
        `: its key is changing from ${shortId(lock.from)} to ${shortId(lock.to)}. Writes are disabled until the change completes; reads keep working.`,
      );
    }
  });
  return el;
}

async function main(): Promise<void> {
  let backend: Backend;
  try {
    backend = await connect();
  } catch (e) {
    const { name, message } = errorMessage(e);
    mount(root, h('p', { class: 'message error' }, h('strong', null, name), ` Cannot start the playground: ${message}`));
    throw e;
  }
  const messages = h('ul', { class: 'messages', id: 'messages', 'aria-live': 'polite' });
  const app = new App(backend, messages);
  mount(
    root,
    h('header', null, h('div', { class: 'title' }, h('h1', null, 'edge-kms ', h('span', null, 'playground')), clockControls(app)), backendControls(backend)),
    lockBanner(app),
    messages,
    h(
      'main',
      { class: 'columns' },
      h('div', { class: 'column' }, keysPanel(app), signPanel(app), cryptoPanel(app)),
      h('div', { class: 'column' }, keyDetailPanel(app), namespacePanel(app)),
    ),
  );
  try {
    await app.refresh();
  } catch (e) {
    const { name, message } = errorMessage(e);
    app.say('error', `${message} (${backend.endpoint})`, name);
    app.render();
  }
  document.body.dataset.ready = backend.mode;
}

void main();
