// strobe's dashboard: a single page, served by `strobe serve` itself. The URL hash encodes the
// view (#/overview, #/graph?service=auth, #/traces?id=…), so a view can be shared.
import './style.css';
import { Live } from './live';
import { api, el, setToken, token } from './util';
import { overview } from './views/overview';
import { graph } from './views/graph';
import { traces } from './views/traces';
import { heatmap } from './views/heatmap';
import { stream } from './views/stream';
import { alerts } from './views/alerts';
import { events } from './views/events';
import { explore } from './views/explore';

export interface ViewCtx {
  live: Live;
  params: URLSearchParams;
  paused: () => boolean;
  navigate: (view: string, params?: Record<string, string>) => void;
}
export type View = (root: HTMLElement, ctx: ViewCtx) => () => void;

const views: Array<[string, string, View]> = [
  ['overview', 'Overview', overview],
  ['graph', 'Service graph', graph],
  ['traces', 'Traces', traces],
  ['heatmap', 'Latency heatmap', heatmap],
  ['stream', 'Streams', stream],
  ['alerts', 'Alerts', alerts],
  ['events', 'Events', events],
  ['explore', 'Metrics', explore],
];

const app = document.getElementById('app')!;
const theme = localStorage.getItem('strobe.theme') ?? 'dark';
document.documentElement.dataset.theme = theme;

const live = new Live(token);
let paused = false;
let cleanup: (() => void) | null = null;

const nav = el('nav', { class: 'nav' });
const status = el('span', { class: 'status', id: 'status' }, 'connecting');
const pauseBtn = el('button', { id: 'pause', title: 'Freeze the view (p)' }, 'Pause');
const themeBtn = el('button', { id: 'theme', title: 'Dark / light (t)' }, 'Theme');
const header = el('header', {}, el('span', { class: 'brand' }, 'strobe'), nav, status, pauseBtn, themeBtn);
const main = el('main', { id: 'view' });
app.append(header, main);

for (const [id, title] of views) {
  nav.append(el('a', { href: `#/${id}`, id: `nav-${id}` }, title));
}

pauseBtn.onclick = () => togglePause();
themeBtn.onclick = () => {
  const t = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = t;
  localStorage.setItem('strobe.theme', t);
};
function togglePause() {
  paused = !paused;
  pauseBtn.textContent = paused ? 'Resume' : 'Pause';
  pauseBtn.classList.toggle('on', paused);
  document.body.classList.toggle('paused', paused);
}

document.addEventListener('keydown', (e) => {
  if ((e.target as HTMLElement).closest('input, textarea, select')) return;
  if (e.key === 'p') togglePause();
  else if (e.key === 't') themeBtn.click();
  else if (e.key >= '1' && e.key <= String(views.length)) navigate(views[Number(e.key) - 1][0]);
});

live.onStatus(() => {
  status.textContent = live.status === 'auth' ? 'token needed' : live.status;
  status.className = `status ${live.status}`;
  if (live.status === 'auth') askToken();
});

function askToken() {
  if (document.getElementById('token-dialog')) return;
  const input = el('input', { id: 'token-input', type: 'password', placeholder: 'bearer token' }) as HTMLInputElement;
  const form = el(
    'form',
    { id: 'token-dialog', class: 'dialog' },
    el('p', {}, live.lastError === 'invalid token' ? 'That token was refused. Token:' : 'This strobe needs a token:'),
    input,
    el('button', { type: 'submit' }, 'Connect'),
  );
  form.onsubmit = (e) => {
    e.preventDefault();
    setToken(input.value);
    form.remove();
    live.connect();
  };
  document.body.append(form);
  input.focus();
}

function navigate(view: string, params: Record<string, string> = {}) {
  const q = new URLSearchParams(params).toString();
  location.hash = `#/${view}${q ? '?' + q : ''}`;
}

function route() {
  const m = /^#\/([a-z]+)(?:\?(.*))?$/.exec(location.hash);
  const id = m?.[1] ?? 'overview';
  const entry = views.find((v) => v[0] === id) ?? views[0];
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.id === `nav-${entry[0]}`);
  cleanup?.();
  main.replaceChildren();
  main.dataset.view = entry[0];
  cleanup = entry[2](main, { live, params: new URLSearchParams(m?.[2] ?? ''), paused: () => paused, navigate });
}

window.addEventListener('hashchange', route);
route();
live.connect();
// Exposed for tests and the curious.
(window as any).strobe = { live, api };
