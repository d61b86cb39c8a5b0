// Metrics explorer: any series strobe holds, by name (prefix with *) and label matchers, live
// from the feed; and PromQL instant queries through /api/v1/query (the alert rules' language).
import { LiveChart } from '../chart';
import { rate } from '../live';
import type { ViewCtx } from '../main';
import { api, card, el, fmt, table } from '../util';

export function explore(root: HTMLElement, ctx: ViewCtx): () => void {
  const sel = ctx.params.get('s') ?? 'strobe_live_*';
  const q = ctx.params.get('q') ?? '';
  // `rate` (1–60 updates/s, default 4): how fast the feed sends; the table and chart still
  // redraw once a second.
  const hz = Math.min(60, Math.max(1, Number(ctx.params.get('rate')) || 4));
  ctx.live.subscribe({ rate: hz, series: sel.split(/\s+/).filter(Boolean) });
  const input = el('input', { id: 'explore-selector', value: sel, size: '50' }) as HTMLInputElement;
  const pq = el('input', { id: 'explore-promql', value: q, size: '50', placeholder: 'PromQL, e.g. rate(demo_http_requests_total[1m])' }) as HTMLInputElement;
  const form = el('form', { class: 'filters' }, input, el('button', { type: 'submit' }, 'Show'));
  const qform = el('form', { class: 'filters' }, pq, el('button', { type: 'submit' }, 'Query'));
  form.onsubmit = (e) => { e.preventDefault(); ctx.navigate('explore', { s: input.value, q: pq.value }); };
  qform.onsubmit = form.onsubmit;
  const list = el('div', { id: 'explore-series' });
  const chartBox = el('div', { class: 'chart' });
  const result = el('div', { id: 'explore-result' });
  root.append(card('Series (live)', form, chartBox, list), card('PromQL', qform, result));
  const chart = new LiveChart(chartBox, fmt);
  if (q) {
    api(`/api/v1/query?query=${encodeURIComponent(q)}`).then((r) => {
      const res = r.data?.result ?? [];
      result.replaceChildren(table(['series', 'value'], (Array.isArray(res) ? res : []).map((x: any) => [JSON.stringify(x.metric), String(x.value?.[1])])));
    }, (e) => result.replaceChildren(el('p', { class: 'muted' }, String(e))));
  }
  let last = 0;
  const off = ctx.live.onFrame((t) => {
    if (t - last < 1000) return;
    last = t;
    const rows: string[][] = [];
    const values: Record<string, number> = {};
    for (const [k, v] of ctx.live.state) {
      if (k.startsWith('meta:') || typeof v !== 'number' && !Array.isArray(v)) continue;
      const type = ctx.live.state.get('meta:' + k.split('{')[0])?.type;
      const shown = type === 'counter' ? rate(ctx.live.history.get(k), 5000) : Array.isArray(v) ? v[0] : v;
      rows.push([k, type ?? '', type === 'counter' ? `${fmt(shown)}/s` : fmt(shown)]);
      if (Object.keys(values).length < 8) values[k] = shown;
    }
    chart.push(t, values, !ctx.paused());
    if (!ctx.paused()) list.replaceChildren(table(['series', 'type', 'value (counters: rate)'], rows.slice(0, 500)));
  });
  return () => { off(); chart.destroy(); };
}
