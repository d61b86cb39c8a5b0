// Event stream: window results, CEP matches and anomalies from the stream engine, and alert
// transitions, newest first, with a filter. Pause (header button or `p`) freezes the list while
// the feed keeps arriving.
import { liveEvents } from '../live';
import type { ViewCtx } from '../main';
import { card, el } from '../util';

export function events(root: HTMLElement, ctx: ViewCtx): () => void {
  ctx.live.subscribe({ rate: 2, events: true, alerts: true, series: [] });
  const filter = el('input', { id: 'events-filter', placeholder: 'filter (text or type: window, cep, anomaly, alert)' }) as HTMLInputElement;
  const list = el('ol', { id: 'events-list', class: 'events' });
  const count = el('span', { class: 'muted' });
  root.append(card('Events', el('div', { class: 'filters' }, filter, count), list));
  const render = () => {
    if (ctx.paused()) return;
    const items: Array<{ type: string; text: string }> = [];
    for (const e of liveEvents(ctx.live.state)) items.push({ type: e.type ?? 'event', text: JSON.stringify(e) });
    for (const h of ctx.live.state.get('alerts')?.history ?? []) items.push({ type: 'alert', text: `${h.time} ${h.name} ${h.from} → ${h.to} (${h.value})` });
    const f = filter.value.trim();
    const shown = items.reverse().filter((i) => !f || i.type === f || i.text.includes(f)).slice(0, 300);
    count.textContent = `${shown.length} of ${items.length}`;
    list.replaceChildren(...shown.map((i) => el('li', { class: `ev ${i.type}` }, el('span', { class: 'badge' }, i.type), ' ', i.text)));
  };
  filter.addEventListener('input', render);
  const off = ctx.live.onFrame(render);
  return off;
}
