// Emits a fixed trace tree and a few metrics with the real OpenTelemetry JS SDK to strobe's
// OTLP/HTTP receiver. Usage: node emit.js http://127.0.0.1:PORT
//
// Trace (times relative to t0, in ms; services frontend and backend):
//   GET /checkout      frontend SERVER  [0, 100]   (exported as OTLP protobuf)
//   ├─ call backend    frontend CLIENT  [10, 90]
//   │  └─ POST /charge backend  SERVER  [15, 85]   (backend spans exported as OTLP/JSON)
//   │     └─ SELECT    backend  CLIENT  [20, 80]   status ERROR "deadlock"
//   └─ render          frontend INTERNAL [90, 98]
// Metrics (OTLP protobuf, cumulative): counter requests{route=/checkout} = 7,
// histogram latency_ms (values 5, 15, 250), observable gauge queue_depth = 42.
// Prints {"traceId": "..."} and exits 0 once everything was exported.
'use strict';
const api = require('@opentelemetry/api');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { Resource } = require('@opentelemetry/resources');
const { OTLPTraceExporter: ProtoTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { OTLPTraceExporter: JsonTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-proto');

const base = process.argv[2];
if (!base) {
  console.error('usage: node emit.js http://127.0.0.1:PORT');
  process.exit(2);
}

function provider(service, exporter) {
  const p = new BasicTracerProvider({ resource: new Resource({ 'service.name': service }) });
  p.addSpanProcessor(new BatchSpanProcessor(exporter, { scheduledDelayMillis: 100 }));
  return p;
}

async function main() {
  const front = provider('frontend', new ProtoTraceExporter({ url: `${base}/v1/traces` }));
  const back = provider('backend', new JsonTraceExporter({ url: `${base}/v1/traces` }));
  const ft = front.getTracer('emit.js');
  const bt = back.getTracer('emit.js');
  const t0 = Date.now() - 1000;
  const at = (ms) => t0 + ms;

  const root = ft.startSpan('GET /checkout', { kind: api.SpanKind.SERVER, startTime: at(0) });
  root.setAttribute('http.method', 'GET');
  const rootCtx = api.trace.setSpan(api.context.active(), root);
  const client = ft.startSpan('call backend', { kind: api.SpanKind.CLIENT, startTime: at(10) }, rootCtx);
  const clientCtx = api.trace.setSpan(api.context.active(), client);
  const server = bt.startSpan('POST /charge', { kind: api.SpanKind.SERVER, startTime: at(15) }, clientCtx);
  server.setAttribute('payment.amount', 1299);
  const serverCtx = api.trace.setSpan(api.context.active(), server);
  const db = bt.startSpan('SELECT', { kind: api.SpanKind.CLIENT, startTime: at(20) }, serverCtx);
  db.setAttribute('db.system', 'postgresql');
  db.setStatus({ code: api.SpanStatusCode.ERROR, message: 'deadlock' });
  db.end(at(80));
  server.end(at(85));
  client.end(at(90));
  const render = ft.startSpan('render', { kind: api.SpanKind.INTERNAL, startTime: at(90) }, rootCtx);
  render.end(at(98));
  root.end(at(100));

  const reader = new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: `${base}/v1/metrics` }),
    exportIntervalMillis: 60000,
  });
  const meters = new MeterProvider({
    resource: new Resource({ 'service.name': 'frontend' }),
    readers: [reader],
  });
  const meter = meters.getMeter('emit.js');
  const requests = meter.createCounter('requests');
  requests.add(3, { route: '/checkout' });
  requests.add(4, { route: '/checkout' });
  const latency = meter.createHistogram('latency_ms');
  [5, 15, 250].forEach((v) => latency.record(v));
  meter.createObservableGauge('queue_depth').addCallback((r) => r.observe(42));

  await front.shutdown();
  await back.shutdown();
  await meters.shutdown();  // one export (not forceFlush + shutdown: that sends twice)
  console.log(JSON.stringify({ traceId: root.spanContext().traceId }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
