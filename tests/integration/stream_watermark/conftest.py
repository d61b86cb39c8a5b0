"""Fixtures for the stream watermark tests: the hostile suite's ``strobe_binary`` and ``daemon``
factory (tests/hostile/conftest.py), loaded under another module name so both folders keep a
conftest of their own; the helpers (metric, otlp_pb) come from tests/hostile as well."""

import importlib.util
import pathlib

_HOSTILE = pathlib.Path(__file__).resolve().parents[2] / "hostile" / "conftest.py"
_spec = importlib.util.spec_from_file_location("hostile_conftest", _HOSTILE)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)  # also puts tests/hostile and tests/integration/daemon on sys.path

strobe_binary = _mod.strobe_binary
daemon = _mod.daemon
