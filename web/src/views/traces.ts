// Traces: recent and slowest traces with a search (service, operation, minimum duration,
// errors), and a waterfall of one trace with its critical path (as /api/v1/traces/{id} computes
// it) highlighted and each span's self time.
import type { ViewCtx } from '../main';
import { api, card, el, fmt, fmtMs, table } from '../util';

interface Summary { traceId: string; service: string; operation: string; startTimeUnixNano: number; durationNs: number; spanCount: number; errorSpans: number }

export function traces(root: HTMLElement, ctx: ViewCtx): () => void {
  ctx.live.subscribe({ rate: 1, series: [] });
  const id = ctx.params.get('id');
  if (id) return waterfall(root, ctx, id);
  const service = el('select', { id: 'f-service' }) as HTMLSelectElement;
  const op = el('input', { id: 'f-operation', placeholder: 'operation contains' }) as HTMLInputElement;
  const minMs = el('input', { id: 'f-min', type: 'number', placeholder: 'min ms', min: '0' }) as HTMLInputElement;
  const errors = el('input', { id: 'f-errors', type: 'checkbox' }) as HTMLInputElement;
  const form = el('div', { class: 'filters' }, service, op, minMs, el('label', {}, errors, ' errors only'));
  const recent = el('div', { id: 'recent-traces' });
  const slowest = el('div', { id: 'slowest-traces' });
  root.append(form, el('div', { class: 'grid' }, card('Slowest', slowest), card('Recent', recent)));
  let all: Summary[] = [];
  const rows = (list: Summary[]) => {
    const t = table(['root', 'duration', 'spans', 'errors', 'trace'], list.map((s) => [
      `${s.service}: ${s.operation}`, fmtMs(s.durationNs / 1e6), String(s.spanCount), String(s.errorSpans), el('code', {}, s.traceId.slice(0, 12)),
    ]), { class: 'clickable' });
    t.querySelectorAll('tbody tr').forEach((tr, i) => {
      tr.setAttribute('data-trace-id', list[i].traceId);
      tr.addEventListener('click', () => ctx.navigate('traces', { id: list[i].traceId }));
    });
    return t;
  };
  const render = () => {
    const services = [...new Set(all.map((s) => s.service))].sort();
    if (service.options.length !== services.length + 1) {
      const cur = service.value;
      service.replaceChildren(el('option', { value: '' }, 'all services'), ...services.map((s) => el('option', { value: s }, s)));
      service.value = cur;
    }
    const min = Number(minMs.value || 0) * 1e6;
    const list = all.filter((s) =>
      (!service.value || s.service === service.value) &&
      (!op.value || s.operation.includes(op.value)) &&
      s.durationNs >= min && (!errors.checked || s.errorSpans > 0));
    recent.replaceChildren(rows(list.slice(0, 15)));
    slowest.replaceChildren(rows([...list].sort((a, b) => b.durationNs - a.durationNs).slice(0, 15)));
  };
  for (const f of [service, op, minMs, errors]) f.addEventListener('input', render);
  let stop = false;
  const load = async () => {
    if (stop) return;
    if (!ctx.paused()) {
      try {
        all = (await api('/api/v1/traces?limit=1000&summary=1')).traces;
        render();
      } catch (e) {
        recent.replaceChildren(el('p', { class: 'muted' }, String(e)));
      }
    }
    timer = window.setTimeout(load, 3000);
  };
  let timer = 0;
  load();
  return () => {
    stop = true;
    clearTimeout(timer);
  };
}

function waterfall(root: HTMLElement, ctx: ViewCtx, id: string): () => void {
  const back = el('a', { href: '#/traces' }, '← traces');
  const box = el('div', { id: 'waterfall' }, 'loading…');
  root.append(back, card(`Trace ${id}`, box));
  api(`/api/v1/traces/${id}`).then((t) => {
    const critical = new Map<string, number>(t.criticalPath.map((c: any) => [c.spanId, c.contributionNs]));
    const children = new Map<string, any[]>();
    const ids = new Set(t.spans.map((s: any) => s.spanId));
    for (const s of t.spans) {
      const p = ids.has(s.parentSpanId) ? s.parentSpanId : '';
      if (!children.has(p)) children.set(p, []);
      children.get(p)!.push(s);
    }
    const start = Math.min(...t.spans.map((s: any) => s.startTimeUnixNano));
    const end = Math.max(...t.spans.map((s: any) => s.endTimeUnixNano));
    const total = Math.max(end - start, 1);
    const rows: HTMLElement[] = [];
    const walk = (parent: string, depth: number) => {
      for (const s of (children.get(parent) ?? []).sort((a, b) => a.startTimeUnixNano - b.startTimeUnixNano)) {
        const onPath = critical.has(s.spanId);
        const bar = el('div', {
          class: 'bar' + (onPath ? ' critical' : '') + (s.status.code === 'error' ? ' error' : ''),
          style: `left:${(100 * (s.startTimeUnixNano - start)) / total}%;width:${Math.max(0.2, (100 * s.durationNs) / total)}%`,
          title: `${fmtMs(s.durationNs / 1e6)}, self ${fmtMs(s.selfTimeNs / 1e6)}`,
        });
        rows.push(el('div', { class: 'span-row' + (onPath ? ' critical' : ''), 'data-span-id': s.spanId, 'data-critical': onPath ? '1' : '0' },
          el('div', { class: 'span-name', style: `padding-left:${depth * 14}px` }, el('b', {}, s.service), ' ', s.name),
          el('div', { class: 'span-track' }, bar),
          el('div', { class: 'span-num' }, fmtMs(s.durationNs / 1e6)),
          el('div', { class: 'span-num self' }, fmtMs(s.selfTimeNs / 1e6)),
          el('div', { class: 'span-num' }, onPath ? fmtMs(critical.get(s.spanId)! / 1e6) : ''),
        ));
        walk(s.spanId, depth + 1);
      }
    };
    walk('', 0);
    const head = el('div', { class: 'span-row head' }, el('div', { class: 'span-name' }, 'span'), el('div', { class: 'span-track' }, `0 — ${fmtMs(total / 1e6)}`),
      el('div', { class: 'span-num' }, 'duration'), el('div', { class: 'span-num' }, 'self'), el('div', { class: 'span-num' }, 'critical'));
    box.replaceChildren(
      el('p', {}, `${t.spanCount} spans, ${t.errorSpans} with errors, ${fmtMs(t.durationNs / 1e6)}${t.complete ? '' : ' (incomplete)'}; critical path of ${t.criticalPath.length} spans highlighted.`),
      head, ...rows,
      card('Breakdown', table(['service', 'operation', 'spans', 'self', 'on critical path'], t.breakdown.map((b: any) => [b.service, b.operation, fmt(b.spans), fmtMs(b.selfTimeNs / 1e6), fmtMs(b.criticalPathNs / 1e6)]))),
    );
  }, (e) => box.replaceChildren(el('p', { class: 'muted' }, String(e))));
  void ctx;
  return () => {};
}
