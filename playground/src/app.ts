/**
 * The page's shared state: the backend, the keys as last read, the selected key, the namespace
 * lock. Panels read it in their render() and change it through refresh()/select()/run(); every
 * change re-renders all panels (they keep their own inputs, so nothing typed is lost).
 */
import type { Backend } from './backend.js';
import { errorMessage, h } from './dom.js';
import { loadKeys, type KeyView } from './keys.js';

export interface Lock {
  namespace: string;
  from: string;
  to: string;
}

export class App {
  keys: KeyView[] = [];
  selectedKeyId?: string;
  /** Set while a namespace key change runs: the namespace refuses writes. */
  lock?: Lock;
  private readonly renderers: (() => void)[] = [];

  constructor(
    readonly backend: Backend,
    private readonly messages: HTMLElement,
  ) {}

  /** The KMS's time: the mock's test clock, or this machine's. */
  now(): Date {
    return new Date(this.backend.mock?.now() ?? Date.now());
  }

  get selected(): KeyView | undefined {
    return this.keys.find((k) => k.meta.KeyId === this.selectedKeyId);
  }

  key(keyIdOrArn: string): KeyView | undefined {
    return this.keys.find((k) => k.meta.KeyId === keyIdOrArn || k.meta.Arn === keyIdOrArn);
  }

  onRender(render: () => void): void {
    this.renderers.push(render);
  }

  render(): void {
    for (const r of this.renderers) r();
  }

  /** Reads every key again, then re-renders. */
  async refresh(): Promise<void> {
    this.keys = await loadKeys(this.backend);
    if (!this.selected) this.selectedKeyId = this.keys[0]?.meta.KeyId;
    this.render();
  }

  select(keyId: string): void {
    this.selectedKeyId = keyId;
    this.render();
  }

  /**
   * Runs a user action: its button is disabled meanwhile, a failure is shown with its AWS error
   * name, and the keys are read again afterwards (unless `refresh: false`).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: an action may answer a status line or nothing at all
  async run(button: HTMLButtonElement | undefined, action: () => Promise<string | void>, o: { refresh?: boolean } = {}): Promise<boolean> {
    if (button) {
      button.disabled = true;
      button.setAttribute('aria-busy', 'true');
    }
    let ok = true;
    try {
      const done = await action();
      if (done) this.say('ok', done);
    } catch (e) {
      ok = false;
      const { name, message } = errorMessage(e);
      this.say('error', message, name);
      console.error(e);
    }
    if (o.refresh !== false) {
      await this.refresh().catch((e) => {
        const { name, message } = errorMessage(e);
        this.say('error', message, name);
      });
    }
    if (button) {
      button.removeAttribute('aria-busy');
      button.disabled = false;
    }
    this.render();
    return ok;
  }

  /** Shows a message at the top of the page (the newest first; a few are kept). */
  say(kind: 'ok' | 'error', text: string, errorName?: string): void {
    const item = h(
      'li',
      { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      errorName ? h('strong', { class: 'error-name' }, errorName) : null,
      errorName ? ' ' : null,
      text,
      h('button', { class: 'dismiss', title: 'Dismiss', 'aria-label': 'Dismiss', onclick: () => item.remove() }, '×'),
    );
    this.messages.prepend(item);
    while (this.messages.children.length > 3) this.messages.lastElementChild!.remove();
  }
}
