// Browser tests of the dashboard (ctest label `browser`): Debian's Chromium driven by npm's
// playwright-core against `strobe serve --demo` on free loopback ports.
//
//   node dashboard_test.mjs STROBE_BINARY OUTPUT_DIR
//
// Checks, each bounded by a deadline (polling, never a fixed sleep standing in for a condition):
//   - the page and its assets are served gzipped, ≤ 300 KB in all, with ETags (304 on reuse);
//   - overview: the numbers change within 2 s; the demo's four services are listed;
//   - service graph: the four services and exactly the edges /api/v1/service-graph reports;
//   - traces: clicking the slowest trace opens a waterfall whose critical-path spans are those
//     of /api/v1/traces/{id};
//   - the other views render (heatmap, streams, alerts, events, metrics);
//   - an alert appears on the alerts view when the demo's alert fires;
//   - page performance (figures printed for bench/RESULTS.md): with ≥ 200 live series at 60 Hz
//     (the metrics explorer at rate=60) the p95 time to handle a frame, views included, is
//     within PAGE_FRAME_P95_MS (the target, 8 ms; STROBE_PAGE_FRAME_P95_MS overrides it
//     on a slower machine) and frames arrive at ≥ 50/s; the time from the daemon's "ready" log
//     line to the overview's first live data painted is within 5 s;
//   - after the daemon restarts (same port) the page reconnects by itself;
//   - with a token configured the page asks for it, the feed refuses a wrong one (401 + close)
//     and accepts the right one.
// Screenshots of each view go to OUTPUT_DIR. Exit 0 when all pass, 1 on a failure, 77 (ctest
// skip) when Chromium or playwright-core is missing — except under CI=true, where that fails.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [binary, outDir] = process.argv.slice(2);
const CHROMIUM = '/usr/bin/chromium';
const CI = process.env.CI === 'true';
const PAGE_FRAME_P95_MS = Number(process.env.STROBE_PAGE_FRAME_P95_MS ?? 8);

function missing(what) {
  console.error(`${what} is missing${CI ? ' (CI=true: failing)' : ': skipping'}`);
  process.exit(CI ? 1 : 77);
}
if (!existsSync(CHROMIUM)) missing(CHROMIUM);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch {
  missing('npm playwright-core (scripts/bootstrap installs it in tests/browser)');
}
mkdirSync(outDir, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'strobe-browser-'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ': ' + last.message : ''}`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

class Strobe {
  constructor(port, env = {}) {
    this.port = port;
    this.env = env;
    this.base = `http://127.0.0.1:${port}`;
    this.runs = 0;
  }
  async start() {
    const dir = join(work, `strobe-${this.port}-${this.runs++}`);
    mkdirSync(join(dir, 'shm'), { recursive: true, mode: 0o700 });
    this.log = join(dir, 'strobe.log');
    const out = openSync(this.log, 'w');
    const env = { ...process.env, STROBE_SHM_DIR: join(dir, 'shm'), ...this.env };
    if (!this.env.STROBE_TOKEN) delete env.STROBE_TOKEN;
    this.proc = spawn(binary, ['serve', '--demo', '--http', `127.0.0.1:${this.port}`, '--otlp-http', 'off',
      '--otlp-grpc', 'off', '--wire', 'off', '--data-dir', join(dir, 'data')], { env, stdio: ['ignore', out, out] });
    this.exited = new Promise((r) => this.proc.on('exit', r));
    await until(`strobe on ${this.port} ready`, async () => {
      if (this.proc.exitCode !== null) throw new Error('strobe exited:\n' + readFileSync(this.log, 'utf8'));
      const r = await fetch(this.base + '/healthz');
      return r.ok;
    }, 20_000);
  }
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(t);
  }
  async json(path, token) {
    const r = await fetch(this.base + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    if (!r.ok) throw new Error(`${path}: ${r.status}`);
    return r.json();
  }
}

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push([name, 'ok', Date.now() - t0]);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push([name, 'FAIL', Date.now() - t0]);
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
  }
}
function expectEq(actual, expected, what) {
  const a = JSON.stringify(actual), b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${what}: got ${a}, want ${b}`);
}

const strobe = new Strobe(await freePort());
const guarded = new Strobe(await freePort(), { STROBE_TOKEN: 'browser-test-token' });
let context;
try {
  await strobe.start();
  context = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  const shot = (name) => page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });

  await check('assets: gzip, ETag, page weight <= 300 KB', async () => {
    let total = 0;
    const types = {};
    for (const path of ['/', '/assets/app.js', '/assets/app.css']) {
      const r = await fetch(strobe.base + path, { headers: { 'Accept-Encoding': 'gzip' } });
      expectEq(r.status, 200, `${path} status`);
      expectEq(r.headers.get('content-encoding'), 'gzip', `${path} encoding`);
      types[path] = r.headers.get('content-type');
      const body = await r.arrayBuffer(); // fetch inflates: count the wire bytes instead
      total += Number(r.headers.get('content-length'));
      if (body.byteLength === 0) throw new Error(`${path} empty`);
      const again = await fetch(strobe.base + path, { headers: { 'If-None-Match': r.headers.get('etag') } });
      expectEq(again.status, 304, `${path} revalidation`);
    }
    expectEq(types, { '/': 'text/html; charset=utf-8', '/assets/app.js': 'text/javascript; charset=utf-8',
      '/assets/app.css': 'text/css; charset=utf-8' }, 'content types');
    console.log(`     page weight: ${total} bytes gzipped`);
    if (total > 300 * 1024) throw new Error(`page weight ${total} > 300 KB`);
  });

  await check('overview: numbers change within 2 s; four services', async () => {
    await page.goto(strobe.base + '/#/overview');
    await until('the overview to show request rates', async () =>
      (await page.locator('#overview-services tbody tr').count()) >= 4 &&
      (await page.locator('#tile-rps .value').textContent()) !== '0', 15_000);
    const before = await page.locator('#tiles').textContent();
    await until('the overview numbers to change', async () => (await page.locator('#tiles').textContent()) !== before, 2_000);
    const services = await page.locator('#overview-services tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.service));
    expectEq(services, ['auth', 'catalog', 'checkout', 'frontend'], 'services');
    // Queue fill and the memory limiter, against /metrics (the demo's default bounds).
    const text = await (await fetch(strobe.base + '/metrics')).text();
    const metric = (re) => Number(text.match(re)?.[1]);
    const limitBytes = metric(/^strobe_pipeline_queue_limit_bytes\{pipeline="default"\} (\S+)$/m);
    const limitEvents = metric(/^strobe_pipeline_queue_limit_events\{pipeline="default"\} (\S+)$/m);
    const limiterLimit = metric(/^strobe_memory_limiter_limit_bytes\{limiter="memory_limiter"\} (\S+)$/m);
    expectEq([limitBytes, limitEvents, limiterLimit], [256 * 2 ** 20, 1e6, 512 * 2 ** 20], 'demo bounds in /metrics');
    const queue = page.locator('#queues tbody tr[data-pipeline="default"] td');
    await until('the queue row', async () => (await queue.count()) === 4, 5_000);
    const cells = await queue.allTextContents();
    if (!/^\d+(\.\d+)?%|^0%/.test(cells[1]) || !cells[1].endsWith(' of 256.0 MiB')) throw new Error(`queue fill cell ${cells[1]}`);
    if (!cells[2].endsWith(' / 1.0M')) throw new Error(`queued events cell ${cells[2]}`);
    const limiter = await page.locator('#limiters tbody tr td').allTextContents();
    expectEq([limiter[0], limiter[2], limiter[4]], ['memory_limiter', '512.0 MiB', 'ok'], 'memory limiter row');
    await shot('overview');
  });

  await check('service graph: the four services and the edges of /api/v1/service-graph', async () => {
    await page.goto(strobe.base + '/#/graph');
    const api = await strobe.json('/api/v1/service-graph');
    const want = api.edges.map((e) => `${e.client}>${e.server}`).sort();
    expectEq(want, ['frontend>auth', 'frontend>catalog', 'frontend>checkout'], 'API edges');
    await until('four nodes', async () => (await page.locator('#service-graph g.node').count()) === 4, 10_000);
    const nodes = await page.locator('#service-graph g.node').evaluateAll((n) => n.map((x) => x.dataset.service).sort());
    expectEq(nodes, ['auth', 'catalog', 'checkout', 'frontend'], 'nodes');
    const edges = await page.locator('#service-graph line.edge').evaluateAll((n) => n.map((x) => x.dataset.edge).sort());
    expectEq(edges, want, 'edges');
    await shot('graph');
    // force: the layout keeps easing the nodes while rates move, so Playwright's "stable" wait
    // may never be met; the click lands on the circle's centre as a user's would.
    await page.locator('#service-graph g.node[data-service="checkout"] circle').click({ force: true });
    await until('the checkout panel', async () => page.url().endsWith('#/graph?service=checkout') &&
      (await page.locator('#service-calls tbody tr').count()) === 1 &&
      (await page.locator('#service-panel .u-legend').count()) === 1, 10_000);
    await shot('graph-checkout');
  });

  await check('traces: the slowest trace\'s waterfall shows the API\'s critical path', async () => {
    await page.goto(strobe.base + '/#/traces');
    const row = page.locator('#slowest-traces tbody tr').first();
    await until('the slowest traces', async () => (await row.count()) === 1, 10_000);
    await shot('traces');
    // Pause (the `p` key) freezes the lists, which otherwise refresh every 3 s, for the click.
    await page.keyboard.press('p');
    await until('paused', async () => (await page.locator('#pause').textContent()) === 'Resume', 2_000);
    const id = await row.getAttribute('data-trace-id');
    await page.locator(`#slowest-traces tbody tr[data-trace-id="${id}"]`).click();
    await until('the waterfall', async () => (await page.locator('#waterfall .span-row[data-span-id]').count()) > 0, 10_000);
    const trace = await strobe.json(`/api/v1/traces/${id}`);
    const spans = await page.locator('#waterfall .span-row[data-span-id]').evaluateAll((rows) =>
      rows.map((r) => ({ id: r.dataset.spanId, critical: r.dataset.critical === '1' })));
    expectEq(spans.map((s) => s.id).sort(), trace.spans.map((s) => s.spanId).sort(), 'spans');
    expectEq(spans.filter((s) => s.critical).map((s) => s.id).sort(), trace.criticalPath.map((c) => c.spanId).sort(), 'critical path');
    if (trace.criticalPath.length === 0) throw new Error('empty critical path');
    await shot('trace-waterfall');
    await page.keyboard.press('p');
    await until('resumed', async () => (await page.locator('#pause').textContent()) === 'Pause', 2_000);
  });

  await check('other views render', async () => {
    const views = [
      ['heatmap', async () => (await page.locator('#heatmap-service option').count()) === 5],
      ['stream', async () => (await page.locator('#stream-series > *').count()) > 0],
      ['alerts', async () => (await page.locator('#alerts-rules tbody tr').count()) >= 2],
      ['events', async () => (await page.locator('#events-list').count()) === 1],
      ['explore', async () => (await page.locator('#explore-series tbody tr').count()) > 0],
    ];
    for (const [view, ready] of views) {
      await page.goto(strobe.base + `/#/${view}`);
      await until(`${view} to render`, ready, 10_000);
      await sleep(view === 'heatmap' ? 2500 : 0); // a few heatmap columns for the screenshot
      await shot(view);
    }
  });

  await check(`page: p95 frame time <= ${PAGE_FRAME_P95_MS} ms with >= 200 series at 60 Hz`, async () => {
    const sel = encodeURIComponent('demo_* node_* strobe_pipeline_*');
    await page.goto(strobe.base + `/#/explore?s=${sel}&rate=60`);
    const series = () => page.evaluate(() => [...window.strobe.live.state.keys()].filter((k) => !k.startsWith('meta:')).length);
    await until('>= 200 live series', async () => (await series()) >= 200, 10_000);
    await sleep(1000); // past the full frame and the first table
    const m = await page.evaluate(async () => {
      const live = window.strobe.live;
      let longTasks = 0;
      const obs = new PerformanceObserver((l) => { longTasks += l.getEntries().length; });
      obs.observe({ type: 'longtask', buffered: false });
      const f0 = live.frames, t0 = performance.now();
      await new Promise((r) => setTimeout(r, 5000));
      const n = live.frames - f0, secs = (performance.now() - t0) / 1000;
      obs.disconnect();
      const times = live.frameTimes().slice(-n).sort((a, b) => a - b);
      const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
      return { frames: n, fps: n / secs, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: times[times.length - 1], longTasks };
    });
    const n = await series();
    console.log(`     ${n} series at 60 Hz: ${m.fps.toFixed(1)} frames/s; frame time p50 ${m.p50.toFixed(2)} ms, ` +
      `p95 ${m.p95.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, max ${m.max.toFixed(2)} ms; ${m.longTasks} long tasks (> 50 ms)`);
    if (n < 200) throw new Error(`${n} series < 200`);
    if (m.fps < 50) throw new Error(`${m.fps.toFixed(1)} frames/s < 50`);
    if (m.p95 > PAGE_FRAME_P95_MS) throw new Error(`p95 frame time ${m.p95.toFixed(2)} ms > ${PAGE_FRAME_P95_MS} ms`);
    await shot('explore-60hz');
  });

  await check('page: first live data painted within 5 s of the daemon\'s ready line', async () => {
    const fresh = new Strobe(await freePort());
    const p3 = await context.newPage();
    try {
      await fresh.start();
      // The ready line's own timestamp (the log's ISO time, ms) is the start of the clock.
      const line = await until('the ready line', async () =>
        readFileSync(fresh.log, 'utf8').split('\n').find((l) => / ready \(pid /.test(l)), 10_000);
      const ready = Date.parse(line.split(' ')[0]);
      await p3.goto(fresh.base + '/#/overview');
      const painted = await until('the first data painted', async () => p3.evaluate(() => {
        const m = performance.getEntriesByName('strobe:first-data-painted')[0];
        return m ? performance.timeOrigin + m.startTime : 0;
      }), 10_000);
      const fcp = await p3.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1);
      const ms = painted - ready;
      console.log(`     ready line → first live data painted: ${ms.toFixed(0)} ms (first contentful paint ${fcp.toFixed(0)} ms after navigation)`);
      if (!(ms > 0 && ms <= 5000)) throw new Error(`first data painted ${ms} ms after the ready line`);
    } finally {
      await p3.close();
      await fresh.stop();
    }
  });

  await check('an alert appears when the demo\'s alert fires', async () => {
    await page.goto(strobe.base + '/#/alerts');
    const firing = await until('the demo alert to fire', async () =>
      (await strobe.json('/api/v1/alerts')).alerts.find((a) => a.state === 'firing'), 90_000);
    await until(`${firing.name} on the page`, async () =>
      (await page.locator('#alerts-table tbody tr', { hasText: firing.name }).locator('.badge.firing').count()) > 0, 5_000);
    await shot('alerts-firing');
  });

  await check('the page reconnects after the daemon restarts', async () => {
    await page.goto(strobe.base + '/#/overview');
    await until('live', async () => (await page.locator('#status').textContent()) === 'live', 10_000);
    await strobe.stop();
    await until('the page to notice', async () => (await page.locator('#status').textContent()) !== 'live', 10_000);
    await strobe.start();
    await until('the page to reconnect', async () => (await page.locator('#status').textContent()) === 'live', 15_000);
    const before = await page.locator('#tiles').textContent();
    await until('numbers moving again', async () => (await page.locator('#tiles').textContent()) !== before, 5_000);
  });

  await check('with a token the page asks for it; the feed refuses a wrong one', async () => {
    await guarded.start();
    const p2 = await context.newPage();
    await p2.goto(guarded.base + '/#/overview');
    await until('the token dialog', async () => p2.locator('#token-dialog').isVisible(), 10_000);
    await p2.screenshot({ path: join(outDir, 'token.png') });
    // The feed itself: a wrong token gets a 401 error and a close.
    const answer = await p2.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url);
      const got = [];
      ws.onopen = () => ws.send(JSON.stringify({ type: 'subscribe', token: 'wrong', series: ['strobe_uptime_seconds'] }));
      ws.onmessage = (m) => got.push(JSON.parse(m.data));
      ws.onclose = () => resolve(got);
    }), guarded.base.replace('http', 'ws') + '/api/v1/live');
    expectEq(answer, [{ type: 'error', code: 401, message: 'invalid token' }], 'wrong-token answer');
    expectEq((await fetch(guarded.base + '/api/v1/traces')).status, 401, 'REST without token');
    await p2.fill('#token-input', 'wrong');
    await p2.click('#token-dialog button');
    await until('the dialog again', async () => (await p2.locator('#token-dialog p').textContent())?.includes('refused'), 10_000);
    await p2.fill('#token-input', 'browser-test-token');
    await p2.click('#token-dialog button');
    await until('live with the token', async () => (await p2.locator('#status').textContent()) === 'live', 10_000);
    await until('data', async () => (await p2.locator('#overview-services tbody tr').count()) >= 4, 15_000);
    await p2.close();
  });

  await check('no script errors on the page', async () => {
    // The restart test provokes failed connections; only script errors count here.
    expectEq(pageErrors.filter((e) => !/WebSocket|ERR_CONNECTION|Failed to load resource/.test(e)), [], 'page errors');
  });
} finally {
  await context?.close().catch(() => {});
  await strobe.stop();
  await guarded.stop();
  rmSync(work, { recursive: true, force: true });
}
const failed = results.filter((r) => r[1] !== 'ok');
console.log(`${results.length - failed.length}/${results.length} passed; screenshots in ${outDir}`);
process.exit(failed.length ? 1 : 0);
