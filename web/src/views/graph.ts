// Service graph: the live topology from trace analysis. Node size = request rate, colour = error
// ratio, edge width = calls, edge label = p99. A small force-directed layout (springs on edges,
// repulsion between nodes, centring) settles the positions and keeps them across updates.
import { LiveChart } from '../chart';
import { parseKey, rate } from '../live';
import type { ViewCtx } from '../main';
import { card, el, fmt, fmtMs, health, svg, table } from '../util';

interface Node { id: string; x: number; y: number; vx: number; vy: number; rate: number; err: number }
interface Edge { from: string; to: string; calls: number; errors: number; p50: number; p90: number; p99: number }

const W = 900, H = 520;

// One step of the layout; returns the total movement (to stop when settled).
export function layoutStep(nodes: Node[], edges: Edge[]): number {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      const dx = a.x - b.x, dy = a.y - b.y;
      const d2 = Math.max(dx * dx + dy * dy, 100);
      const f = 60000 / d2;
      const d = Math.sqrt(d2);
      a.vx += (f * dx) / d;
      a.vy += (f * dy) / d;
    }
    a.vx += (W / 2 - a.x) * 0.01;
    a.vy += (H / 2 - a.y) * 0.01;
  }
  for (const e of edges) {
    const a = byId.get(e.from), b = byId.get(e.to);
    if (!a || !b) continue;
    const dx = b.x - a.x, dy = b.y - a.y;
    const d = Math.max(Math.sqrt(dx * dx + dy * dy), 1);
    const f = (d - 200) * 0.02;
    a.vx += (f * dx) / d; a.vy += (f * dy) / d;
    b.vx -= (f * dx) / d; b.vy -= (f * dy) / d;
  }
  let moved = 0;
  for (const n of nodes) {
    n.vx *= 0.6; n.vy *= 0.6;
    n.x = Math.max(60, Math.min(W - 60, n.x + n.vx));
    n.y = Math.max(50, Math.min(H - 50, n.y + n.vy));
    moved += Math.abs(n.vx) + Math.abs(n.vy);
  }
  return moved;
}

export function graph(root: HTMLElement, ctx: ViewCtx): () => void {
  const selected = ctx.params.get('service') ?? '';
  ctx.live.subscribe({ rate: 4, graph: true, series: ['strobe_trace_operation_spans_total', 'strobe_trace_operation_errors_total', 'strobe_uptime_seconds'] });
  const box = svg('svg', { viewBox: `0 0 ${W} ${H}`, id: 'service-graph', class: 'graph' }) as SVGSVGElement;
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 10, markerHeight: 10, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }));
  defs.append(marker);
  box.append(defs);
  // One listener for every node: nodes are redrawn while the layout settles.
  box.addEventListener('click', (e) => {
    const n = (e.target as Element).closest('g.node') as SVGGElement | null;
    if (n?.dataset.service) ctx.navigate('graph', { service: n.dataset.service });
  });
  const side = el('div', { id: 'service-panel' });
  root.append(el('div', { class: 'graph-layout' }, card('Service graph (trace analysis)', box), side));
  const nodes = new Map<string, Node>();
  let edges: Edge[] = [];
  let window = 300;
  let frame = 0;
  let raf = 0;
  const chart = selected ? new LiveChart((() => { const d = el('div', { class: 'chart' }); side.append(card(`${selected}: spans/s by operation`, d)); return d; })(), fmt) : null;
  const panelTable = el('div', { id: 'service-calls' });
  if (selected) side.append(card(`${selected}: calls`, panelTable));
  else side.append(card('Select a service', el('p', { class: 'muted' }, 'Click a node to see its series.')));

  // Elements persist across redraws (only their attributes change), so a node stays the same
  // element while the layout settles and the rates move: clicks and tests can hold on to it.
  const edgeLayer = svg('g'), nodeLayer = svg('g');
  box.append(edgeLayer, nodeLayer);
  const nodeEls = new Map<string, { g: SVGElement; circle: SVGElement; rate: SVGElement }>();
  const edgeEls = new Map<string, { line: SVGElement; label: SVGElement }>();
  const draw = () => {
    const maxCalls = Math.max(1, ...edges.map((e) => e.calls));
    const live = new Set<string>();
    for (const e of edges) {
      const id = `${e.from}>${e.to}`;
      live.add(id);
      let el2 = edgeEls.get(id);
      if (!el2) {
        el2 = { line: svg('line', { class: 'edge', 'data-edge': id, 'marker-end': 'url(#arrow)' }), label: svg('text', { class: 'edge-label' }) };
        edgeEls.set(id, el2);
        edgeLayer.append(el2.line, el2.label);
      }
      const a = nodes.get(e.from)!, b = nodes.get(e.to)!;
      const r = radius(b);
      const dx = b.x - a.x, dy = b.y - a.y, d = Math.max(Math.hypot(dx, dy), 1);
      for (const [k, v] of Object.entries({ x1: a.x, y1: a.y, x2: b.x - (dx / d) * r, y2: b.y - (dy / d) * r,
        'stroke-width': 1 + 7 * Math.sqrt(e.calls / maxCalls), stroke: health(e.calls ? (e.errors / e.calls) * 5 : 0) })) el2.line.setAttribute(k, String(v));
      el2.label.setAttribute('x', String((a.x + b.x) / 2));
      el2.label.setAttribute('y', String((a.y + b.y) / 2 - 6));
      el2.label.textContent = `p99 ${fmtMs(e.p99)} · ${fmt(e.calls / window)}/s`;
    }
    for (const [id, x] of edgeEls) if (!live.has(id)) { x.line.remove(); x.label.remove(); edgeEls.delete(id); }
    for (const n of nodes.values()) {
      let ne = nodeEls.get(n.id);
      if (!ne) {
        const g = svg('g', { class: 'node' + (n.id === selected ? ' selected' : ''), 'data-service': n.id });
        const circle = svg('circle');
        const label = svg('text', { class: 'node-label' });
        label.textContent = n.id;
        const rate = svg('text', { y: 4, class: 'node-rate' });
        g.append(circle, label, rate);
        nodeLayer.append(g);
        ne = { g, circle, rate };
        nodeEls.set(n.id, ne);
      }
      ne.g.setAttribute('transform', `translate(${n.x},${n.y})`);
      ne.circle.setAttribute('r', String(radius(n)));
      ne.circle.setAttribute('fill', health(n.err * 5));
      (ne.g.querySelector('.node-label') as SVGElement).setAttribute('y', String(radius(n) + 16));
      ne.rate.textContent = fmt(n.rate);
    }
    for (const [id, x] of nodeEls) if (!nodes.has(id)) { x.g.remove(); nodeEls.delete(id); }
  };
  const radius = (n: Node) => 14 + 5 * Math.sqrt(n.rate);
  const animate = () => {
    const moved = layoutStep([...nodes.values()], edges);
    if (!ctx.paused()) draw();
    if (moved > 0.5 && frame++ < 400) raf = requestAnimationFrame(animate);
  };

  const off = ctx.live.onFrame((t) => {
    // Calls are counted over the graph's window, or since start while the daemon is younger.
    window = Math.max(1, Math.min(ctx.live.state.get('graph:window') ?? 300, ctx.live.state.get('strobe_uptime_seconds') ?? Infinity));
    edges = [];
    for (const [k, v] of ctx.live.state) {
      if (!k.startsWith('edge:')) continue;
      const [from, to] = k.slice(5).split('>');
      edges.push({ from, to, calls: v[0], errors: v[1], p50: v[2], p90: v[3], p99: v[4] });
    }
    const seen = new Set<string>();
    for (const e of edges) for (const id of [e.from, e.to]) {
      seen.add(id);
      if (!nodes.has(id)) nodes.set(id, { id, x: W / 2 + (Math.random() - 0.5) * 300, y: H / 2 + (Math.random() - 0.5) * 200, vx: 0, vy: 0, rate: 0, err: 0 });
    }
    for (const id of [...nodes.keys()]) if (!seen.has(id)) nodes.delete(id);
    for (const n of nodes.values()) {
      const inbound = edges.filter((e) => e.to === n.id);
      const outbound = edges.filter((e) => e.from === n.id);
      const calls = inbound.length ? inbound.reduce((a, e) => a + e.calls, 0) : outbound.reduce((a, e) => a + e.calls, 0);
      const errors = inbound.reduce((a, e) => a + e.errors, 0);
      n.rate = calls / window;
      n.err = calls ? errors / calls : 0;
    }
    frame = 0;
    cancelAnimationFrame(raf);
    raf = requestAnimationFrame(animate);
    if (selected && !ctx.paused()) {
      const ops: Record<string, number> = {};
      for (const [k, h] of ctx.live.history) {
        const { name, labels } = parseKey(k);
        if (name === 'strobe_trace_operation_spans_total' && labels.service === selected) ops[labels.operation] = rate(h, 2000);
      }
      chart!.push(t, ops, true);
      panelTable.replaceChildren(
        table(['caller → callee', 'calls', 'errors', 'p50', 'p90', 'p99'],
          edges.filter((e) => e.from === selected || e.to === selected).map((e) => [`${e.from} → ${e.to}`, fmt(e.calls), fmt(e.errors), fmtMs(e.p50), fmtMs(e.p90), fmtMs(e.p99)])),
      );
    }
  });
  return () => {
    off();
    cancelAnimationFrame(raf);
    chart?.destroy();
  };
}
