"""Fixtures: the hostile suite's `strobe_binary` and `daemon` factory (tests/hostile/conftest.py)
and its helpers (hostile.py: metric, wait_metric, otlp_json_gauge), reused rather than copied."""

import importlib.util
import pathlib
import sys

HOSTILE = pathlib.Path(__file__).resolve().parents[2] / "hostile"
sys.path.insert(0, str(HOSTILE))
_spec = importlib.util.spec_from_file_location("hostile_conftest", HOSTILE / "conftest.py")
_hostile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hostile)

strobe_binary = _hostile.strobe_binary
daemon = _hostile.daemon
