// Emits a fixed trace tree, a few metrics and log records with the real OpenTelemetry JS SDK's
// gRPC exporters to strobe's OTLP/gRPC receiver, then probes the receiver with raw gRPC calls
// (@grpc/grpc-js) carrying bad input. Usage: node emit.js 127.0.0.1:PORT
//
// Trace (times relative to t0, in ms; services frontend and backend, each its own exporter):
//   GET /checkout      frontend SERVER  [0, 100]
//   ├─ call backend    frontend CLIENT  [10, 90]
//   │  └─ POST /charge backend  SERVER  [15, 85]   payment.amount = 1299
//   │     └─ SELECT    backend  CLIENT  [20, 80]   status ERROR "deadlock"
//   └─ render          frontend INTERNAL [90, 98]
// Metrics (cumulative): counter requests{route=/checkout} = 7, histogram latency_ms (values 5,
// 15, 250), observable gauge queue_depth = 42.
// Logs (service frontend): "order placed" INFO {order.id=A-1, items=3}, "payment failed"
// ERROR {order.id=A-2, items=1}, "order shipped" INFO {order.id=A-3, items=2}.
// Probes (raw bytes to the Export methods): a truncated request, OTLP/JSON instead of
// protobuf, an unknown method; their gRPC status codes are printed.
// Prints one JSON line {"traceId": ..., "probes": {...}} and exits 0 once all was exported.
'use strict';
const api = require('@opentelemetry/api');
const grpc = require('@grpc/grpc-js');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { Resource } = require('@opentelemetry/resources');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-grpc');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { OTLPMetricExporter } = require('@opentelemetry/exporter-metrics-otlp-grpc');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { OTLPLogExporter } = require('@opentelemetry/exporter-logs-otlp-grpc');
const { SeverityNumber } = require('@opentelemetry/api-logs');

const target = process.argv[2];
if (!target) {
  console.error('usage: node emit.js 127.0.0.1:PORT');
  process.exit(2);
}
const url = `http://${target}`;

function tracer(service) {
  const p = new BasicTracerProvider({ resource: new Resource({ 'service.name': service }) });
  p.addSpanProcessor(new BatchSpanProcessor(new OTLPTraceExporter({ url }),
                                            { scheduledDelayMillis: 100 }));
  return p;
}

// One unary call of `method` with `bytes` as the raw request message: the status code.
function probe(method, bytes) {
  const client = new grpc.Client(target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, (b) => b, (b) => b, bytes, { deadline: Date.now() + 10000 },
                            (err) => {
                              client.close();
                              resolve(err ? err.code : 0);
                            });
  });
}

async function main() {
  const front = tracer('frontend');
  const back = tracer('backend');
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
    exporter: new OTLPMetricExporter({ url }),
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

  const logs = new LoggerProvider({ resource: new Resource({ 'service.name': 'frontend' }) });
  logs.addLogRecordProcessor(new BatchLogRecordProcessor(new OTLPLogExporter({ url }),
                                                         { scheduledDelayMillis: 100 }));
  const logger = logs.getLogger('emit.js');
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'order placed',
                attributes: { 'order.id': 'A-1', items: 3 } });
  logger.emit({ severityNumber: SeverityNumber.ERROR, severityText: 'ERROR',
                body: 'payment failed', attributes: { 'order.id': 'A-2', items: 1 } });
  logger.emit({ severityNumber: SeverityNumber.INFO, severityText: 'INFO', body: 'order shipped',
                attributes: { 'order.id': 'A-3', items: 2 } });

  await front.shutdown();
  await back.shutdown();
  await meters.shutdown();  // one export (not forceFlush + shutdown: that sends twice)
  await logs.shutdown();

  const traceMethod = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
  const probes = {
    // resource_spans (field 1, length 200) with 3 bytes of it: truncated.
    truncated: await probe(traceMethod, Buffer.from([0x0a, 0xc8, 0x01, 0x0a, 0x00, 0x12])),
    // OTLP/JSON where protobuf belongs: '{' is field 15 as a (deprecated) group: malformed.
    wrong_content: await probe(traceMethod, Buffer.from('{"resourceSpans":[]}')),
    unknown_method: await probe('/opentelemetry.proto.collector.trace.v1.TraceService/Query',
                                Buffer.alloc(0)),
  };
  console.log(JSON.stringify({ traceId: root.spanContext().traceId, probes }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
