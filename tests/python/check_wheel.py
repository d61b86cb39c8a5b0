#!/usr/bin/python3
"""The Python wheel as a user installs it (issue 19): a fresh venv (no system site-packages,
no PYTHONPATH), `pip install --no-index <wheel>`, then `import strobe` from the venv publishes a
counter, a histogram and a span to a real `strobe serve`, whose /metrics must show the exact
values.

  check_wheel.py path/to/strobe-<version>-cpXY-cpXY-<platform>.whl path/to/strobe VERSION

The venv is created without pip (cheap) and Debian's pip installs into it (`pip --python`)."""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration", "daemon"))
from strobe_proc import Daemon  # noqa: E402

WHEEL_DIR, STROBE, VERSION = sys.argv[1], sys.argv[2], sys.argv[3]

PRODUCER = """
import sys, strobe
print(strobe.__version__, strobe.__file__, flush=True)
with strobe.connect(sys.argv[1], sys.argv[2]) as conn:
    conn.counter("wheel_jobs_total", "Jobs.").inc(3)
    h = conn.histogram("wheel_job_seconds")
    for v in (0.5, 1.5, 2.0):
        h.record(v)
    with conn.span("wheel-job", **{"service.name": "wheel"}):
        pass
    conn.flush(timeout=10)
print("flushed", flush=True)
"""


def value(text, series):
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[1])
    return None


def main():
    wheels = glob.glob(os.path.join(WHEEL_DIR, "strobe-%s-cp*-cp*-*.whl" % VERSION))
    if len(wheels) != 1:
        raise SystemExit("FAIL: expected one strobe-%s wheel in %s, found %s"
                         % (VERSION, WHEEL_DIR, wheels))
    tmp = tempfile.mkdtemp(prefix="strobe-wheel-")
    daemon = None
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    try:
        venv = os.path.join(tmp, "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", venv], check=True,
                       timeout=60, env=env)
        python = os.path.join(venv, "bin", "python")
        subprocess.run(["/usr/bin/python3", "-m", "pip", "--python", python, "install",
                        "--no-index", "--no-deps", "--quiet", "--disable-pip-version-check",
                        wheels[0]], check=True, timeout=120, env=env)

        ring = "wh" + uuid.uuid4().hex[:10]
        daemon = Daemon(STROBE, args=["--shm", ring])
        daemon.wait_port()
        daemon.wait_ready()
        r = subprocess.run([python, "-c", PRODUCER, ring, daemon.shm_dir], capture_output=True,
                           text=True, timeout=60, env=env, cwd=tmp)
        print(r.stdout + r.stderr)
        if r.returncode != 0:
            raise SystemExit("FAIL: the producer in the venv failed")
        version, path = r.stdout.split("\n")[0].split(" ", 1)
        if version != VERSION or not path.startswith(os.path.join(venv, "lib")):
            raise SystemExit("FAIL: imported strobe %s from %s, not %s from the venv"
                             % (version, path, VERSION))

        def arrived():
            _, _, text = daemon.request("GET", "/metrics")
            return text if value(text, "wheel_jobs_total") == 3 else None

        text = daemon.poll(arrived, "wheel_jobs_total 3 on /metrics")
        checks = [
            ("wheel_job_seconds_count", 3),
            ("wheel_job_seconds_sum", 4.0),
            ('strobe_receiver_accepted_spans_total{receiver="shm"}', 1),
        ]
        failed = False
        for series, want in checks:
            got = value(text, series)
            print(("ok: " if got == want else "FAIL: ") + "%s = %s (want %s)" % (series, got, want))
            failed |= got != want
        if failed:
            raise SystemExit(1)
        print("wheel %s installed into a fresh venv works against strobe serve"
              % os.path.basename(wheels[0]))
    finally:
        if daemon is not None:
            daemon.stop()
            shutil.rmtree(daemon.tmp, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
