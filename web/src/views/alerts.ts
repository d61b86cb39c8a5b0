// Alerts: current alerts with state, since and annotations; the rules; recent transitions.
import type { ViewCtx } from '../main';
import { card, el, table } from '../util';

export function alerts(root: HTMLElement, ctx: ViewCtx): () => void {
  ctx.live.subscribe({ rate: 2, alerts: true, series: [] });
  const current = el('div', { id: 'alerts-current' });
  const rules = el('div', { id: 'alerts-rules' });
  const history = el('div', { id: 'alerts-history' });
  root.append(card('Alerts', current), el('div', { class: 'grid' }, card('Rules', rules), card('Transitions', history)));
  const render = () => {
    if (ctx.paused()) return;
    const a = ctx.live.state.get('alerts');
    if (!a) return;
    current.replaceChildren(a.alerts.length === 0 ? el('p', { class: 'muted' }, 'No alert is pending or firing.') :
      table(['alert', 'state', 'severity', 'since', 'value', 'labels', 'annotations'], a.alerts.map((x: any) => [
        x.name, el('span', { class: `badge ${x.state}` }, x.state), x.severity, x.firedAt ?? x.activeAt, String(x.value),
        Object.entries(x.labels).map(([k, v]) => `${k}=${v}`).join(' '),
        Object.entries(x.annotations).map(([k, v]) => `${k}: ${v}`).join('; '),
      ]), { id: 'alerts-table' }));
    rules.replaceChildren(table(['rule', 'expression', 'for', 'health'], a.rules.map((r: any) => [r.alert ?? r.record, el('code', {}, r.expr), `${r.for_seconds}s`, r.health ?? 'ok'])));
    history.replaceChildren(table(['time', 'alert', 'from → to', 'value'], [...a.history].reverse().slice(0, 50).map((h: any) => [h.time, h.name, `${h.from} → ${h.to}`, String(h.value)])));
  };
  const off = ctx.live.onFrame(render);
  render();
  return off;
}
