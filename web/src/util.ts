// Small DOM and API helpers shared by the views.

export function el(tag: string, attrs: Record<string, string> = {}, ...children: Array<Node | string>): HTMLElement {
  const e = document.createElement(tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  e.append(...children);
  return e;
}

export function svg(tag: string, attrs: Record<string, string | number> = {}): SVGElement {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}

export function token(): string {
  return sessionStorage.getItem('strobe.token') ?? '';
}
export function setToken(t: string) {
  sessionStorage.setItem('strobe.token', t);
}

// GET a JSON API path with the bearer token when one is set.
export async function api(path: string): Promise<any> {
  const t = token();
  const r = await fetch(path, { headers: t ? { Authorization: `Bearer ${t}` } : {} });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

export function fmt(v: number, digits = 3): string {
  if (!isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  return Number(v.toPrecision(digits)).toString();
}

export function fmtMs(ms: number): string {
  if (!isFinite(ms)) return '–';
  if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
  if (ms >= 1) return ms.toFixed(1) + ' ms';
  return (ms * 1000).toFixed(0) + ' µs';
}

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return (b / 2 ** 30).toFixed(2) + ' GiB';
  if (b >= 2 ** 20) return (b / 2 ** 20).toFixed(1) + ' MiB';
  return (b / 1024).toFixed(0) + ' KiB';
}

export function table(head: string[], rows: Array<Array<string | Node>>, attrs: Record<string, string> = {}): HTMLElement {
  const t = el('table', attrs);
  t.append(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))));
  const tb = el('tbody');
  for (const r of rows) tb.append(el('tr', {}, ...r.map((c) => el('td', {}, c))));
  t.append(tb);
  return t;
}

export function card(title: string, ...body: Array<Node | string>): HTMLElement {
  return el('section', { class: 'card' }, el('h2', {}, title), ...body);
}

// Colour from green (0) to red (1).
export function health(x: number): string {
  const v = Math.max(0, Math.min(1, x));
  return `hsl(${Math.round(130 - 130 * v)}, 65%, 48%)`;
}
