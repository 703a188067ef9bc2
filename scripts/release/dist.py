#!/usr/bin/env python3
"""Builds dist/kctr: one stripped, fully static file that runs on any Linux (x86_64/arm64, kernel 3.2+).

`make dist` runs this after `make release` (Swift runtime static). It relinks the release objects
with everything static: the Swift runtime and Foundation, the gRPC core, abseil, upb, c-ares,
protobuf-c, libarchive and its compressors, libstdc++, libgcc and glibc itself. The static archive
list is not typed by hand: it is the NEEDED closure of the shared libraries the package links
(Package.swift's linkedLibrary entries), read with readelf, each mapped to its `.a` from Debian's
-dev package. No loader, no shared library: the binary runs in an empty root, on old glibcs, on musl
systems (`ldd dist/kctr`: "statically linked").

The link is the one SwiftPM did for .build/release/kctr (read from .build/release.yaml), with lld,
`-static-executable` instead of `-static-stdlib`, the static archives and an object naming the
commit (`kctr --version`), as a static PIE with full RELRO. Then it writes shell completions (bash,
zsh, fish) and a man page next to the binary, and kctr.libraries: the libraries linked in (from the
link map) with their Debian packages and versions (dpkg), the Swift packages and the toolchain, so
that security updates can be matched to a build (glibc's too, now: a glibc update needs a rebuild).

What static glibc gives up: loading NSS modules (libnss_*.so: systemd, sss, ldap users and hosts;
glibc's own `files` and `dns` are built in) and gconv modules for iconv. kctr looks up no user, group
or host name and converts no character set through iconv: README.md ("What static glibc gives up"), and
DistTests.testNoNameServiceLookups, which runs the commands under strace.

Usage: scripts/release/dist.py [--out DIR]   (default DIR: dist)
       scripts/release/dist.py --glibc-dynamic --out DIR   only DIR/kctr, linked as before issue 19 (glibc
       dynamic, everything else static): the baseline `make bench` compares start-up and size with
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# glibc's libraries: linked static by the toolchain (-static-executable), or dynamic with --glibc-dynamic;
# never part of the closure below.
GLIBC = {"libc", "libm", "libpthread", "libdl", "librt", "libresolv", "libutil", "libanl", "ld-linux-x86-64",
         "ld-linux-aarch64", "libmvec"}
# libgcc_s is replaced by libgcc_eh (clang -static-libgcc).
BY_FLAG = {"libgcc_s"}
# What Package.swift links (linkedLibrary) plus the C++ runtime the gRPC core needs.
ROOTS = ["grpc_unsecure", "gpr", "protobuf-c", "archive", "stdc++"]


def die(msg):
    print(f"dist: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd, **kw):
    try:
        return subprocess.run(cmd, check=True, text=True, **kw)
    except FileNotFoundError:
        die(f"{cmd[0]} not found (install it: scripts/deps)")
    except subprocess.CalledProcessError as e:
        die(f"{' '.join(shlex.quote(c) for c in cmd[:3])} ... failed with exit code {e.returncode}")


def out(cmd):
    return run(cmd, stdout=subprocess.PIPE).stdout.strip()


def cc_file(name):
    """Where the C compiler's linker would find `name`; None when it would not."""
    p = out(["cc", f"-print-file-name={name}"])
    return p if os.path.isabs(p) and os.path.exists(p) else None


def needed(so_path):
    text = out(["readelf", "-d", so_path])
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", text)


def link_name(soname):
    """libabsl_base.so.20220623 -> libabsl_base"""
    return soname.split(".so")[0]


def static_closure():
    """Archives to link, dependents first: the roots and everything their shared objects need.

    Returns (found, missing). A shared object's dependency is not always needed by the parts kctr
    links (libarchive.so needs libxml2 for xar, nettle for zip encryption, acl for disk writes; kctr
    reads and writes tar only), so a missing archive is reported, not fatal: the link says if it was."""
    order, seen, missing = [], set(), []
    todo = [f"lib{r}" for r in ROOTS]
    while todo:
        lib = todo.pop(0)
        if lib in seen or lib in GLIBC or lib in BY_FLAG:
            continue
        seen.add(lib)
        archive = cc_file(f"{lib}.a")
        if archive is None:
            missing.append(lib)
            continue
        order.append((lib, archive))
        so = cc_file(f"{lib}.so")
        if so is not None:
            todo.extend(link_name(n) for n in needed(so))
    for root in ROOTS:
        if f"lib{root}" in missing:
            die(f"no static archive lib{root}.a: install the -dev package that ships it (scripts/deps)")
    return order, missing


def release_link_args(triple_dir):
    """The swiftc command SwiftPM used to link .build/<triple>/release/kctr."""
    import yaml  # python3-yaml, from scripts/deps
    manifest = os.path.join(ROOT, ".build", "release.yaml")
    if not os.path.exists(manifest):
        die(f"{manifest} is missing: run `make release` first")
    with open(manifest) as f:
        commands = yaml.safe_load(f)["commands"]
    target = os.path.join(triple_dir, "kctr")
    for cmd in commands.values():
        if target in cmd.get("outputs", []) and cmd.get("description", "").startswith("Linking"):
            return list(cmd["args"])
    die(f"no link command for {target} in {manifest}: run `make release` first")


def commit():
    """The commit the binary is built from; KCTR_COMMIT overrides, 'unknown' outside a git checkout."""
    if os.environ.get("KCTR_COMMIT"):
        return os.environ["KCTR_COMMIT"]
    try:
        r = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except FileNotFoundError:
        return "unknown"
    value = r.stdout.strip()
    return value if r.returncode == 0 and value else "unknown"


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def linked_archives(link_map):
    """The static archives at least one member of which the link took (lld's map names `ARCHIVE(member.o)`)."""
    with open(link_map, errors="replace") as f:
        text = f.read()
    return sorted({os.path.realpath(a) for a in re.findall(r"(/[^\s()]+\.a)\(", text)})


def dpkg_packages(paths):
    """path -> Debian binary package, for the paths dpkg knows."""
    r = subprocess.run(["dpkg", "-S"] + paths, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    owner = {}
    for line in r.stdout.splitlines():
        package, _, path = line.partition(": ")
        owner[path.strip()] = package.split(":")[0]
    return owner


def library_report(link_map, rev, swiftc):
    """kctr.libraries: each linked library, its Debian package and version, and its source package
    (what Debian's security advisories name); the Swift packages (Package.resolved) and what they vendor;
    the toolchain whose static runtime and Foundation are linked in."""
    archives = linked_archives(link_map)
    owner = dpkg_packages(archives)
    lines = [f"# Libraries linked into dist/kctr (commit {rev}), from its link map and dpkg: scripts/release/dist.py writes",
             "# this file with the binary. Everything is static, glibc (libc6-dev) included. A security update of",
             "# a package below needs a rebuild of dist/kctr (make dist) to reach the binary.",
             "#",
             "# archive\tpackage\tversion\tsource package\tsource version"]
    others = []
    for path in archives:
        package = owner.get(path)
        if package is None:
            others.append(path)
            continue
        fields = out(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${source:Package}\t${source:Version}", package])
        lines.append(f"{os.path.basename(path)}\t{fields}")
    vendored = {"swift-crypto": "BoringSSL", "yams": "libyaml"}
    lines += ["#", "# Swift packages built from source (Package.resolved): package\tversion\trevision\tC code it vendors"]
    with open(os.path.join(ROOT, "Package.resolved")) as f:
        import json
        for pin in json.load(f)["pins"]:
            extra = vendored.get(pin["identity"], "-")
            if extra == "BoringSSL":
                hashes = os.path.join(ROOT, ".build", "checkouts", "swift-crypto", "Sources", "CCryptoBoringSSL", "hash.txt")
                if os.path.exists(hashes):
                    m = re.search(r"revision ([0-9a-f]{40})", open(hashes).read())
                    extra += f" {m.group(1)}" if m else ""
            lines.append(f"{pin['identity']}\t{pin['state'].get('version', '-')}\t{pin['state'].get('revision', '-')}\t{extra}")
    lines += ["#", "# The Swift toolchain (static runtime, Foundation, its ICU data), archives outside dpkg:",
              out([swiftc, "--version"]).splitlines()[0]]
    lines += sorted(set(os.path.dirname(p) for p in others))
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "dist"))
    ap.add_argument("--glibc-dynamic", action="store_true",
                    help="link glibc dynamically (the dist/kctr of before), write DIR/kctr only")
    a = ap.parse_args()

    triple_dir = os.path.realpath(os.path.join(ROOT, ".build", "release"))
    work = os.path.join(ROOT, ".build", "dist-glibc-dynamic" if a.glibc_dynamic else "dist")
    os.makedirs(work, exist_ok=True)
    os.makedirs(a.out, exist_ok=True)

    # 1. The commit, as an object the shim's weak symbol resolves to (see kctr_buildinfo.c).
    rev = commit()
    src = os.path.join(work, "buildinfo.c")
    with open(src, "w") as f:
        f.write(f"const char kctr_build_commit_string[] = {c_string(rev)};\n")
    buildinfo = os.path.join(work, "buildinfo.o")
    run(["cc", "-c", "-fPIC", "-O2", "-o", buildinfo, src])

    # 2. A directory holding only static archives, searched first: every -lNAME of the link
    # (the package's, the Swift runtime's -lstdc++, the closure) resolves to NAME.a.
    libdir = os.path.join(work, "static-libs")
    shutil.rmtree(libdir, ignore_errors=True)
    os.makedirs(libdir)
    closure, missing = static_closure()
    for lib, archive in closure:
        os.symlink(archive, os.path.join(libdir, f"{lib}.a"))

    # 3. SwiftPM's link, rewritten: lld (archive order does not matter), the static archives,
    # libgcc_eh for libgcc_s, the build info; no rpath, no debug info; glibc static too
    # (-static-executable: the Swift driver's static link, which links libc.a, libpthread.a, libdl.a).
    args = release_link_args(triple_dir)
    if not a.glibc_dynamic:
        if "-static-stdlib" not in args:
            die("the release link has no -static-stdlib to replace: run `make release`")
        args = [("-static-executable" if x == "-static-stdlib" else x) for x in args]
    binary = os.path.join(a.out, "kctr")
    fixed, i = [], 0
    while i < len(args):
        x = args[i]
        if x == "-o":
            fixed += ["-o", binary + ".tmp"]
            i += 2
            continue
        if x == "-Xlinker" and i + 1 < len(args) and args[i + 1].startswith("-rpath"):
            i += 2
            continue
        if x == "-g":
            i += 1
            continue
        fixed.append(x)
        i += 1
    fixed += ["-use-ld=lld", "-L", libdir]
    fixed += [f"-l{lib[3:]}" for lib, _ in closure]
    fixed += ["-Xclang-linker", "-static-libgcc", "-Xlinker", buildinfo, "-Xlinker", "--strip-all"]
    # kctr runs as root on hostile input: a PIE (its own code and data at a random address too, not
    # only libraries, heap and stacks) with full RELRO (-z now binds every symbol at start-up, then
    # the GOT and the other relocated data are made read-only). The price, in CONTRIBUTING.md's start-up
    # table: the loader applies ~98,000 relative relocations, writing the pages that hold them. Packed
    # (DT_RELR, glibc 2.36+, which kctr needs anyway) their table is 19 KB instead of 2.3 MiB, and
    # peak RSS stays where the position-dependent build had it. The archives are position-independent
    # (none of Debian's has an absolute 32-bit relocation: its gcc defaults to -fPIE; lld refuses one).
    # Static, it stays a PIE (-static-pie: glibc's rcrt1.o relocates the binary itself at start-up, before
    # main; Debian's glibc is built with static-pie support), so `ldd` says "statically linked", not
    # "not a dynamic executable" (its words for a static non-PIE). glibc 2.36's self-relocation reads the
    # packed relocations too.
    fixed += ["-Xclang-linker", "-pie" if a.glibc_dynamic else "-static-pie",
              "-Xlinker", "-z", "-Xlinker", "relro", "-Xlinker", "-z", "-Xlinker", "now",
              "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]
    # Which archive members the link takes: read back for kctr.libraries.
    link_map = os.path.join(work, "kctr.map")
    fixed += ["-Xlinker", f"-Map={link_map}"]
    # swiftc links executables with --export-dynamic: 11,700 symbols in .dynsym/.dynstr/.gnu.hash, which
    # the loader reads for every symbol it binds (~0.7 MiB of those tables resident) and nothing needs:
    # kctr loads no plugin and the Swift runtime finds its metadata through its own sections.
    fixed += ["-Xlinker", "--no-export-dynamic"]
    # The functions the common commands run, placed together (scripts/release/dist-order.py made the list from
    # callgrind runs): a short command touches a few hundred contiguous pages of text instead of
    # pages all over 19 MiB. Peak RSS of `kctr version`: 19.4 -> 15.1 MiB. Names no longer in the
    # binary are ignored, so a stale list costs only memory.
    order = os.path.join(ROOT, "scripts", "release", "kctr.order")
    if os.path.exists(order):
        fixed += ["-Xlinker", f"--symbol-ordering-file={order}", "-Xlinker", "--no-warn-symbol-ordering"]
    with open(os.path.join(work, "link.sh"), "w") as f:
        f.write(" ".join(shlex.quote(x) for x in fixed) + "\n")
    r = subprocess.run(fixed, cwd=ROOT)
    if r.returncode != 0:
        absent = ", ".join(f"{m}.a" for m in missing) or "none"
        die(f"linking {binary} failed (exit {r.returncode}; the command is in {os.path.relpath(work, ROOT)}/link.sh). "
            f"Static archives not found, not linked: {absent}; when the errors above name their symbols, "
            f"install the -dev packages that ship them (dpkg -S LIB.so names the library) and add them to scripts/deps")

    # 4. Nothing dynamic (with --glibc-dynamic: only glibc): no shared library, no loader.
    deps = needed(binary + ".tmp")
    foreign = deps if not a.glibc_dynamic else [d for d in deps if link_name(d) not in GLIBC]
    if foreign:
        die(f"{binary} still needs {', '.join(foreign)}: their static archives were not linked")
    if not a.glibc_dynamic and "Requesting program interpreter" in out(["readelf", "-l", binary + ".tmp"]):
        die(f"{binary} names a program interpreter (a loader): the link was not static")
    os.replace(binary + ".tmp", binary)
    os.chmod(binary, 0o755)
    if a.glibc_dynamic:
        print(f"dist: {os.path.relpath(binary, ROOT)} (glibc dynamic, {os.path.getsize(binary) / (1 << 20):.1f} MiB, commit {rev})")
        return

    # 5. What it holds, for security updates.
    libraries = os.path.join(a.out, "kctr.libraries")
    with open(libraries, "w") as f:
        f.write(library_report(link_map, rev, fixed[0]))

    # 6. Shell completions and the man page, from the binary itself.
    for shell, name in (("bash", "kctr.bash"), ("zsh", "_kctr"), ("fish", "kctr.fish")):
        script = out([binary, "--generate-completion-script", shell])
        with open(os.path.join(a.out, name), "w") as f:
            f.write(script + "\n")
    run([sys.executable, os.path.join(ROOT, "scripts", "release", "manpage.py"), binary, "-o", os.path.join(a.out, "kctr.1")])

    size = os.path.getsize(binary) / (1 << 20)
    print(f"dist: {os.path.relpath(binary, ROOT)} ({size:.1f} MiB, commit {rev}, static); "
          f"{len(closure)} static archives" + (f" (not needed, not installed: {', '.join(missing)})" if missing else "")
          + f"; completions, kctr.1 and kctr.libraries in {os.path.relpath(a.out, ROOT)}/")


if __name__ == "__main__":
    main()
