// Daemon CPU for N live-feed clients at 60 Hz subscribed to the dashboard's overview
// (issue 17). Starts `strobe serve --demo` on a free port, measures its CPU (utime + stime from
// /proc/PID/stat) over SECONDS with 0 clients (the in-run baseline: the demo workload alone),
// then with each N of COUNTS, WebSockets opened from one headless Chromium page (Debian's
// Chromium + tests/browser's playwright-core). Prints one line per run: clients, cores used,
// frames received per second, and the daemon's extra share of one core over the baseline.
// BINARIES may list several strobe binaries (comma-separated, e.g. the old one first): each is
// measured in turn in the same run, with its own 0-client baseline, so before/after figures
// share the machine's conditions.
//
//   node bench/dashboard/live_clients.mjs BINARIES [SECONDS=10] [COUNTS=1,50]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '../../tests/browser/package.json'));
const { chromium } = require('playwright-core');
const [binariesArg, secondsArg = '10', countsArg = '1,50'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const counts = countsArg.split(',').map(Number);
const TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

async function measure(binary) {
const port = await new Promise((r) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
const work = mkdtempSync(join(tmpdir(), 'strobe-bench-'));
const proc = spawn(binary, ['serve', '--demo', '--http', `127.0.0.1:${port}`, '--otlp-http', 'off', '--otlp-grpc', 'off',
  '--wire', 'off', '--data-dir', join(work, 'data')], { stdio: 'ignore', env: { ...process.env, STROBE_SHM_DIR: work } });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  try { if ((await fetch(base + '/readyz')).ok) break; } catch {}
  if (i > 200) throw new Error('strobe not ready');
  await new Promise((r) => setTimeout(r, 100));
}
const cpu = () => {
  const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS; // utime + stime, seconds
};
const ctx = await chromium.launchPersistentContext(join(work, 'profile'), {
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const page = ctx.pages()[0] ?? (await ctx.newPage());
await page.goto(base + '/healthz');
await new Promise((r) => setTimeout(r, 3000)); // the demo's first windows and traces

async function run(n) {
  await page.evaluate(([url, n]) => {
    window.frames_ = 0;
    window.socks = [];
    for (let i = 0; i < n; i++) {
      const ws = new WebSocket(url);
      ws.onopen = () => ws.send(JSON.stringify({ type: 'subscribe', rate: 60, alerts: true, series: [
        'demo_http_request_duration_seconds', 'demo_http_requests_total', 'strobe_trace_operation_spans_total',
        'strobe_trace_operation_errors_total', 'node_cpu_usage_ratio', 'node_memory_used_bytes',
        'node_memory_MemTotal_bytes', 'strobe_pipeline_*'] }));
      ws.onmessage = () => { window.frames_++; };
      window.socks.push(ws);
    }
  }, [base.replace('http', 'ws') + '/api/v1/live', n]);
  await new Promise((r) => setTimeout(r, 1000)); // connected, full frames sent
  const f0 = await page.evaluate(() => window.frames_);
  const c0 = cpu(), t0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const c1 = cpu(), t1 = Date.now();
  const f1 = await page.evaluate(() => window.frames_);
  await page.evaluate(() => window.socks.forEach((s) => s.close()));
  await new Promise((r) => setTimeout(r, 500));
  return { cores: (c1 - c0) / ((t1 - t0) / 1000), fps: (f1 - f0) / ((t1 - t0) / 1000) };
}

console.log(`${binary}:`);
const baseline = await run(0);
console.log(`clients 0 (baseline, demo alone): daemon ${(baseline.cores * 100).toFixed(1)}% of a core`);
for (const n of counts) {
  const r = await run(n);
  console.log(`clients ${n}: daemon ${(r.cores * 100).toFixed(1)}% of a core, ${r.fps.toFixed(0)} frames/s received ` +
    `(${(r.fps / n).toFixed(1)} per client); live feed share ${((r.cores - baseline.cores) * 100).toFixed(1)}% of a core`);
}
await ctx.close();
proc.kill('SIGTERM');
await new Promise((r) => proc.on('exit', r));
rmSync(work, { recursive: true, force: true });
}

for (const binary of binariesArg.split(',')) await measure(binary);
