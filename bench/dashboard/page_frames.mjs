// The dashboard's cost in the browser (issue 17): frame handling time with ≥ 200 live series at
// 60 Hz, and the time from the daemon's "ready" log line to the overview's first live data
// painted. Debian's Chromium via tests/browser's playwright-core, against `strobe serve --demo`.
//
//   node bench/dashboard/page_frames.mjs BINARIES [SECONDS=10]
//
// BINARIES: one or more runs, comma-separated (e.g. the old one first), each measured in turn in
// the same invocation: a strobe binary (its embedded page), or BINARY@DIST to serve the page
// built in DIST (`node web/build.mjs --dist DIST`) instead, from a local proxy that passes the
// API and the live feed to the daemon: a page change measured without rebuilding the binary. The harness does not rely on the page's own instruments:
// it wraps the page's WebSocket onmessage (window.strobe.live's socket) and times each call
// with performance.now() — the frame's parse, state and history update and every view's
// listener — so old and new pages are measured alike. First data: a MutationObserver installed
// before the page's scripts notes when the overview's tiles first get content; the paint is the
// next animation frame.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, createServer } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const [binariesArg, secondsArg = '10'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const SELECTORS = ['demo_*', 'node_*', 'strobe_pipeline_*'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Serves DIST's files at / and /assets/*, proxies everything else (HTTP and WebSocket upgrades)
// to the daemon on `port`. Returns the proxy's port.
async function proxy(dist, port) {
  const types = { html: 'text/html', js: 'text/javascript', css: 'text/css' };
  const server = createHttpServer((req, res) => {
    const path = req.url.split('?')[0];
    if (path === '/' || path.startsWith('/assets/')) {
      const file = join(dist, path === '/' ? 'index.html' : path);
      res.writeHead(200, { 'content-type': types[file.split('.').pop()] ?? 'application/octet-stream' });
      res.end(readFileSync(file));
      return;
    }
    const up = httpRequest({ host: '127.0.0.1', port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    const up = connect(port, '127.0.0.1', () => {
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n` +
        Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => server.close() };
}

async function measure(run) {
  const [binary, dist] = run.split('@');
  const port = await new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
  const work = mkdtempSync(join(tmpdir(), 'strobe-page-'));
  const ctx = await chromium.launchPersistentContext(join(work, 'profile'), {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--enable-precise-memory-info'],
  });
  await ctx.addInitScript(() => {
    const seen = () => {
      const t = document.querySelector('#tiles');
      if (t && t.childElementCount > 0 && !window.__firstData) {
        window.__firstData = true;
        requestAnimationFrame(() => setTimeout(() => { window.__firstDataPainted = performance.timeOrigin + performance.now(); }));
      }
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true });
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const log = join(work, 'strobe.log');
  const { openSync } = await import('node:fs');
  const out = openSync(log, 'w');
  const proc = spawn(binary, ['serve', '--demo', '--http', `127.0.0.1:${port}`, '--otlp-http', 'off', '--otlp-grpc', 'off',
    '--wire', 'off', '--data-dir', join(work, 'data')], { stdio: ['ignore', out, out], env: { ...process.env, STROBE_SHM_DIR: work } });
  let ready;
  for (let i = 0; !ready; i++) {
    const line = readFileSync(log, 'utf8').split('\n').find((l) => / ready \(pid /.test(l));
    if (line) ready = Date.parse(line.split(' ')[0]);
    else if (i > 1000) throw new Error('no ready line');
    else await sleep(5);
  }
  const front = dist ? await proxy(dist, port) : null;
  const base = `http://127.0.0.1:${front ? front.port : port}`;
  await page.goto(base + '/#/overview');
  for (let i = 0; !(await page.evaluate(() => window.__firstDataPainted)); i++) {
    if (i > 400) throw new Error('no data painted');
    await sleep(25);
  }
  const painted = await page.evaluate(() => window.__firstDataPainted);

  await page.goto(base + '/#/explore?s=' + encodeURIComponent(SELECTORS.join(' ')));
  await page.evaluate((series) => {
    const live = window.strobe.live;
    live.subscribe({ rate: 60, series });
  }, SELECTORS);
  for (let i = 0; ; i++) {
    const n = await page.evaluate(() => [...window.strobe.live.state.keys()].filter((k) => !k.startsWith('meta:')).length);
    if (n >= 200) break;
    if (i > 200) throw new Error(`only ${n} series`);
    await sleep(50);
  }
  await sleep(2000); // the full frame and the first table are behind us
  const m = await page.evaluate(async (secs) => {
    const ws = window.strobe.live.ws;
    const orig = ws.onmessage;
    const times = [];
    ws.onmessage = (e) => { const t0 = performance.now(); orig.call(ws, e); times.push(performance.now() - t0); };
    let longTasks = 0;
    const obs = new PerformanceObserver((l) => { longTasks += l.getEntries().length; });
    obs.observe({ type: 'longtask' });
    const heap0 = performance.memory?.usedJSHeapSize ?? 0;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, secs * 1000));
    ws.onmessage = orig;
    obs.disconnect();
    const elapsed = (performance.now() - t0) / 1000;
    times.sort((a, b) => a - b);
    const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
    return { fps: times.length / elapsed, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: times[times.length - 1],
      busy: times.reduce((a, b) => a + b, 0) / (elapsed * 10), longTasks,
      heapMB: (performance.memory?.usedJSHeapSize ?? 0) / 2 ** 20, heapGrowthMB: ((performance.memory?.usedJSHeapSize ?? 0) - heap0) / 2 ** 20,
      series: [...window.strobe.live.state.keys()].filter((k) => !k.startsWith('meta:')).length };
  }, seconds);
  console.log(`${run}: ready line → first live data painted ${(painted - ready).toFixed(0)} ms; ` +
    `${m.series} series at 60 Hz: ${m.fps.toFixed(1)} frames/s, frame time p50 ${m.p50.toFixed(2)} ms, p95 ${m.p95.toFixed(2)} ms, ` +
    `p99 ${m.p99.toFixed(2)} ms, max ${m.max.toFixed(2)} ms; main thread ${m.busy.toFixed(1)}% busy with frames; ` +
    `${m.longTasks} long tasks; JS heap ${m.heapMB.toFixed(1)} MB (${m.heapGrowthMB >= 0 ? '+' : ''}${m.heapGrowthMB.toFixed(1)} MB over the run)`);
  await ctx.close();
  front?.close();
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
  rmSync(work, { recursive: true, force: true });
}

for (const binary of binariesArg.split(',')) await measure(binary);
