// Overview: per-service throughput, error rate and latency percentiles, host CPU and memory,
// pipeline health and active alerts, updated every second from the live feed.
import { LiveChart } from '../chart';
import { histDelta, parseKey, quantile, rate } from '../live';
import type { ViewCtx } from '../main';
import { card, el, fmt, fmtBytes, fmtMs, table } from '../util';

export const LATENCY = 'demo_http_request_duration_seconds';

// Per-service figures over the last `windowMs` from the live state's histories.
export function serviceStats(ctx: ViewCtx, windowMs: number) {
  const live = ctx.live;
  const bounds: number[] = live.state.get(`meta:${LATENCY}`)?.bounds ?? [];
  const out = new Map<string, { rps: number; err: number; counts: number[] }>();
  const get = (s: string) => {
    let v = out.get(s);
    if (!v) out.set(s, (v = { rps: 0, err: 0, counts: [] }));
    return v;
  };
  for (const [k, h] of live.history) {
    const { name, labels } = parseKey(k);
    const s = labels.service;
    if (!s) continue;
    if (name === LATENCY) {
      const v = get(s);
      v.rps += rate(h, windowMs);
      const d = histDelta(h, windowMs);
      if (d) v.counts = d.map((c, i) => c + (v.counts[i] ?? 0));
    } else if (name === 'demo_http_requests_total' && Number(labels.code) >= 500) {
      get(s).err += rate(h, windowMs);
    }
  }
  // Without the demo's HTTP metrics, spans from trace analysis give rate and errors.
  if (out.size === 0) {
    for (const [k, h] of live.history) {
      const { name, labels } = parseKey(k);
      if (name === 'strobe_trace_operation_spans_total') get(labels.service).rps += rate(h, windowMs);
      if (name === 'strobe_trace_operation_errors_total') get(labels.service).err += rate(h, windowMs);
    }
  }
  return [...out.entries()].sort().map(([service, v]) => ({
    service,
    rps: v.rps,
    errRatio: v.rps > 0 ? v.err / v.rps : 0,
    p50: quantile(v.counts, bounds, 0.5) * 1000,
    p90: quantile(v.counts, bounds, 0.9) * 1000,
    p99: quantile(v.counts, bounds, 0.99) * 1000,
  }));
}

export function overview(root: HTMLElement, ctx: ViewCtx): () => void {
  ctx.live.subscribe({
    rate: 10,
    alerts: true,
    series: [
      LATENCY,
      'demo_http_requests_total',
      'strobe_trace_operation_spans_total',
      'strobe_trace_operation_errors_total',
      'node_cpu_usage_ratio',
      'node_memory_used_bytes',
      'node_memory_MemTotal_bytes',
      'strobe_pipeline_*',
      'strobe_memory_limiter*',
    ],
  });
  const tiles = el('div', { class: 'tiles', id: 'tiles' });
  const services = el('div', { id: 'overview-services' });
  const thr = el('div', { class: 'chart' });
  const lat = el('div', { class: 'chart' });
  const cpu = el('div', { class: 'chart' });
  const pipe = el('div', { id: 'pipeline' });
  const limits = el('div', { id: 'limits' });
  const alertsBox = el('div', { id: 'overview-alerts' });
  root.append(
    tiles,
    el('div', { class: 'grid' }, card('Services (last 10 s)', services), card('Active alerts', alertsBox)),
    el('div', { class: 'grid3' }, card('Requests/s by service', thr), card('p99 latency by service', lat), card('CPU by core', cpu)),
    el('div', { class: 'grid' }, card('Pipelines', pipe), card('Queues and memory limiter', limits)),
  );
  const charts = [new LiveChart(thr, fmt), new LiveChart(lat, (v) => fmtMs(v)), new LiveChart(cpu, (v) => fmt(v * 100) + '%')];
  let last = 0;
  let painted = false;
  const off = ctx.live.onFrame((t) => {
    if (t - last < 1000) return;
    last = t;
    if (!painted) {
      // After the frame that shows the first live data is painted (rAF runs before the paint,
      // the timeout after it): the mark tests measure time to first data against.
      painted = true;
      requestAnimationFrame(() => setTimeout(() => performance.mark('strobe:first-data-painted')));
    }
    const render = !ctx.paused();
    const stats = serviceStats(ctx, 10_000);
    const now1 = serviceStats(ctx, 1_000);
    charts[0].push(t, Object.fromEntries(now1.map((s) => [s.service, s.rps])), render);
    charts[1].push(t, Object.fromEntries(stats.map((s) => [s.service, s.p99])), render);
    const cores: Record<string, number> = {};
    let mem = 0, memTotal = 0;
    for (const [k, v] of ctx.live.state) {
      const { name, labels } = parseKey(k);
      if (name === 'node_cpu_usage_ratio' && labels.cpu !== 'total') cores[`cpu${labels.cpu}`] = v;
      if (name === 'node_memory_used_bytes') mem = v;
      if (name === 'node_memory_MemTotal_bytes') memTotal = v;
    }
    charts[2].push(t, cores, render);
    if (!render) return;

    const total = now1.reduce((a, s) => a + s.rps, 0);
    const errs = stats.reduce((a, s) => a + s.rps * s.errRatio, 0);
    const totalRps10 = stats.reduce((a, s) => a + s.rps, 0);
    const cpuTotal = ctx.live.state.get('node_cpu_usage_ratio{cpu="total"}');
    const tile = (id: string, label: string, value: string) =>
      el('div', { class: 'tile', id }, el('div', { class: 'value' }, value), el('div', { class: 'label' }, label));
    tiles.replaceChildren(
      tile('tile-rps', 'requests/s', fmt(total)),
      tile('tile-errors', 'error rate', fmt(totalRps10 > 0 ? (100 * errs) / totalRps10 : 0) + '%'),
      tile('tile-p99', 'worst p99', fmtMs(Math.max(...stats.map((s) => s.p99).filter(isFinite), 0))),
      tile('tile-cpu', 'host CPU', cpuTotal === undefined ? '–' : fmt(cpuTotal * 100) + '%'),
      tile('tile-mem', 'memory used', memTotal ? `${fmtBytes(mem)} / ${fmtBytes(memTotal)}` : '–'),
    );
    const rows = stats.map((s) => {
      const name = el('a', { href: `#/graph?service=${encodeURIComponent(s.service)}` }, s.service);
      return [name, fmt(s.rps), fmt(100 * s.errRatio) + '%', fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99)];
    });
    const tbl = table(['service', 'req/s', 'errors', 'p50', 'p90', 'p99'], rows);
    tbl.querySelectorAll('tbody tr').forEach((tr, i) => tr.setAttribute('data-service', stats[i].service));
    services.replaceChildren(tbl);

    // Pipeline health: per pipeline and stage, events/s accepted, refused, dropped; in flight.
    const pipes = new Map<string, Record<string, number>>();
    for (const [k, h] of ctx.live.history) {
      const { name, labels } = parseKey(k);
      if (!name.startsWith('strobe_pipeline_')) continue;
      const id = [labels.pipeline, labels.component ?? labels.stage ?? labels.receiver ?? ''].filter(Boolean).join(' / ');
      const row = pipes.get(id) ?? {};
      pipes.set(id, row);
      const metric = name.replace('strobe_pipeline_', '').replace('_events_total', '').replace('_events', '');
      row[metric] = (row[metric] ?? 0) + (name.endsWith('_total') ? rate(h, 5000) : (h[h.length - 1][1] as number));
    }
    const cols = ['received', 'forwarded', 'refused', 'dropped', 'in_flight'];
    pipe.replaceChildren(
      table(['pipeline / stage', 'received/s', 'forwarded/s', 'refused/s', 'dropped/s', 'in flight'],
        [...pipes.entries()].sort().map(([id, r]) => [id, ...cols.map((c) => (r[c] === undefined ? '' : fmt(r[c])))])),
    );
    limits.replaceChildren(...limitTables(ctx));
    const a = ctx.live.state.get('alerts')?.alerts ?? [];
    alertsBox.replaceChildren(
      a.length === 0
        ? el('p', { class: 'muted' }, 'none')
        : table(['alert', 'state', 'since', 'summary'], a.map((x: any) => [x.name, el('span', { class: `badge ${x.state}` }, x.state), x.activeAt, x.annotations?.summary ?? ''])),
    );
  });
  return () => {
    off();
    charts.forEach((c) => c.destroy());
  };
}

// Queue fill per pipeline (queued bytes / queue.max_bytes, queued events / queue.max_events,
// load-shedding keep ratio) and each memory limiter's use of its hard limit with its state:
// "refusing" while it refused at the hard limit in the last 5 s, "throttling" at the soft
// limit, else "ok".
export function limitTables(ctx: ViewCtx): HTMLElement[] {
  const st = ctx.live.state;
  const pipes = new Map<string, { bytes?: number; limitBytes?: number; events?: number; limitEvents?: number; keep?: number }>();
  const lims = new Map<string, { used?: number; limit?: number }>();
  const refused: Record<string, number> = {};
  const row = (p: string) => pipes.get(p) ?? (pipes.set(p, {}), pipes.get(p)!);
  for (const [k, v] of st) {
    const { name, labels } = parseKey(k);
    if (name === 'strobe_pipeline_queued_bytes') row(labels.pipeline).bytes = v;
    else if (name === 'strobe_pipeline_queue_limit_bytes') row(labels.pipeline).limitBytes = v;
    else if (name === 'strobe_pipeline_queue_limit_events') row(labels.pipeline).limitEvents = v;
    else if (name === 'strobe_pipeline_load_shed_keep_ratio') row(labels.pipeline).keep = v;
    else if (name === 'strobe_pipeline_in_flight_events' && labels.stage === 'queue') row(labels.pipeline).events = v;
    else if (name === 'strobe_memory_limiter_used_bytes') (lims.get(labels.limiter) ?? lims.set(labels.limiter, {}).get(labels.limiter)!).used = v;
    else if (name === 'strobe_memory_limiter_limit_bytes') (lims.get(labels.limiter) ?? lims.set(labels.limiter, {}).get(labels.limiter)!).limit = v;
    else if (name === 'strobe_pipeline_refused_events_total' && labels.reason.startsWith('memory_')) {
      refused[labels.reason] = (refused[labels.reason] ?? 0) + rate(ctx.live.history.get(k), 5000);
    }
  }
  const pct = (a?: number, b?: number) => (a === undefined || !b ? '–' : fmt((100 * a) / b) + '%');
  const queues = table(
    ['pipeline', 'queue fill (bytes)', 'queued events', 'keep ratio'],
    [...pipes.entries()].sort().map(([p, r]) => [
      p,
      `${pct(r.bytes, r.limitBytes)} of ${r.limitBytes === undefined ? '–' : fmtBytes(r.limitBytes)}`,
      `${r.events === undefined ? '–' : fmt(r.events)} / ${r.limitEvents === undefined ? '–' : fmt(r.limitEvents)}`,
      r.keep === undefined ? '–' : fmt(r.keep),
    ]),
    { id: 'queues' },
  );
  queues.querySelectorAll('tbody tr').forEach((tr, i) => tr.setAttribute('data-pipeline', [...pipes.keys()].sort()[i]));
  const state = (refused.memory_hard_limit ?? 0) > 0 ? 'refusing' : (refused.memory_soft_limit ?? 0) > 0 ? 'throttling' : 'ok';
  const limiters = table(
    ['memory limiter', 'used', 'hard limit', 'fill', 'state'],
    [...lims.entries()].sort().map(([id, l]) => [
      id,
      l.used === undefined ? '–' : fmtBytes(l.used),
      l.limit === undefined ? '–' : fmtBytes(l.limit),
      pct(l.used, l.limit),
      el('span', { class: `badge ${state === 'ok' ? 'inactive' : state === 'throttling' ? 'pending' : 'firing'}` }, state),
    ]),
    { id: 'limiters' },
  );
  return [queues, limiters];
}
