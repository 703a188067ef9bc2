#!/usr/bin/env python3
"""Regenerates scripts/release/kctr.order: the functions kctr's common commands execute, for `make dist`.

scripts/release/dist.py passes the list to lld (--symbol-ordering-file), which places those functions next to
each other: a short command then touches a few hundred contiguous pages of the 19 MiB of text instead
of pages scattered over all of it, which is most of its peak RSS (page faults map whole 64 KiB runs).

The list comes from callgrind runs of the release build (`make release`: same Swift symbols; the C and
C++ libraries are shared there, with the same names as in their static archives) against a private
containerd holding the busybox test image. Rerun after large changes to the start-up path; a stale
list is harmless (unknown names are ignored) but places less of what runs. Needs valgrind, root.

Usage: scripts/release/dist-order.py [--binary .build/release/kctr] [--out scripts/release/kctr.order]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Read-only commands an operator runs most; the image ones on a namespace with one image.
COMMANDS = [
    ["version"], ["version", "-o", "json"], ["info"], ["info", "-o", "json"],
    ["images", "ls"], ["images", "ls", "-o", "json"], ["images", "ls", "-q"], ["images", "inspect", "busybox:kctr-test"],
    ["namespaces", "ls"], ["plugins", "ls"], ["pods"], ["ps", "-a"], ["--help"], ["images", "--help"],
    # The transfers: their code placed together keeps import's and export's peak RSS down (text pages are
    # most of it). {busybox} and {out} are filled in below; import goes to its own namespace each time.
    ["-n", "order-import", "import", "{busybox}"], ["-n", "order-import", "export", "{out}", "docker.io/library/busybox:kctr-test"],
    ["verify-runtime"],
]
# Objects whose functions are not linked into kctr.
SKIP_OBJECTS = re.compile(r"/(libc|libm|ld-linux[^/]*|libgcc_s|libpthread|libdl|librt)[.-]|vgpreload|valgrind")


def die(msg):
    sys.exit(f"dist-order: {msg}")


def run(argv, **kw):
    return subprocess.run(argv, text=True, **kw)


def functions(profile):
    """Names of the functions a callgrind profile saw executing, outside glibc.

    Callgrind compresses names: an object or function is named once, in whichever ob=/cob= or
    fn=/cfn= line mentions it first, and by its number after that."""
    objects, fns, current, names = {}, {}, "", set()
    with open(profile, errors="replace") as f:
        for line in f:
            m = re.match(r"^(c?ob|c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if not m:
                continue
            kind, num, name = m.groups()
            table = objects if kind.endswith("ob") else fns
            if name:
                table[num] = name
            if kind == "ob":
                current = objects.get(num, "")
            elif kind == "fn" and not SKIP_OBJECTS.search(current):
                fn = re.sub(r"'\d+$", "", fns.get(num, ""))
                if fn and not fn.startswith("0x"):
                    names.add(fn)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "kctr"))
    ap.add_argument("--out", default=os.path.join(ROOT, "scripts", "release", "kctr.order"))
    a = ap.parse_args()
    if not os.access(a.binary, os.X_OK):
        die(f"{a.binary} is not built: run `make release` first")
    if shutil.which("valgrind") is None:
        die("valgrind not found: apt-get install valgrind")

    work = tempfile.mkdtemp(prefix="kctr-order-")
    base = os.path.join(work, "lab")
    lab = os.path.join(ROOT, "scripts", "lab", "containerd-lab")
    try:
        # valgrind cannot read the debug info of Swift's DWARF 5; symbols are enough.
        binary = os.path.join(work, "kctr")
        if run(["strip", "--strip-debug", "-o", binary, a.binary]).returncode != 0:
            die(f"strip --strip-debug {a.binary} failed")
        up = run([lab, "up", base, "--print-env"], stdout=subprocess.PIPE)
        if up.returncode != 0:
            die("cannot start a private containerd (scripts/lab/containerd-lab up)")
        # The lab's ctr: of the containerd KCTR_CONTAINERD_DIR names (default: Debian's on PATH).
        ctr = next((l.split("=", 1)[1] for l in up.stdout.splitlines() if l.startswith("export KCTR_LAB_CTR=")), "ctr")
        sock = os.path.join(base, "containerd.sock")
        images = run([os.path.join(ROOT, "scripts", "lab", "build-test-images"), os.path.join(tempfile.gettempdir(), "kctr-test-images")],
                     stdout=subprocess.PIPE)
        if images.returncode != 0:
            die("scripts/lab/build-test-images failed")
        busybox = next((p for p in images.stdout.split() if p.endswith("/busybox.oci.tar")), None)
        if busybox is None or run([ctr, "--address", sock, "-n", "k8s.io", "images", "import", busybox],
                                  stdout=subprocess.DEVNULL).returncode != 0:
            die("cannot import the busybox test image")
        uses = {}
        for i, cmd in enumerate(COMMANDS):
            profile = os.path.join(work, f"cg.{i}")
            cmd = [busybox if c == "{busybox}" else os.path.join(work, "out.tar") if c == "{out}" else c for c in cmd]
            r = run(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}",
                     binary, "--address", sock] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # verify-runtime exits 1 when a check fails (this lab has no kubelet config): still a profile.
            if r.returncode != 0 and not (cmd == ["verify-runtime"] and r.returncode == 1):
                die(f"kctr {' '.join(cmd)} failed under valgrind (exit {r.returncode}): {r.stderr[-2000:]}")
            found = functions(profile)
            print(f"dist-order: kctr {' '.join(cmd)}: {len(found)} functions", file=sys.stderr)
            for name in found:
                uses[name] = uses.get(name, 0) + 1
        # What every command runs (start-up, parsing, the call) first and together, then what fewer
        # commands share: each command's pages stay close. Names sort ties, so reruns diff cleanly.
        names = sorted(uses, key=lambda n: (-uses[n], n))
        with open(a.out, "w") as f:
            f.write("".join(n + "\n" for n in names))
        print(f"dist-order: {len(names)} functions in {os.path.relpath(a.out, ROOT)}", file=sys.stderr)
    finally:
        run([lab, "down", base], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
