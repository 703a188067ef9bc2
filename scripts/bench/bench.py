#!/usr/bin/env python3
"""Benchmark kctr against ctr (and crictl when on PATH) on one throwaway containerd.

Starts a private daemon (scripts/lab/containerd-lab), prepares images and pods, runs each
command of a row in alternation, and prints median/min/max wall time, peak RSS, the ratios
kctr/peer and the issue's goal for the row. Usage:

  scripts/bench/bench.py [--rows a,b] [--runs N] [--big-runs M] [--kctr PATH] [--write-md [PATH]]

Rows: startup version info images-1 images-500 images-5000 df-500 prune-500 df-5000 pods-50 ps-50
exec verify-runtime import-50 export-50 import-1g import-1g-pigz export-1g. startup compares the static dist/kctr with
the same release objects linked with glibc dynamic (scripts/release/dist.py --glibc-dynamic, the dist/kctr before
issue 19), and notes both sizes. Fixtures: scripts/lab/build-test-images (busybox,
pause), scripts/lab/make-many-images.py (50 small images, one archive), scripts/lab/make-big-archive.py
(1 GiB, 4 gzip layers; both cached in /var/tmp/kctr-bench), kctr-lab (names and pods through kctr's typed
RPC layer: Sources/kctr-lab; bench builds it with `swift build --product kctr-lab` and runs it from
`swift build --show-bin-path`, or takes --kctr-lab PATH).

Another containerd: KCTR_CONTAINERD_DIR=/opt/containerd-2.3/bin scripts/bench/bench.py ... (a directory
with containerd, ctr and containerd-shim-runc-v2; see scripts/lab/containerd-lab --help).
crictl is a peer when it is on PATH (e.g. PATH=/opt/cri-tools/bin:$PATH).

The daemon runs with CONTAINERD_DISABLE_PIGZ=1 (and _IGZIP): single-threaded gzip, as on a node without
pigz. import-1g-pigz imports the 1 GiB archive on a second daemon started without them, with unpigz on its
PATH (Debian's pigz, in scripts/deps), next to import-1g on the first.

--write-md writes one section per containerd version (`## containerd 1.6.20` ...): a run replaces the
rows it measured in its version's section and keeps that section's other rows and the other versions'
sections, and every section of the file the bench does not write (e.g. hand-written notes).
"""
import argparse, datetime, os, platform, re, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(ROOT, "scripts")
LAB = os.path.join(SCRIPTS, "lab", "containerd-lab")
CACHE = "/var/tmp/kctr-bench"
ALL_ROWS = ["startup", "version", "info", "images-1", "images-500", "images-5000", "df-500", "prune-500", "df-5000",
            "pods-50", "ps-50", "exec",
            "verify-runtime", "import-50", "export-50", "import-1g", "import-1g-pigz", "export-1g"]
# The daemon's environment for every row but import-1g-pigz: containerd decompresses gzip layers with
# igzip or unpigz when either is on its PATH; these turn that off, so the rows do not depend on what the
# machine has installed (import-1g is the single-threaded Go gzip of a node without them).
NO_PIGZ = {"CONTAINERD_DISABLE_PIGZ": "1", "CONTAINERD_DISABLE_IGZIP": "1"}
# Rows that need the 500 / 5,000 names of the images rows.
NAMES_ROWS = {500: ["images-500", "df-500", "prune-500"], 5000: ["images-5000", "df-5000"]}
MIB = 1 << 20
NOT_SLOWER, FASTER = (1.0, "time ≤ 1x"), (0.999, "faster")


def sh(argv, **kw):
    try:
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"bench: {' '.join(argv)} failed (exit {e.returncode}): {e.stderr.strip()}")


def measure(argv, ok_codes=(0,)):
    """Wall seconds and peak RSS (KiB) of one run."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in ok_codes:
        raise SystemExit(f"bench: {' '.join(argv)} failed (exit {code}): {err}")
    return wall, usage.ru_maxrss


class Bench:
    def __init__(self, args, sock):
        self.args, self.sock = args, sock
        self.results = []  # (row, tool, command, samples, size, goal)
        self.notes = []  # lines for "Fixtures and peers" that depend on the run

    def shown(self, argv):
        """The command as a reader would type it: no binary path, no socket path."""
        if argv[:2] == ["sh", "-c"]:  # sh -c 'rm -f "$0"; exec "$@"' FILE COMMAND...
            return f"rm -f {argv[3].replace(os.path.dirname(self.sock), '$LAB')}; {self.shown(argv[4:])}"
        out, skip = [os.path.basename(argv[0])], False
        for a in argv[1:]:
            if skip:
                skip = False
                continue
            if a in ("--address", "--runtime-endpoint", "--image-endpoint"):
                skip = True
                continue
            out.append(a.replace(os.path.dirname(self.sock), "$LAB"))
        return " ".join(out)

    def row(self, name, commands, runs, goal, size=None, ok_codes=(0,)):
        """One untimed warm-up run of each command, then `runs` runs of each, in alternation. A command
        may be a function of the run's number (for names that must differ per run, e.g. ctr's exec IDs)."""
        argv_of = lambda c, i: c(i) if callable(c) else c
        for c in commands.values():
            measure(argv_of(c, -1), ok_codes)
        samples = {tool: [] for tool in commands}
        for i in range(runs):
            for tool, c in commands.items():
                samples[tool].append(measure(argv_of(c, i), ok_codes))
        for tool, c in commands.items():
            self.results.append((name, tool, self.shown(argv_of(c, 0)), samples[tool], size, goal))
        print(f"bench: {name}: done", file=sys.stderr)


def goal_text(goal, tool, med, base, rss, base_rss):
    """The issue's goals that apply to this line, each with met/missed."""
    notes = []
    if tool == "kctr":
        if "abs_ms" in goal:
            notes.append(f"< {goal['abs_ms']} ms: {'met' if base * 1000 < goal['abs_ms'] else 'MISSED'}")
        if "rss_mib" in goal:
            notes.append(f"RSS < {goal['rss_mib']} MiB: {'met' if base_rss / 1024 < goal['rss_mib'] else 'MISSED'}")
        return "; ".join(notes)
    limit = goal.get("time", {}).get(tool)
    if limit is not None:  # (largest kctr/peer time ratio, how the issue says it)
        notes.append(f"{limit[1]}: {'met' if base / med <= limit[0] else 'MISSED'}")
    if tool == "ctr":  # the issue: peak RSS below ctr's on every row
        notes.append(f"RSS < peer: {'met' if base_rss < rss else 'MISSED'}")
    return "; ".join(notes)


def table(results):
    header = ("row", "tool", "command", "median ms", "min ms", "max ms", "MiB/s", "peak RSS MiB",
              "time kctr/peer", "RSS kctr/peer", "goal")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    by_row = {}
    for r in results:
        by_row.setdefault(r[0], []).append(r)
    for name, entries in by_row.items():
        k = next(e for e in entries if e[1] == "kctr")
        base = statistics.median(w for w, _ in k[3])
        base_rss = max(m for _, m in k[3])
        for _, tool, command, samples, size, goal in entries:
            walls = [w for w, _ in samples]
            med, rss = statistics.median(walls), max(m for _, m in samples)
            rate = (f"{size / med / MIB:.0f}" if size / med > 10 * MIB else f"{size / med / MIB:.1f}") if size else ""
            ratios = ("", "") if tool == "kctr" else (f"{base / med:.2f}", f"{base_rss / rss:.2f}")
            lines.append(f"| {name} | {tool} | `{command}` | {med * 1000:.1f} | {min(walls) * 1000:.1f} | "
                         f"{max(walls) * 1000:.1f} | {rate} | {rss / 1024:.1f} | {ratios[0]} | {ratios[1]} | "
                         f"{goal_text(goal, tool, med, base, rss, base_rss)} |")
    return "\n".join(lines)


def machine(args):
    def first_line(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "?"
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    # The binary names its own commit; the work tree's may have moved on since it was built.
    version = first_line([args.kctr, "--version"])
    tree = first_line(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"])
    os_name = next((l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME")), "?")
    return [
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPU: {cpu}, {os.cpu_count()} cores ({platform.machine()}); RAM {mem / (1 << 20):.1f} GiB",
        f"- OS: {os_name}, kernel {platform.release()}",
        f"- containerd: {first_line([args.lab_containerd, '--version'])}; ctr: {first_line([args.lab_ctr, '--version'])}"
        + (f"; crictl: {first_line(['crictl', '--version'])}" if shutil.which("crictl") else "; crictl: not installed"),
        f"- kctr: `{version}` (its `--version`; work tree at {tree}), binary `{os.path.relpath(args.kctr, ROOT) if args.kctr.startswith(ROOT) else args.kctr}`"
        f" ({first_line(['file', '-b', args.kctr]).split(',')[0] if shutil.which('file') else '?'})",
        f"- runs: {args.runs} per command for small rows, {args.big_runs} for images-5000 and the 1 GiB rows, "
        f"{args.mid_runs} for import-50/export-50; one untimed warm-up run per command first; load average at start "
        f"{args.load_start}, at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


NOTES = [
    "- `images ls`: 500 and 5,000 names in `k8s.io`: the 3 test images, 50 small distinct images "
    "(scripts/lab/make-many-images.py) and tags of those 50, spread evenly (kctr-lab tags: "
    "containerd 1.6's CRI re-sorts an image's whole name list for each new name, so thousands of tags of one "
    "image cost it minutes of CPU). 1 image: busybox alone in namespace `one`, imported 1.2 s before the row "
    "(the next note says why).",
    "- `images ls`: kctr keeps two things in its cache directory (README, `images ls`; here the lab's directory, "
    "KCTR_CACHE_DIR): what it read from image blobs, and its last listing with a stamp of containerd's metadata "
    "file. The untimed warm-up run fills both, as a node's first listing does. `kctr` is a node whose containerd "
    "wrote nothing since (a steady node: the listing makes no call and does not start gRPC); `kctr, metadata changed` removes the kept "
    "listing before each run (`sh -c 'rm -f ...; exec kctr ...'`, the shell's start included), as after a pull "
    "or a new pod: it lists the names (containerd's Images.List and CRI's ListImages), checks the blobs are in "
    "the namespace (one Content.List) and asks which images are unpacked (one Snapshots.List), reading no blob.",
    "- `df` / `images prune --dry-run`: the same names as `images ls`. No peer does what df does (it replaces "
    "`crictl imagefsinfo`, `ctr content ls`, `ctr snapshots usage`, du and reading the kubelet's config): kctr runs "
    "alone (crictl imagefsinfo is shown when crictl is on PATH). `prune --dry-run` reads what df reads and plans; "
    "no peer has a dry run. Both spend most of their time waiting for containerd's Images.List.",
    "- `pods` / `ps`: 50 host-network pods with one busybox container each, started through CRI as the kubelet "
    "would (kctr-lab pods). ctr has no pod view: its closest commands are `containers ls` (sandboxes "
    "and containers alike, no CRI state) and `tasks ls` (every task, with PIDs); kctr joins CRI's lists with one "
    "containerd `Containers.List` (the pods' pause images) or one `Tasks.List` (PIDs and task status).",
    "- `info`: ctr has no CRI status; `plugins ls` is its closest daemon-wide view. `verify-runtime` has no ctr "
    "peer (crictl info is shown when crictl is on PATH); its goal is an absolute time.",
    "- `import`: each run imports into a fresh namespace, then the images are removed with a synchronous GC "
    "(untimed). Both unpack for overlayfs (kctr's CRI check runs only in `k8s.io`, so not here). "
    "`export`: both write the same images to the same path; kctr fsyncs the archive before renaming it into place.",
    "- The 1 GiB archive (scripts/lab/make-big-archive.py: 4 layers of random bytes, gzip) and the 50-image archive are "
    "cached in /var/tmp/kctr-bench. crictl is not in Debian 12; when it is on PATH it is added as a peer.",
    "- The machine is shared: other builds and tests ran at the same time (see the load averages above), so "
    "single numbers are noisy; ratios from alternating runs on one daemon are the comparison to read.",
]


def kctr_lab():
    """kctr-lab, built (debug) with SwiftPM: the fixtures ctr makes slowly or not at all (Sources/kctr-lab)."""
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    print("bench: building kctr-lab (swift build --product kctr-lab)", file=sys.stderr)
    sh([swift, "build", "--product", "kctr-lab"], cwd=ROOT)
    return os.path.join(sh([swift, "build", "--show-bin-path"], cwd=ROOT).stdout.strip(), "kctr-lab")


def main():
    default_kctr = os.path.join(ROOT, "dist", "kctr")
    if not os.access(default_kctr, os.X_OK):
        default_kctr = os.path.join(ROOT, ".build", "release", "kctr")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15, help="runs of each small row (default 15)")
    ap.add_argument("--mid-runs", type=int, default=5, help="runs of import-50/export-50 (default 5)")
    ap.add_argument("--big-runs", type=int, default=3, help="runs of images-5000 and the 1 GiB rows (default 3)")
    ap.add_argument("--kctr", default=default_kctr, help="kctr binary (default dist/kctr if built, else .build/release/kctr)")
    ap.add_argument("--rows", default=",".join(ALL_ROWS), help="comma-separated rows (default all: %(default)s)")
    ap.add_argument("--kctr-lab", metavar="PATH", help="kctr-lab binary for the names and pods of the images-500/5000, df, "
                    "prune, pods-50, ps-50 and exec rows (default: `swift build --product kctr-lab`, then its bin path)")
    ap.add_argument("--big", default=os.path.join(CACHE, "big.tar"), help="1 GiB archive (made by scripts/lab/make-big-archive.py if missing)")
    ap.add_argument("--many", default=os.path.join(CACHE, "many.tar"), help="50-image archive (made by scripts/lab/make-many-images.py if missing)")
    ap.add_argument("--write-md", nargs="?", const=os.path.join(SCRIPTS, "bench", "BENCHMARKS.md"), metavar="PATH",
                    help="also write the table and the machine to PATH (default scripts/bench/BENCHMARKS.md)")
    args = ap.parse_args()
    args.kctr = os.path.abspath(args.kctr)
    args.load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = args.rows.split(",")
    unknown = [r for r in rows if r not in ALL_ROWS]
    if unknown:
        raise SystemExit(f"bench: unknown row(s) {','.join(unknown)}; rows: {','.join(ALL_ROWS)}")
    if not os.access(args.kctr, os.X_OK):
        raise SystemExit(f"bench: {args.kctr} not built: run `make release` (or pass --kctr PATH)")
    fixtures = None
    if set(NAMES_ROWS[500] + NAMES_ROWS[5000] + ["pods-50", "ps-50", "exec"]) & set(rows):
        fixtures = os.path.abspath(args.kctr_lab) if args.kctr_lab else kctr_lab()
        if not os.access(fixtures, os.X_OK):
            raise SystemExit(f"bench: {fixtures} not built: run `swift build --product kctr-lab` (or pass --kctr-lab PATH)")
    os.makedirs(CACHE, exist_ok=True)
    print(f"bench: kctr binary {args.kctr}; rows {','.join(rows)}", file=sys.stderr)

    base = tempfile.mkdtemp(prefix="kctr-bench-")
    shutil.rmtree(base)
    # The lab names its containerd and ctr (KCTR_CONTAINERD_DIR, or Debian's on PATH).
    lab_env = dict(line[len("export "):].split("=", 1)
                   for line in sh([LAB, "up", base, "--cni", "--print-env"], env=dict(os.environ, **NO_PIGZ)).stdout.splitlines()
                   if line.startswith("export ") and "=" in line)
    args.lab_containerd, args.lab_ctr = lab_env.get("KCTR_LAB_CONTAINERD", "containerd"), lab_env.get("KCTR_LAB_CTR", "ctr")
    print(f"bench: containerd {lab_env.get('KCTR_LAB_CONTAINERD_VERSION', '?')} ({args.lab_containerd})", file=sys.stderr)
    sock = os.path.join(base, "containerd.sock")
    # kctr's image cache (README, `images ls`) in the lab, not /var/cache/kctr: the untimed warm-up run of
    # a row fills it, as a node's first listing does.
    os.environ["KCTR_CACHE_DIR"] = os.path.join(base, "kctr-cache")
    b = Bench(args, sock)
    try:
        imgdir = os.path.join(tempfile.gettempdir(), "kctr-test-images")
        paths = {os.path.basename(p): p for p in sh([os.path.join(SCRIPTS, "lab", "build-test-images"), imgdir]).stdout.split()}
        if not os.path.exists(args.many) and set(NAMES_ROWS[500] + NAMES_ROWS[5000] + ["import-50", "export-50"]) & set(rows):
            sh([os.path.join(SCRIPTS, "lab", "make-many-images.py"), args.many])
        kctr = [args.kctr, "--address", sock]
        ctr = [args.lab_ctr, "--address", sock]
        crictl_bin = shutil.which("crictl")
        crictl = [crictl_bin, "--runtime-endpoint", "unix://" + sock, "--image-endpoint", "unix://" + sock] if crictl_bin else None
        k8s = ctr + ["-n", "k8s.io"]
        sh(k8s + ["images", "import", paths["all.oci.tar"]])  # busybox, multi and the pause image CRI runs
        runs = args.runs

        if "startup" in rows:
            # Start-up of the static binary against glibc-dynamic: the same objects, linked both ways.
            dyn_dir = os.path.join(CACHE, "glibc-dynamic")
            sh([sys.executable, os.path.join(SCRIPTS, "release", "dist.py"), "--glibc-dynamic", "--out", dyn_dir])
            dyn = os.path.join(dyn_dir, "kctr")
            peer = "kctr, glibc dynamic"
            b.row("start-up: --version (no daemon)", {"kctr": [args.kctr, "--version"], peer: [dyn, "--version"]}, runs,
                  {"time": {peer: NOT_SLOWER}})
            b.row("start-up: version (one daemon round trip)", {"kctr": kctr + ["version"], peer: [dyn, "--address", sock, "version"]},
                  runs, {"time": {peer: NOT_SLOWER}})
            mib = lambda p: os.path.getsize(p) / MIB
            b.notes.append(f"- `start-up`: `kctr` is {os.path.relpath(args.kctr, ROOT) if args.kctr.startswith(ROOT) else args.kctr} "
                           f"({mib(args.kctr):.1f} MiB, fully static); `{peer}` is the same release objects linked by "
                           f"`scripts/release/dist.py --glibc-dynamic` ({mib(dyn):.1f} MiB; libc, libm and the loader shared, as `make dist` "
                           "linked before issue 19). Static, nothing is loaded or bound at start-up; glibc's own code "
                           "(NSS, iconv, locale, stdio: what kctr's objects reach) is in the file. Peak RSS of runs this short is the "
                           "bench's floor (ru_maxrss counts the forked Python before exec: `/bin/true` shows it too); "
                           "CONTRIBUTING.md's start-up table has `/usr/bin/time`'s.")
        if "version" in rows:
            cmds = {"kctr": kctr + ["version"], "ctr": ctr + ["version"]}
            if crictl:
                cmds["crictl"] = crictl + ["version"]
            b.row("version", cmds, runs, {"time": {"ctr": NOT_SLOWER, "crictl": FASTER}})
        if "info" in rows:
            cmds = {"kctr": kctr + ["info", "-o", "json"], "ctr": ctr + ["plugins", "ls"]}  # ctr has no CRI status
            if crictl:
                cmds["crictl"] = crictl + ["info"]
            b.row("info", cmds, runs, {"time": {"ctr": NOT_SLOWER, "crictl": FASTER}})
        if "images-1" in rows:
            sh(ctr + ["-n", "one", "images", "import", paths["busybox.oci.tar"]])
            # A node that imported an image a moment ago: kctr keeps no listing of a daemon that wrote its
            # metadata less than a second before (README); `kctr, metadata changed` is that case, every run.
            time.sleep(1.2)
            changed = ["sh", "-c", 'rm -f "$0"; exec "$@"', os.path.join(os.environ["KCTR_CACHE_DIR"], "image-list.one")]
            b.row("images ls, 1 image", {"kctr": kctr + ["-n", "one", "images", "ls"],
                                         "kctr, metadata changed": changed + kctr + ["-n", "one", "images", "ls"],
                                         "ctr": ctr + ["-n", "one", "images", "ls"]}, runs, {"time": {"ctr": NOT_SLOWER}})
        if set(NAMES_ROWS[500] + NAMES_ROWS[5000]) & set(rows):
            # 500 and 5,000 names in k8s.io: 53 distinct images (the test images and 50 small
            # ones), the rest tags of the 50, spread evenly (as a node has many tags of many images).
            sh(k8s + ["images", "import", args.many])
            many = [n for n in sh(k8s + ["images", "ls", "-q"]).stdout.split() if n.startswith("docker.io/kctr/many-")]
            tagged = 0
            for count in (500, 5000):
                if not set(NAMES_ROWS[count]) & set(rows):
                    continue
                have = len(sh(k8s + ["images", "ls", "-q"]).stdout.split())
                if count > have:
                    sh([fixtures, "tags", sock, *many, "--count", str(count - have), "--prefix", f"docker.io/kctr/bench{tagged}"])
                    tagged += 1
                n = len(sh(k8s + ["images", "ls", "-q"]).stdout.split())
                nruns = runs if count < 5000 else args.big_runs
                if f"images-{count}" in rows:
                    kept = os.path.join(os.environ["KCTR_CACHE_DIR"], "image-list.k8s.io")
                    changed = ["sh", "-c", 'rm -f "$0"; exec "$@"', kept] + kctr + ["images", "ls"]
                    cmds = {"kctr": kctr + ["images", "ls"], "kctr, metadata changed": changed, "ctr": k8s + ["images", "ls"]}
                    if crictl:
                        cmds["crictl"] = crictl + ["images"]
                    # Issue 15: at most 1.0x crictl.
                    b.row(f"images ls, {n} images (k8s.io)", cmds, nruns,
                          {"time": {"ctr": (0.5, "time ≤ 0.5x"), "crictl": NOT_SLOWER}})
                if f"df-{count}" in rows:
                    # No peer does what df does (ctr content ls, ctr snapshots usage, du and the kubelet's config
                    # together): kctr alone, and crictl's imagefsinfo (one of those pieces) when on PATH.
                    cmds = {"kctr": kctr + ["df"]}
                    if crictl:
                        cmds["crictl"] = crictl + ["imagefsinfo"]
                    b.row(f"df, {n} images (k8s.io)", cmds, nruns, {})
                if f"prune-{count}" in rows:
                    # Nothing in use: the plan removes every image but the sandbox image; no peer has a dry run.
                    b.row(f"images prune --dry-run, {n} images (k8s.io)",
                          {"kctr": kctr + ["images", "prune", "--dry-run"]}, nruns, {})
        if {"pods-50", "ps-50", "exec"} & set(rows):
            sh([fixtures, "pods", sock, "--count", "50", "--log-dir", os.path.join(base, "pod-logs")])
            if "pods-50" in rows:
                cmds = {"kctr": kctr + ["pods"], "ctr": k8s + ["containers", "ls"]}  # ctr: sandboxes and containers alike
                if crictl:
                    cmds["crictl"] = crictl + ["pods"]
                b.row("pods, 50 pods", cmds, runs, {})
            if "ps-50" in rows:
                cmds = {"kctr": kctr + ["ps"], "ctr": k8s + ["tasks", "ls"]}  # ctr: every task, sandboxes too
                if crictl:
                    cmds["crictl"] = crictl + ["ps"]
                b.row("ps, 50 containers", cmds, runs, {})
            if "exec" in rows:
                # One round trip: `true` in a running container. kctr -s and crictl -s through CRI ExecSync;
                # kctr's default path and ctr through the Tasks API (ctr needs a new exec ID per run).
                cid = sh(kctr + ["ps", "-q"]).stdout.split()[0]
                cmds = {"kctr": kctr + ["exec", "-s", cid, "true"],
                        "ctr": lambda i: k8s + ["tasks", "exec", "--exec-id", f"bench-{os.getpid()}-{i + 1}", cid, "true"]}
                if crictl:
                    cmds["crictl"] = crictl + ["exec", "-s", cid, "true"]
                b.row("exec round trip (kctr exec -s)", cmds, runs, {"time": {"ctr": NOT_SLOWER, "crictl": NOT_SLOWER}})
                b.row("exec round trip (kctr exec, Tasks API)", {"kctr": kctr + ["exec", cid, "true"],
                      "ctr": lambda i: k8s + ["tasks", "exec", "--exec-id", f"bench-t-{os.getpid()}-{i + 1}", cid, "true"]},
                      runs, {"time": {"ctr": NOT_SLOWER}})
        if "verify-runtime" in rows:
            # The lab's config.toml; the host's /proc, /sys and (absent) kubelet config. Exit 1 = a check failed.
            cmds = {"kctr": kctr + ["verify-runtime", "--containerd-config", os.path.join(base, "config.toml")]}
            if crictl:
                cmds["crictl"] = crictl + ["info"]
            b.row("verify-runtime", cmds, runs, {"abs_ms": 200}, ok_codes=(0, 1))

        def import_row(name, slug, archive, refs, nruns, goal, kctr=kctr, ctr=ctr):
            # Each run imports into a fresh namespace; the images are then removed with a synchronous GC.
            size = os.path.getsize(archive)

            def cmds_for(i):
                return {"kctr": kctr + ["-n", f"bench-{slug}-kctr-{i}", "import", "-o", "json", archive],
                        "ctr": ctr + ["-n", f"bench-{slug}-ctr-{i}", "images", "import", archive]}

            # Namespace suffixes: w (the untimed warm-up), then 0, 1, ...

            samples = {"kctr": [], "ctr": []}
            for i in ["w"] + list(range(nruns)):
                for tool, argv in cmds_for(i).items():
                    sample = measure(argv)
                    if i != "w":
                        samples[tool].append(sample)
                    ns = argv[argv.index("-n") + 1]
                    sh(ctr + ["-n", ns, "images", "rm", "--sync", *refs])
            shown = {t: b.shown(a) for t, a in cmds_for("N").items()}
            for tool in ("kctr", "ctr"):
                b.results.append((name, tool, shown[tool], samples[tool], size, goal))
            print(f"bench: {name}: done", file=sys.stderr)

        def export_row(name, slug, archive, refs, nruns, goal):
            ns = f"bench-{slug}"
            sh(ctr + ["-n", ns, "images", "import", archive])
            out = os.path.join(CACHE, "bench-out.tar")
            cmds = {"kctr": kctr + ["-n", ns, "export", out, *refs], "ctr": ctr + ["-n", ns, "images", "export", out, *refs]}
            b.row(name, cmds, nruns, goal, size=os.path.getsize(archive))
            os.unlink(out)
            for tool in ("kctr", "ctr"):  # the table shows the command without 50 references
                i = next(j for j, r in enumerate(b.results) if r[0] == name and r[1] == tool)
                r = b.results[i]
                b.results[i] = (r[0], r[1], r[2].replace(" ".join(refs), f"REF... ({len(refs)})"), *r[3:])

        if {"import-50", "export-50"} & set(rows):
            refs = [f"docker.io/kctr/many-{i:02d}:1.0" for i in range(50)]
            if "import-50" in rows:
                import_row("import 50 small images", "import-50", args.many, refs, args.mid_runs,
                           {"time": {"ctr": (1 / 1.2, "throughput ≥ 1.2x")}, "rss_mib": 64})
            if "export-50" in rows:
                export_row("export 50 small images", "export-50", args.many, refs, args.mid_runs,
                           {"time": {"ctr": (1.0, "throughput ≥ 1x")}, "rss_mib": 64})
        if {"import-1g", "import-1g-pigz", "export-1g"} & set(rows):
            if not os.path.exists(args.big):
                sh([os.path.join(SCRIPTS, "lab", "make-big-archive.py"), args.big])
            mib = os.path.getsize(args.big) >> 20
            if "import-1g" in rows:
                import_row(f"import {mib} MiB, 4 gzip layers", "import-1g", args.big, ["docker.io/kctr/big:1.0"], args.big_runs,
                           {"time": {"ctr": (1 / 1.2, "throughput ≥ 1.2x")}, "rss_mib": 64})
            if "import-1g-pigz" in rows:
                # A second daemon, started without NO_PIGZ: containerd runs unpigz (on its PATH) for the layers.
                if not shutil.which("unpigz"):
                    raise SystemExit("bench: import-1g-pigz needs unpigz on PATH (apt-get install pigz, or run scripts/deps)")
                base_pigz = tempfile.mkdtemp(prefix="kctr-bench-pigz-")
                shutil.rmtree(base_pigz)
                env = {k: v for k, v in os.environ.items() if k not in NO_PIGZ}
                sh([LAB, "up", base_pigz], env=env)
                try:
                    sock_pigz = os.path.join(base_pigz, "containerd.sock")
                    import_row(f"import {mib} MiB, 4 gzip layers, unpigz", "import-1g-pigz", args.big, ["docker.io/kctr/big:1.0"],
                               args.big_runs, {"time": {"ctr": (1 / 1.2, "throughput ≥ 1.2x")}, "rss_mib": 64},
                               kctr=[args.kctr, "--address", sock_pigz], ctr=[args.lab_ctr, "--address", sock_pigz])
                    b.notes.append("- `import ..., unpigz`: the same import on a second daemon started without "
                                   "CONTAINERD_DISABLE_PIGZ, with Debian's pigz (`unpigz`) on its PATH; every other row's daemon "
                                   "runs with CONTAINERD_DISABLE_PIGZ=1 and CONTAINERD_DISABLE_IGZIP=1 (single-threaded gzip).")
                finally:
                    subprocess.run([LAB, "down", base_pigz])
            if "export-1g" in rows:
                export_row(f"export {mib} MiB, 4 gzip layers", "export-1g", args.big, ["docker.io/kctr/big:1.0"], args.big_runs,
                           {"time": {"ctr": (1.0, "throughput ≥ 1x")}, "rss_mib": 64})
    finally:
        subprocess.run([LAB, "down", base])

    text = table(b.results)
    print(text)
    if args.write_md:
        version = lab_env.get("KCTR_LAB_CONTAINERD_VERSION", "?")
        old = open(args.write_md).read() if os.path.exists(args.write_md) else ""
        with open(args.write_md, "w") as f:
            f.write(write_md(old, version, machine(args), text, b.notes))
        print(f"bench: wrote containerd {version}'s section of {args.write_md}", file=sys.stderr)


INTRO = ("Written by `scripts/bench/bench.py --write-md` (`make bench`); rerun with `make bench` or "
         "`scripts/bench/bench.py --rows ... --runs N --big-runs M --kctr PATH --write-md`. kctr and its peer run in "
         "alternation on the same private containerd (scripts/lab/containerd-lab). The command column is what each "
         "tool ran (socket options left out; `$LAB` is the daemon's directory). Ratios are kctr/peer of the "
         "median wall time and of the peak RSS (below 1 = kctr faster / smaller); MiB/s is the archive size "
         "over the median time. The goal column checks the targets of issue 6. One section per containerd "
         "version (`KCTR_CONTAINERD_DIR=... scripts/bench/bench.py --write-md` writes that version's); a run replaces "
         "the rows it measured and keeps the others.")


def sections(doc):
    """The document's `## ` sections as (title, body lines), after the part before the first."""
    head, out = [], []
    for line in doc.splitlines():
        if line.startswith("## "):
            out.append((line[3:].strip(), []))
        elif out:
            out[-1][1].append(line)
        else:
            head.append(line)
    return head, out


def table_rows(lines):
    """The result rows (markdown lines) of a section's table, keyed by their row name, in order."""
    rows = []
    for line in lines:
        if line.startswith("| ") and not line.startswith("| row |"):
            rows.append((line.split(" | ")[0][2:], line))
    return rows


def version_key(title):
    parts = title.split()[1].split("~")[0].split(".") if len(title.split()) > 1 else []
    return tuple(int(p) if p.isdigit() else 0 for p in parts)


def migrate_flat(old_sections):
    """The layout before per-version sections (one `## Machine` and one `## Results`) as the section of
    the containerd its machine list names, in the per-version layout."""
    titles = [t for t, _ in old_sections]
    if any(t.startswith("containerd ") for t in titles) or "Results" not in titles:
        return old_sections
    body = dict(old_sections)
    named = re.search(r"^- containerd: containerd \S+ v?(\d+\.\d+\.\d+)", "\n".join(body.get("Machine", [])), re.M)
    if not named:
        return old_sections
    merged = ["", "### Machine"] + body.get("Machine", []) + ["### Results"] + body["Results"]
    return [(f"containerd {named.group(1)}", merged)] + [(t, b) for t, b in old_sections if t not in ("Machine", "Results")]


def write_md(old, version, machine_lines, text, notes):
    """The benchmark document with containerd `version`'s section written from this run: its rows
    replace the rows of the same name, the section's other rows stay (noted in its machine list);
    other versions' sections and every section the bench does not write are kept."""
    _, old_sections = sections(old)
    old_sections = migrate_flat(old_sections)
    title = f"containerd {version}"
    mine = {t: body for t, body in old_sections}
    kept_rows = []
    if title in mine:
        measured = {name for name, _ in table_rows(text.splitlines())}
        kept_rows = [line for name, line in table_rows(mine[title]) if name not in measured]
    lines = text.splitlines()
    if kept_rows:
        names = sorted({line.split(" | ")[0][2:] for line in kept_rows})
        before = []
        for line in mine[title]:
            if line.startswith("### Results"):
                break
            if line.startswith("- ") and not line.startswith("- rows kept") and not line.startswith("  - "):
                before.append("  " + line)
        machine_lines = machine_lines + [f"- rows kept from an earlier run (not measured in this one): {'; '.join(names)}; "
                                         "that run's machine:"] + before
        lines = lines + kept_rows
    body = ["", "### Machine", ""] + machine_lines + ["", "### Results", ""] + lines + [""]
    if notes:
        body += ["### Notes of this run", ""] + notes + [""]
    generated = {t: b for t, b in old_sections if t.startswith("containerd ")}
    generated[title] = body
    # Sections of the old flat layout (one unnamed version) are the bench's own: dropped.
    own = {"Machine", "Results", "Fixtures and peers"}
    others = [(t, b) for t, b in old_sections if not t.startswith("containerd ") and t not in own]
    doc = ["# kctr benchmarks", "", INTRO, ""]
    for t in sorted(generated, key=version_key):
        doc += [f"## {t}"] + generated[t]
    doc += ["## Fixtures and peers", ""] + NOTES + [""]
    for t, b in others:
        doc += [f"## {t}"] + b
    return "\n".join(doc).rstrip("\n") + "\n"


if __name__ == "__main__":
    main()
