// The live feed client: one WebSocket to /api/v1/live, the state it mirrors (key → value),
// short histories of every series for charts, and reconnection with backoff. See
// daemon/strobed/service/live_feed.h for the protocol.

export interface Subscription {
  series: string[];
  graph?: boolean;
  alerts?: boolean;
  events?: boolean;
  rate: number;
}

export type Listener = (t: number) => void;

const HISTORY_MS = 180_000;
// Histories keep at most one sample per HISTORY_STEP_MS (the newest value replaces the last
// sample until the step has passed): at a 60 Hz feed, 200 series would otherwise append 12 000
// samples/s and keep 2 million for the 3-minute window, and the garbage collector's pauses
// would dominate the page's frame time. Rates and histogram deltas over ≥ 1 s windows lose
// nothing that matters at 10 samples/s.
const HISTORY_STEP_MS = 100;
// Frame handling times kept for the Performance figures (the newest FRAME_TIMES).
const FRAME_TIMES = 1024;

export class Live {
  state = new Map<string, any>();
  // key → [t ms, value] samples (numbers and histograms), newest last, HISTORY_MS long.
  history = new Map<string, Array<[number, any]>>();
  status: 'connecting' | 'live' | 'down' | 'auth' = 'connecting';
  lastError = '';
  frames = 0;
  // Milliseconds (performance.now()) each frame took to handle, listeners (views) included: a
  // ring of the newest FRAME_TIMES, for tests and benchmarks (window.strobe.live.frameTimes()).
  private times = new Float64Array(FRAME_TIMES);
  private ws: WebSocket | null = null;
  private sub: Subscription = { series: [], rate: 10 };
  private listeners = new Set<Listener>();
  private statusListeners = new Set<() => void>();
  private backoff = 250;
  private timer: number | undefined;

  constructor(private token: () => string) {}

  onFrame(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  onStatus(l: () => void) {
    this.statusListeners.add(l);
  }

  subscribe(sub: Subscription) {
    this.sub = sub;
    this.send();
  }

  connect() {
    clearTimeout(this.timer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
    }
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/v1/live`);
    this.ws = ws;
    this.setStatus('connecting');
    ws.onopen = () => {
      this.backoff = 250;
      this.send();
    };
    ws.onmessage = (m) => this.onMessage(JSON.parse(m.data as string));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.status === 'auth') return; // waits for a token
      this.setStatus('down');
      this.timer = window.setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 3000);
    };
  }

  private send() {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ type: 'subscribe', token: this.token() || undefined, ...this.sub }));
  }

  private setStatus(s: Live['status']) {
    this.status = s;
    this.statusListeners.forEach((l) => l());
  }

  // The newest frame handling times (ms), oldest first.
  frameTimes(): number[] {
    const n = Math.min(this.frames, FRAME_TIMES);
    const out: number[] = [];
    for (let i = this.frames - n; i < this.frames; i++) out.push(this.times[i % FRAME_TIMES]);
    return out;
  }

  private onMessage(m: any) {
    if (m.type === 'error') {
      this.lastError = m.message;
      if (m.code === 401) this.setStatus('auth');
      return;
    }
    if (m.type !== 'frame') return;
    const t0 = performance.now();
    if (this.status !== 'live') this.setStatus('live');
    if (m.full) this.state.clear();
    for (const k of m.del ?? []) this.state.delete(k);
    for (const k in m.set ?? {}) this.state.set(k, m.set[k]);
    // A full frame starts a new subscription: forget the history of keys it no longer has.
    if (m.full) for (const k of [...this.history.keys()]) if (!this.state.has(k)) this.history.delete(k);
    const t = m.t as number;
    for (const [k, v] of this.state) {
      if (k.startsWith('meta:') || k === 'alerts' || k.startsWith('ev:') || k.startsWith('graph:')) continue;
      let h = this.history.get(k);
      if (!h) this.history.set(k, (h = []));
      const n = h.length;
      if (n >= 2 && t - h[n - 2][0] < HISTORY_STEP_MS) {
        h[n - 1][0] = t;
        h[n - 1][1] = v;
      } else {
        h.push([t, v]);
      }
      while (h.length > 2 && h[0][0] < t - HISTORY_MS) h.shift();
    }
    this.listeners.forEach((l) => l(t));
    this.times[this.frames % FRAME_TIMES] = performance.now() - t0;
    this.frames++;
  }
}

// The stream events of the state (keys ev:…), oldest first.
export function liveEvents(state: Map<string, any>): any[] {
  const out: any[] = [];
  for (const [k, v] of state) if (k.startsWith('ev:')) out.push(v);
  return out.sort((a, b) => (a.end_ns ?? 0) - (b.end_ns ?? 0));
}

// `name{a="x",b="y"}` → {name, labels}.
export function parseKey(key: string): { name: string; labels: Record<string, string> } {
  const i = key.indexOf('{');
  if (i < 0) return { name: key, labels: {} };
  const labels: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  const body = key.slice(i + 1, -1);
  while ((m = re.exec(body))) labels[m[1]] = m[2].replace(/\\(.)/g, '$1');
  return { name: key.slice(0, i), labels };
}

// Per-second rate of a counter over the last `windowMs` of its history (0 when unknown).
export function rate(h: Array<[number, any]> | undefined, windowMs = 1000, at?: number): number {
  if (!h || h.length < 2) return 0;
  const end = at ?? h[h.length - 1][0];
  let j = h.length - 1;
  while (j > 0 && h[j][0] > end) j--;
  let i = j;
  while (i > 0 && h[j][0] - h[i - 1][0] <= windowMs) i--;
  if (i === j) i = Math.max(0, j - 1);
  const dt = (h[j][0] - h[i][0]) / 1000;
  const a = Array.isArray(h[i][1]) ? h[i][1][0] : h[i][1];
  const b = Array.isArray(h[j][1]) ? h[j][1][0] : h[j][1];
  return dt > 0 ? Math.max(0, (b - a) / dt) : 0;
}

// Bucket-count deltas of a histogram series over the last windowMs.
export function histDelta(h: Array<[number, any]> | undefined, windowMs: number): number[] | null {
  if (!h || h.length < 2) return null;
  const last = h[h.length - 1];
  let i = h.length - 1;
  while (i > 0 && last[0] - h[i - 1][0] <= windowMs) i--;
  if (i === h.length - 1) i--;
  const a: number[] = h[i][1][2];
  const b: number[] = last[1][2];
  return b.map((v, k) => Math.max(0, v - (a[k] ?? 0)));
}

// Quantile q of per-bucket counts with upper `bounds` (the last bucket is +Inf): linear
// interpolation inside the bucket, as Prometheus' histogram_quantile does.
export function quantile(counts: number[], bounds: number[], q: number): number {
  const total = counts.reduce((s, c) => s + c, 0);
  if (total === 0) return NaN;
  const rank = q * total;
  let cum = 0;
  for (let i = 0; i < counts.length; i++) {
    if (cum + counts[i] >= rank && counts[i] > 0) {
      const lo = i === 0 ? 0 : bounds[i - 1];
      const hi = i < bounds.length ? bounds[i] : bounds[bounds.length - 1];
      return lo + (hi - lo) * ((rank - cum) / counts[i]);
    }
    cum += counts[i];
  }
  return bounds[bounds.length - 1];
}
