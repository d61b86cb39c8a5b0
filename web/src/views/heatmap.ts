// Latency heatmap: time (one column per second) × latency bucket (the histogram's `le`
// buckets), colour = requests in that bucket during that second, with the p50 and p99 lines of
// each column. Per service (or all), from the histograms on the live feed.
import { histDelta, parseKey, quantile } from '../live';
import type { ViewCtx } from '../main';
import { card, el, fmtMs } from '../util';
import { LATENCY } from './overview';

const COLUMNS = 120;

export function heatmap(root: HTMLElement, ctx: ViewCtx): () => void {
  const metric = ctx.params.get('metric') ?? LATENCY;
  const service = ctx.params.get('service') ?? '';
  ctx.live.subscribe({ rate: 4, series: [metric] });
  const pick = el('select', { id: 'heatmap-service' }) as HTMLSelectElement;
  const canvas = el('canvas', { id: 'heatmap', width: '960', height: '360' }) as HTMLCanvasElement;
  const legend = el('p', { class: 'muted' }, `${metric}: columns are seconds, rows latency buckets; lines p50 (white) and p99 (orange).`);
  root.append(card('Latency heatmap', el('div', { class: 'filters' }, pick), canvas, legend));
  pick.addEventListener('change', () => ctx.navigate('heatmap', pick.value ? { service: pick.value, metric } : { metric }));
  const columns: Array<{ counts: number[] }> = [];
  let last = 0;
  const off = ctx.live.onFrame((t) => {
    if (t - last < 1000) return;
    last = t;
    const bounds: number[] = ctx.live.state.get(`meta:${metric}`)?.bounds ?? [];
    let counts: number[] = [];
    const services = new Set<string>();
    for (const [k, h] of ctx.live.history) {
      const { name, labels } = parseKey(k);
      if (name !== metric) continue;
      if (labels.service) services.add(labels.service);
      if (service && labels.service !== service) continue;
      const d = histDelta(h, 1000);
      if (d) counts = d.map((c, i) => c + (counts[i] ?? 0));
    }
    if (pick.options.length !== services.size + 1) {
      pick.replaceChildren(el('option', { value: '' }, 'all services'), ...[...services].sort().map((s) => el('option', { value: s }, s)));
      pick.value = service;
    }
    columns.push({ counts });
    if (columns.length > COLUMNS) columns.shift();
    if (!ctx.paused()) draw(canvas, columns, bounds);
  });
  return off;
}

function draw(canvas: HTMLCanvasElement, columns: Array<{ counts: number[] }>, bounds: number[]) {
  const g = canvas.getContext('2d')!;
  const css = getComputedStyle(document.documentElement);
  const W = canvas.width, H = canvas.height, left = 70;
  g.fillStyle = css.getPropertyValue('--panel').trim() || '#111';
  g.fillRect(0, 0, W, H);
  // Rows: only the bucket range that saw data, so the picture is not mostly empty.
  let lo = Infinity, hi = -1, max = 1;
  for (const c of columns) c.counts.forEach((v, i) => { if (v > 0) { lo = Math.min(lo, i); hi = Math.max(hi, i); max = Math.max(max, v); } });
  if (hi < 0) return;
  lo = Math.max(0, lo - 1); hi = Math.min(bounds.length, hi + 1);
  const rows = hi - lo + 1, rh = H / rows, cw = (W - left) / COLUMNS;
  columns.forEach((c, x) => {
    for (let r = lo; r <= hi; r++) {
      const v = c.counts[r] ?? 0;
      if (!v) continue;
      const a = Math.log1p(v) / Math.log1p(max);
      g.fillStyle = `hsla(${210 - 180 * a}, 80%, ${25 + 40 * a}%, ${0.3 + 0.7 * a})`;
      g.fillRect(left + x * cw, H - (r - lo + 1) * rh, Math.ceil(cw), Math.ceil(rh));
    }
  });
  g.fillStyle = css.getPropertyValue('--muted').trim() || '#888';
  g.font = '11px sans-serif';
  for (let r = lo; r <= hi; r++) g.fillText(r < bounds.length ? `≤ ${fmtMs(bounds[r] * 1000)}` : '+Inf', 4, H - (r - lo) * rh - rh / 2 + 4);
  // Percentile lines: position inside the bucket by linear interpolation.
  const y = (sec: number) => {
    let i = bounds.findIndex((b) => sec <= b);
    if (i < 0) i = bounds.length;
    const b0 = i === 0 ? 0 : bounds[i - 1], b1 = bounds[Math.min(i, bounds.length - 1)];
    const frac = b1 > b0 ? (sec - b0) / (b1 - b0) : 0.5;
    return H - (i - lo + frac) * rh;
  };
  for (const [q, colour] of [[0.5, '#ffffff'], [0.99, '#ff9f40']] as Array<[number, string]>) {
    g.strokeStyle = colour;
    g.lineWidth = 1.5;
    g.beginPath();
    let started = false;
    columns.forEach((c, x) => {
      const v = quantile(c.counts, bounds, q);
      if (!isFinite(v)) return;
      const px = left + x * cw + cw / 2, py = y(v);
      if (started) g.lineTo(px, py); else g.moveTo(px, py);
      started = true;
    });
    g.stroke();
  }
}
