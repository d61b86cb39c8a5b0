#!/usr/bin/python3
"""libstrobe as users install it (issue 19). Two modes:

  test_install.py prefix SRC BUILD   `cmake --install BUILD` into a temporary prefix; checks the
      installed headers (no private header installed or included, all of them compile from the
      prefix alone), the libraries (SONAME), then builds examples/find_package with
      find_package(strobe) and again with `pkg-config --cflags --libs strobe`, runs each, scrapes
      its Exposer and checks the exact values and `promtool check metrics`.
  test_install.py lib-only SRC BUILD  configures SRC with -DSTROBE_BUILD_DAEMON=OFF
      -DSTROBE_BUILD_TESTING=OFF while GTest, Boost, protobuf, gRPC, pybind11 and benchmark are
      disabled (a REQUIRED find of any of them fails the configure), builds only the installed
      libraries in BUILD-lib-only (beside BUILD: ccache hits on the main build's objects),
      installs them and builds the consumer against the static libraries.
Every process started is bounded by a timeout and reaped."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

MODE, SRC, BUILD = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
CONSUMER_SRC = os.path.join(SRC, "examples", "find_package")
PRIVATE_HEADERS = ["strobe/shm/test_util.h", "strobe/metrics/internal/http_request.h"]
LIBS = ["base", "snapshot", "metrics", "metrics_shm", "shm", "trace", "trace_shm"]
failures = []


def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(argv, timeout=300, **kw):
    print("+ " + " ".join(argv), flush=True)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, **kw)
    if r.returncode != 0:
        print(r.stdout[-4000:])
        raise SystemExit("FAIL: exit %d: %s" % (r.returncode, " ".join(argv)))
    return r.stdout


def install(build, prefix):
    for component in ("libstrobe", "dev"):
        run(["cmake", "--install", build, "--prefix", prefix, "--component", component])


def check_headers(prefix, tmp):
    inc = os.path.join(prefix, "include")
    headers = sorted(os.path.relpath(os.path.join(d, f), inc)
                     for d, _, files in os.walk(inc) for f in files if f.endswith(".h"))
    check(len(headers) >= 40, "%d headers installed" % len(headers))
    for p in PRIVATE_HEADERS:
        check(p not in headers, "private header %s not installed" % p)
    # Every quoted include of an installed header names an installed header.
    for h in headers:
        with open(os.path.join(inc, h)) as f:
            for inc_name in re.findall(r'^\s*#\s*include\s+"([^"]+)"', f.read(), re.M):
                if inc_name not in headers:
                    check(False, "%s includes %s, which is not installed" % (h, inc_name))
    # All of them together compile from the prefix alone (one translation unit: cheap).
    tu = os.path.join(tmp, "all_headers.cc")
    with open(tu, "w") as f:
        f.write("".join('#include "%s"\n' % h for h in headers))
    run(["g++", "-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-I", inc, tu])
    check(True, "every installed header compiles against the prefix alone")


def check_libraries(prefix):
    libdir = os.path.join(prefix, "lib")
    for lib in LIBS:
        so = os.path.join(libdir, "libstrobe_%s.so" % lib)
        check(os.path.isfile(os.path.join(libdir, "libstrobe_%s.a" % lib)), "libstrobe_%s.a" % lib)
        check(os.path.islink(so), "libstrobe_%s.so is the dev symlink" % lib)
        soname = re.search(r"SONAME.*\[(.*)\]", run(["readelf", "-d", so]))
        check(soname is not None and soname.group(1) == "libstrobe_%s.so.0.1" % lib,
              "libstrobe_%s SONAME libstrobe_%s.so.0.1 (got %s)"
              % (lib, lib, soname and soname.group(1)))


def scrape(port, accept=None):
    req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers["Content-Type"], r.read().decode()


EXPECTED_LINES = [
    "consumer_jobs_total 3",
    'consumer_job_bytes_bucket{le="100"} 1',
    'consumer_job_bytes_bucket{le="1000"} 2',
    'consumer_job_bytes_bucket{le="+Inf"} 3',
    "consumer_job_bytes_sum 1650",
    "consumer_job_bytes_count 3",
    "consumer_spans_ended 3",
]


def run_consumer(binary, what, env=None):
    proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            env=env)
    try:
        version = proc.stdout.readline().strip()
        line = proc.stdout.readline().strip()
        check(version == "strobe 0.1.0", "%s: version line %r" % (what, version))
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)", line)
        check(m is not None, "%s: listening line %r" % (what, line))
        if m is None:
            return
        port = int(m.group(1))
        ctype, text = scrape(port)
        check(ctype == "text/plain; version=0.0.4; charset=utf-8", "%s: text content type" % what)
        lines = text.splitlines()
        for want in EXPECTED_LINES:
            check(want in lines, "%s: /metrics has %r" % (what, want))
        promtool = shutil.which("promtool")
        if promtool is None:
            check(False, "promtool is installed (scripts/packages.txt: prometheus)")
        else:
            r = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                               capture_output=True, timeout=30)
            check(r.returncode == 0, "%s: promtool check metrics passes (%s)"
                  % (what, (r.stdout + r.stderr).strip()[:500]))
        ctype, om = scrape(port, "application/openmetrics-text; version=1.0.0")
        check(ctype.startswith("application/openmetrics-text; version=1.0.0"),
              "%s: OpenMetrics negotiated" % what)
        check(om.endswith("# EOF\n") and "consumer_jobs_total 3" in om.splitlines(),
              "%s: OpenMetrics body" % what)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    check(proc.returncode == 0, "%s: exits 0 when stdin closes" % what)


def build_consumer_cmake(prefix, tmp, static):
    build = os.path.join(tmp, "consumer-" + ("static" if static else "shared"))
    run(["cmake", "-S", CONSUMER_SRC, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         "-DCMAKE_PREFIX_PATH=" + prefix, "-DSTROBE_CONSUMER_STATIC=" + ("ON" if static else "OFF")])
    run(["cmake", "--build", build])
    return os.path.join(build, "strobe_consumer")


def mode_prefix(tmp):
    prefix = os.path.join(tmp, "prefix")
    install(BUILD, prefix)
    check_headers(prefix, tmp)
    check_libraries(prefix)
    # find_package(strobe 0.1) with the shared libraries.
    binary = build_consumer_cmake(prefix, tmp, static=False)
    needed = re.findall(r"NEEDED.*\[(.*)\]", run(["readelf", "-d", binary]))
    check("libstrobe_metrics.so.0.1" in needed and "libstrobe_trace.so.0.1" in needed,
          "find_package consumer links the shared libraries (NEEDED %s)" % needed)
    run_consumer(binary, "find_package")
    # A version the package does not satisfy fails (0.x: same minor only).
    script = os.path.join(tmp, "want_0_2.cmake")
    with open(script, "w") as f:
        f.write('set(CMAKE_PREFIX_PATH "%s")\nfind_package(strobe 0.2 QUIET)\n'
                'if(strobe_FOUND)\n  message(FATAL_ERROR "0.2 accepted")\nendif()\n' % prefix)
    bad = subprocess.run(["cmake", "-P", script], text=True, capture_output=True, timeout=60)
    check(bad.returncode == 0, "find_package(strobe 0.2) is not satisfied by 0.1.0 " + bad.stderr)
    # pkg-config.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib", "pkgconfig"))
    env.pop("PKG_CONFIG_LIBDIR", None)
    version = run(["pkg-config", "--modversion", "strobe"], env=env).strip()
    check(version == "0.1.0", "pkg-config --modversion strobe = %r" % version)
    flags = run(["pkg-config", "--cflags", "--libs", "strobe"], env=env).split()
    pc_binary = os.path.join(tmp, "pc_consumer")
    run(["g++", "-O1", os.path.join(CONSUMER_SRC, "main.cc"), "-o", pc_binary] + flags + ["-pthread"])
    run_consumer(pc_binary, "pkg-config",
                 env=dict(os.environ, LD_LIBRARY_PATH=os.path.join(prefix, "lib")))


def mode_lib_only(tmp):
    # build/<preset>-lib-only: at the same depth as build/<preset>, so the compile commands
    # (relative include and object paths) equal the main build's and ccache (CCACHE_BASEDIR =
    # the source tree) serves the objects the main build compiled: the test then costs
    # configure + links, not a second compile of libstrobe.
    build = BUILD.rstrip("/") + "-lib-only"
    disabled = ["GTest", "Boost", "Protobuf", "protobuf", "gRPC", "pybind11", "benchmark",
                "Python3", "yaml-cpp", "fmt", "spdlog", "CLI11", "simdjson"]
    run(["cmake", "-S", SRC, "-B", build, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
         "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG", "-DCMAKE_CXX_COMPILER=g++",
         "-DSTROBE_BUILD_DAEMON=OFF", "-DSTROBE_BUILD_TESTING=OFF",
         "-DSTROBE_BUILD_BENCHMARKS=OFF", "-DSTROBE_BUILD_PYTHON=OFF"]
        + ["-DCMAKE_DISABLE_FIND_PACKAGE_%s=ON" % p for p in disabled])
    targets = []
    for lib in LIBS:
        targets += ["strobe_" + lib, "strobe_%s_shared" % lib]
    env = dict(os.environ, CCACHE_BASEDIR=SRC, CCACHE_NOHASHDIR="true")
    run(["cmake", "--build", build, "-j", "2", "--target"] + targets, timeout=900, env=env)
    prefix = os.path.join(tmp, "prefix")
    install(build, prefix)
    check_libraries(prefix)
    binary = build_consumer_cmake(prefix, tmp, static=True)
    needed = re.findall(r"NEEDED.*\[(.*)\]", run(["readelf", "-d", binary]))
    check(not any(n.startswith("libstrobe") for n in needed),
          "static consumer needs no libstrobe .so (NEEDED %s)" % needed)
    run_consumer(binary, "lib-only static")


def main():
    tmp = tempfile.mkdtemp(prefix="strobe-install-")
    try:
        {"prefix": mode_prefix, "lib-only": mode_lib_only}[MODE](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
