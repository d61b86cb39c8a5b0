#!/usr/bin/python3
"""CPU cost of compiling test sources with and without the test precompiled header (and, in the
release preset, at -O1 against the -O2 they used before), measured in one run.

Usage: bench/build/compile_cost.py BUILD_DIR [ROUNDS] [SOURCE_SUFFIX ...]
  BUILD_DIR is a configured and built preset (build/release, build/asan, ...): its
  compile_commands.json gives each test source's exact command and the precompiled header must
  exist. For each source it runs, ROUNDS times (default 3) and interleaved, the command as is
  ("now") and the command without the precompiled header and with the preset's own -O level
  ("before"), without ccache, output to a scratch file, and prints the median user+system
  CPU-seconds of each and the totals. CPU time, not wall time: other load on the machine
  changes it little.
"""
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile

DEFAULT_SOURCES = [
    "base/url_test.cc", "alert/alert_engine_test.cc", "shm/ring_test.cc",
    "otlp/otlp_codec_test.cc", "daemon/daemon_test.cc", "event/event_test.cc",
    "metrics/registry_test.cc", "config/config_test.cc", "base/http_client_test.cc",
    "stream/window_test.cc", "pipeline/queue_test.cc", "trace/trace_test.cc",
]


def compiler_args(command):
    """The compiler invocation of a compile_commands entry, without launchers."""
    args = shlex.split(command)
    for i, a in enumerate(args):
        base = os.path.basename(a)
        if base.endswith(("g++", "c++", "clang++")) or base.startswith(("g++-", "clang++-")):
            return args[i:]
    raise SystemExit("no compiler in: " + command)


def without_pch(args):
    """The same command without the reused precompiled header and the test -O level override."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a == "-include" and "cmake_pch" in args[i + 1]:
            i += 2
            continue
        if a == "-Xclang" and i + 1 < len(args) and args[i + 1] in ("-include-pch", "-include"):
            i += 4  # -Xclang -include-pch -Xclang <file>
            continue
        if a == "-Winvalid-pch":
            i += 1
            continue
        out.append(a)
        i += 1
    levels = [k for k, a in enumerate(out) if a in ("-O0", "-O1", "-O2", "-O3")]
    if len(levels) > 1:  # preset level then the test override: keep the preset's
        for k in reversed(levels[1:]):
            del out[k]
    return out


def cpu_seconds(args, cwd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    build = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    suffixes = sys.argv[3:] or DEFAULT_SOURCES
    entries = json.load(open(os.path.join(build, "compile_commands.json")))
    scratch = tempfile.mkdtemp()
    total_now = total_before = 0.0
    print(f"{'source':40s} {'before':>8s} {'now':>8s}  (median CPU-s of {rounds})")
    for suffix in suffixes:
        entry = next((e for e in entries if e["file"].endswith("/" + suffix)), None)
        if entry is None:
            print(f"{suffix:40s} not in {build}")
            continue
        now = compiler_args(entry["command"])
        out = now.index("-o")
        now[out + 1] = os.path.join(scratch, "x.o")
        before = without_pch(now)
        t_now, t_before = [], []
        for _ in range(rounds):
            t_before.append(cpu_seconds(before, entry["directory"]))
            t_now.append(cpu_seconds(now, entry["directory"]))
        m_now, m_before = statistics.median(t_now), statistics.median(t_before)
        total_now += m_now
        total_before += m_before
        print(f"{suffix:40s} {m_before:8.2f} {m_now:8.2f}")
    print(f"{'total':40s} {total_before:8.2f} {total_now:8.2f}  "
          f"ratio {total_now / total_before:.2f}")


if __name__ == "__main__":
    main()
