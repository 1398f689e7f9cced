/** Small DOM and formatting helpers for the playground (no framework). */

type Child = Node | string | number | false | null | undefined;
type Props = Record<string, unknown> & { class?: string; dataset?: Record<string, string>; style?: string };

/** Creates an element: h('button', { class: 'primary', onclick: go }, 'Go'). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props | null = null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') el.className = String(value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'style') el.setAttribute('style', String(value));
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value as EventListener);
    else if (name in el && typeof value !== 'string') (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
  return el;
}

export const $ = <T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T => {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
};

/** Replaces an element's children. */
export function mount(parent: HTMLElement, ...children: (Child | Child[])[]): void {
  parent.replaceChildren();
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) parent.append(typeof c === 'object' ? c : String(c));
}

export const formatDate = (d: Date | number | undefined): string => {
  if (d === undefined) return '—';
  const date = typeof d === 'number' ? new Date(d) : d;
  return date.toISOString().slice(0, 10);
};

export const formatDateTime = (d: Date | number): string => {
  const date = typeof d === 'number' ? new Date(d) : d;
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 16)} UTC`;
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.round(s / 60)} min`;
}

/** The first characters of a key id, enough to tell keys apart (after the `mrk-` of a multi-Region key). */
export const shortId = (id: string): string => {
  const bare = id.slice(id.lastIndexOf('/') + 1);
  const prefix = bare.startsWith('mrk-') ? 4 : 0;
  return bare.length > prefix + 13 ? `${bare.slice(0, prefix + 8)}…` : bare;
};

/** A readable message for anything thrown: AWS errors carry their exception name. */
export function errorMessage(e: unknown): { name: string; message: string } {
  if (e instanceof TypeError && /fetch|network/i.test(e.message)) return { name: 'NetworkError', message: `Cannot reach the KMS endpoint (${e.message}).` };
  if (e instanceof Error) return { name: e.name || 'Error', message: e.message };
  return { name: 'Error', message: String(e) };
}
