// An OTLP/HTTP collector stand-in that decodes what it receives with the OpenTelemetry JS
// SDK's classes generated (protobufjs) from the upstream opentelemetry-proto files
// (@opentelemetry/otlp-transformer's build/src/generated/root.js): an oracle for strobe's OTLP
// encoder that shares nothing with strobe's own .proto files, generated code or decoder.
//
// Usage: node otlp_sink.js
//   Listens on 127.0.0.1 on a free port and prints `listening PORT`. Every POST to /v1/traces,
//   /v1/metrics or /v1/logs (gzip or identity) becomes one JSON line on stdout:
//     {"path", "contentType", "bytes": length of the decoded protobuf, "reencodedBytes": length
//      of the upstream classes' re-encoding (differs when strobe sent a field upstream does not
//      know, which the decoder skips), "request": the message (toObject: int64 as strings, enums
//      as names, bytes as base64, defaults omitted)}
//   or {"path", "error"} when the body does not decode; then answers with an empty
//   Export*ServiceResponse (full success) or 400. Stops on SIGTERM or when stdin closes.
// Usage: node otlp_sink.js --encode
//   Reads {"/v1/traces": message, ...} (the toObject shape above) from stdin and prints
//   {"/v1/traces": base64 of the upstream classes' protobuf encoding, ...}: requests that
//   strobe's own encoder had no part in.
'use strict';
const http = require('http');
const path = require('path');
const zlib = require('zlib');

const root = require(path.join(__dirname, 'node_modules', '@opentelemetry', 'otlp-transformer',
                               'build', 'src', 'generated', 'root.js'));
const collector = root.opentelemetry.proto.collector;
const kTypes = {
  '/v1/traces': [collector.trace.v1.ExportTraceServiceRequest,
                 collector.trace.v1.ExportTraceServiceResponse],
  '/v1/metrics': [collector.metrics.v1.ExportMetricsServiceRequest,
                  collector.metrics.v1.ExportMetricsServiceResponse],
  '/v1/logs': [collector.logs.v1.ExportLogsServiceRequest,
               collector.logs.v1.ExportLogsServiceResponse],
};

if (process.argv[2] === '--encode') {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    const out = {};
    for (const [p, obj] of Object.entries(JSON.parse(Buffer.concat(chunks).toString()))) {
      const Request = kTypes[p][0];
      out[p] = Buffer.from(Request.encode(Request.fromObject(obj)).finish()).toString('base64');
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  });
  return;
}

function emit(line) {
  process.stdout.write(JSON.stringify(line) + '\n');
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const types = kTypes[req.url];
    if (req.method !== 'POST' || types === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    const [Request, Response] = types;
    let request;
    let bytes;
    try {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      bytes = body.length;
      request = Request.decode(body);
    } catch (e) {
      emit({path: req.url, error: String(e)});
      res.writeHead(400);
      res.end();
      return;
    }
    emit({
      path: req.url,
      contentType: req.headers['content-type'] || '',
      bytes,
      reencodedBytes: Request.encode(request).finish().length,
      request: Request.toObject(request, {longs: String, enums: String, bytes: String}),
    });
    res.writeHead(200, {'Content-Type': 'application/x-protobuf'});
    res.end(Buffer.from(Response.encode(Response.create()).finish()));
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
