#!/usr/bin/python3
"""Instructions per span of the OTLP/HTTP ingest path, measured by callgrind: load-independent,
so builds can be compared on a busy machine where wall-clock figures are noise.

Captures four request bodies from `strobe bench otlp` (1,000 spans x 6 attributes each), then
runs BUILD's otlp_ingest_server (bench/otlp/ingest.yaml) under callgrind twice, sending SMALL and
then LARGE requests over one keep-alive connection, and prints the marginal instructions per
request and per span: (Ir(LARGE) - Ir(SMALL)) / (LARGE - SMALL), which cancels start-up and
shutdown. Every response must be 200 and the memory exporter must count every span.

    bench/otlp/callgrind_ingest.py BUILD [BUILD...] [--small 20] [--large 220] [--keep DIR]
                                   [--config FILE]

--config gives every build the same server configuration (default bench/otlp/ingest.yaml, which
has an otlp_grpc receiver too; builds older than that receiver need an otlp_http-only file,
e.g. bench/otlp/ingest_http.yaml, for all builds compared).

Needs valgrind. Takes about a minute per build. With --keep the callgrind files stay in DIR
(callgrind_annotate them to see per-function costs).
"""
import argparse
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def capture(strobe, count):
    """The first `count` request bodies `strobe bench otlp` sends (each answered 200)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(120)
    port = srv.getsockname()[1]
    bench = subprocess.Popen([strobe, "bench", "otlp", "--url", "http://127.0.0.1:%d" % port,
                              "--connections", "1", "--duration", "5", "--json"],
                             stdout=subprocess.DEVNULL)
    conn, _ = srv.accept()
    conn.settimeout(120)
    bodies, buf = [], b""
    try:
        while len(bodies) < count:
            while b"\r\n\r\n" not in buf:
                buf += conn.recv(65536)
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            while len(buf) < length:
                buf += conn.recv(65536)
            bodies.append(buf[:length])
            buf = buf[length:]
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
                         b"Content-Length: 0\r\n\r\n")
    finally:
        conn.close()
        srv.close()
        bench.wait(timeout=60)
    return bodies


def run(build, bodies, requests, out, config):
    """Total instructions of otlp_ingest_server serving `requests` requests under callgrind."""
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                             os.path.join(build, "bin", "otlp_ingest_server"),
                             "--config", config],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = re.search(r"otlp_http=(\S+)", proc.stdout.readline())
        if ready is None:
            raise SystemExit("otlp_ingest_server did not start: " + proc.stderr.read()[-2000:])
        addr = ready.group(1)
        host, port = addr.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=300)
        for i in range(requests):
            conn.request("POST", "/v1/traces", body=bodies[i % len(bodies)],
                         headers={"Content-Type": "application/x-protobuf"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise SystemExit("request %d: HTTP %d" % (i, resp.status))
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
    spans = re.search(r"exported spans=(\d+)", stdout)
    want = requests * 1000
    if spans is None or int(spans.group(1)) != want:
        raise SystemExit("exported %s spans, want %d" % (spans and spans.group(1), want))
    return int(re.search(r"I\s+refs:\s+([\d,]+)", stderr).group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("builds", nargs="+")
    ap.add_argument("--small", type=int, default=20)
    ap.add_argument("--large", type=int, default=220)
    ap.add_argument("--keep")
    ap.add_argument("--config", default=os.path.join(HERE, "ingest.yaml"))
    args = ap.parse_args()
    out_dir = args.keep or tempfile.mkdtemp()
    os.makedirs(out_dir, exist_ok=True)
    bodies = capture(os.path.join(args.builds[0], "bin", "strobe"), 4)
    print("| build | Ir (%d requests) | Ir (%d requests) | Ir per request | Ir per span |"
          % (args.small, args.large))
    print("| --- | --- | --- | --- | --- |")
    for i, build in enumerate(args.builds):
        small = run(build, bodies, args.small,
                    os.path.join(out_dir, "b%d_%d.out" % (i, args.small)), args.config)
        large = run(build, bodies, args.large,
                    os.path.join(out_dir, "b%d_%d.out" % (i, args.large)), args.config)
        per_request = (large - small) / (args.large - args.small)
        print("| %s | %d | %d | %.0f | %.0f |" % (build, small, large, per_request,
                                                  per_request / 1000))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
