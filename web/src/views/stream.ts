// Stream windows, CEP matches and anomaly scores: the engine's latest aggregates
// (/api/v1/stream/series) and its notable events from the live feed.
import { liveEvents } from '../live';
import type { ViewCtx } from '../main';
import { api, card, el, fmt, table } from '../util';

export function stream(root: HTMLElement, ctx: ViewCtx): () => void {
  ctx.live.subscribe({ rate: 2, events: true, series: ['strobe_stream_anomaly_score', 'strobe_stream_cep_matches_total'] });
  const series = el('div', { id: 'stream-series' });
  const notable = el('div', { id: 'stream-notable' });
  root.append(card('Window aggregates', series), card('CEP matches and anomalies', notable));
  let timer = 0, stop = false;
  const load = async () => {
    if (stop) return;
    if (!ctx.paused()) {
      try {
        const s = await api('/api/v1/stream/series');
        const list: any[] = s.series ?? [];
        series.replaceChildren(list.length === 0 ? el('p', { class: 'muted' }, 'No window has closed yet.') :
          table(['window', 'source', 'labels', 'aggregate', 'value', 'window end'], list.slice(0, 300).map((x: any) => [
            x.window ?? '', x.source ?? '', Object.entries(x.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(' '),
            x.name ?? '', fmt(x.value), x.window_end_ns ? new Date(x.window_end_ns / 1e6).toISOString().slice(11, 19) : '']), { id: 'stream-table' }));
      } catch (e) {
        series.replaceChildren(el('p', { class: 'muted' }, String(e)));
      }
    }
    timer = window.setTimeout(load, 1000);
  };
  load();
  const off = ctx.live.onFrame(() => {
    if (ctx.paused()) return;
    const ev = liveEvents(ctx.live.state).filter((e: any) => e.type === 'cep' || e.type === 'anomaly');
    notable.replaceChildren(ev.length === 0 ? el('p', { class: 'muted' }, 'No CEP match or anomaly yet.') :
      el('ol', { class: 'events' }, ...ev.reverse().slice(0, 100).map((e: any) => el('li', {}, el('span', { class: 'badge' }, e.type), ' ', JSON.stringify(e)))));
  });
  return () => { stop = true; clearTimeout(timer); off(); };
}
