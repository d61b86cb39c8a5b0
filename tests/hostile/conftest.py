"""Fixtures of the hostile-client suite.

- ``strobe_binary``: the `strobe` under test ($STROBE_BINARY, set by ctest; else build/release).
- ``daemon``: a factory ``daemon(args=..., env=..., config_text=..., otlp_http=...)`` that starts
  `strobe serve` on free ports (strobe_proc.Daemon, private shm and data dirs), waits until it is
  ready, and stops it when the test ends. The helpers every test needs are in ``hostile.py``.
- ``import strobe`` (the Python producer) finds $PYTHONPATH's package, else the build's.
"""

import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "daemon"))
sys.path.insert(0, str(HERE))
# The `strobe` Python package (the shm tests' producers): $PYTHONPATH first (ctest sets it),
# else the build's.
sys.path.append(os.path.join(os.environ.get("STROBE_BUILD_DIR", str(ROOT / "build" / "release")),
                             "python"))

from strobe_proc import Daemon  # noqa: E402


@pytest.fixture
def strobe_binary():
    path = os.environ.get("STROBE_BINARY") or str(ROOT / "build" / "release" / "bin" / "strobe")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built (set STROBE_BINARY)")
    return path


@pytest.fixture
def daemon(strobe_binary):
    started = []

    def start(args=(), env=None, config_text=None, otlp_http="off", token=None, ready=True):
        env = dict(env or {})
        if token is not None:
            env["STROBE_TOKEN"] = token
        d = Daemon(strobe_binary, args=args, env=env, config_text=config_text, otlp_http=otlp_http)
        started.append(d)
        if token is not None:
            d.headers = {"Authorization": "Bearer " + token}
        if ready:
            d.wait_port()
            d.wait_ready()
        return d

    yield start
    for d in started:
        d.stop()
