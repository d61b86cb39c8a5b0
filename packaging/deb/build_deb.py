#!/usr/bin/python3
"""Builds strobe_<version>_<arch>.deb from a built tree with dpkg-deb (no debhelper needed).

  build_deb.py --strobe build/release/bin/strobe --version 0.1.0 --source . --out DIR

Contents: /usr/bin/strobe (stripped), /etc/strobe/strobe.yaml (a conffile),
/lib/systemd/system/strobe.service, /usr/share/doc/strobe/ (copyright, changelog, deploy.md,
install.md), maintainer scripts creating the `strobe` user (packaging/deb/postinst).
Depends are computed by dpkg-shlibdeps from the binary, plus adduser. Prints the .deb path."""
import argparse
import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strobe", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    src = os.path.abspath(a.source)
    arch = subprocess.check_output(["dpkg", "--print-architecture"], text=True).strip()
    work = tempfile.mkdtemp(prefix="strobe-deb-")
    try:
        root = os.path.join(work, "root")

        def put(src_path, dest, mode):
            path = os.path.join(root, dest.lstrip("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copyfile(src_path, path)
            os.chmod(path, mode)
            return path

        binary = put(a.strobe, "/usr/bin/strobe", 0o755)
        subprocess.check_call(["strip", "--strip-unneeded", "--remove-section=.comment",
                               "--remove-section=.note", binary])
        put(os.path.join(src, "packaging", "strobe.yaml"), "/etc/strobe/strobe.yaml", 0o644)
        put(os.path.join(src, "packaging", "strobe.service"), "/lib/systemd/system/strobe.service",
            0o644)
        doc = "/usr/share/doc/strobe/"
        for name in ("deploy.md", "install.md"):
            put(os.path.join(src, "docs", name), doc + name, 0o644)
        copyright_path = os.path.join(root, doc.lstrip("/"), "copyright")
        with open(copyright_path, "w") as f:
            f.write("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                    "Upstream-Name: strobe\n\nFiles: *\nCopyright: the strobe authors\n"
                    "License: not-yet-declared\n The project has not declared a license yet.\n")
        with gzip.GzipFile(os.path.join(root, doc.lstrip("/"), "changelog.Debian.gz"), "wb",
                           mtime=0) as f:
            f.write(("strobe (%s) unstable; urgency=medium\n\n  * Package built from the strobe "
                     "tree (packaging/deb/build_deb.py).\n\n -- strobe developers "
                     "<strobe@localhost>  Thu, 01 Jan 2026 00:00:00 +0000\n" % a.version).encode())

        # Depends: what the binary links (dpkg-shlibdeps needs a debian/control to run in).
        shl = os.path.join(work, "shlibs")
        os.makedirs(os.path.join(shl, "debian"))
        with open(os.path.join(shl, "debian", "control"), "w") as f:
            f.write("Source: strobe\n\nPackage: strobe\nArchitecture: any\n")
        out = subprocess.check_output(["dpkg-shlibdeps", "-O", "-e", binary], cwd=shl, text=True,
                                      stderr=subprocess.DEVNULL)
        depends = out.strip().split("=", 1)[1]

        debian = os.path.join(root, "DEBIAN")
        os.makedirs(debian)
        size_kib = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root)
                       for f in fs) // 1024
        with open(os.path.join(debian, "control"), "w") as f:
            f.write("Package: strobe\nVersion: %s\nArchitecture: %s\n"
                    "Maintainer: strobe developers <strobe@localhost>\nInstalled-Size: %d\n"
                    "Depends: adduser, %s\nSection: net\nPriority: optional\n"
                    "Homepage: https://github.com/strobe\n"
                    "Description: real-time telemetry engine (daemon)\n"
                    " strobe receives metrics, spans and logs from local programs (shared\n"
                    " memory) and over OTLP, analyses them as they flow, shows them live and\n"
                    " exports them to Prometheus, OpenTelemetry collectors and ClickHouse.\n"
                    % (a.version, arch, size_kib, depends))
        with open(os.path.join(debian, "conffiles"), "w") as f:
            f.write("/etc/strobe/strobe.yaml\n")
        for script in ("postinst", "prerm", "postrm"):
            shutil.copyfile(os.path.join(src, "packaging", "deb", script),
                            os.path.join(debian, script))
            os.chmod(os.path.join(debian, script), 0o755)
        with open(os.path.join(debian, "md5sums"), "w") as f:
            for d, _, fs in sorted(os.walk(root)):
                if d.startswith(debian):
                    continue
                for name in sorted(fs):
                    p = os.path.join(d, name)
                    with open(p, "rb") as fh:
                        f.write("%s  %s\n" % (hashlib.md5(fh.read()).hexdigest(),
                                              os.path.relpath(p, root)))
        for d, dirs, _ in os.walk(root):
            for name in dirs:
                os.chmod(os.path.join(d, name), 0o755)
        os.makedirs(a.out, exist_ok=True)
        deb = os.path.join(os.path.abspath(a.out), "strobe_%s_%s.deb" % (a.version, arch))
        subprocess.check_call(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, deb],
                              stdout=subprocess.DEVNULL)
        print(deb)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
