#!/usr/bin/env python3
"""Writes dist/kctr-image.tar: an OCI image archive (an OCI layout in a tar) holding the static dist/kctr.

`make image` runs this after `make dist`; no container engine is involved. The image has one layer,
/usr/local/bin/kctr, and nothing else: kctr is static (no libc, no loader), looks up no user or
host name (so no /etc/passwd, /etc/nsswitch.conf or resolver files), and the manifests run it as a
numeric uid. The config's entrypoint is `kctr`; its labels name the version and the commit
(`dist/kctr --version`).

The archive is reproducible: the same dist/kctr gives the same bytes, so the same commit gives the
same digest. Every tar entry has the commit's time (SOURCE_DATE_EPOCH overrides; 0 outside git),
uid/gid 0 and no owner names, entries are sorted, the layer is gzip'd with no name and mtime 0, and
JSON is written with sorted keys.

  kctr import dist/kctr-image.tar                                        # onto a node
  skopeo copy oci-archive:dist/kctr-image.tar docker://REGISTRY/kctr:VERSION    # to a registry

Usage: scripts/release/image.py [--binary dist/kctr] [--out dist/kctr-image.tar] [--name kctr]
(--name without a tag gets the version as its tag; a name without a registry is docker.io/library/NAME.)
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MEDIA_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_CONFIG = "application/vnd.oci.image.config.v1+json"
MEDIA_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"


def die(msg):
    print(f"image: {msg}", file=sys.stderr)
    sys.exit(1)


def version_and_commit(binary):
    """`kctr --version` prints `0.1.0 (commit abc123def456)`."""
    try:
        line = subprocess.run([binary, "--version"], check=True, text=True, stdout=subprocess.PIPE).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        die(f"cannot run {binary} --version: {e} (run `make dist` first)")
    m = re.fullmatch(r"(\S+) \(commit ([^)]+)\)", line)
    if not m:
        die(f"{binary} --version printed {line!r}, not `VERSION (commit REV)`")
    return m.group(1), m.group(2)


def epoch(commit):
    """SOURCE_DATE_EPOCH, else the commit's time (git), else 0."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    rev = commit[:-6] if commit.endswith("-dirty") else commit
    rev = rev.rsplit("-g", 1)[-1]  # `git describe`: TAG-N-gHASH
    try:
        r = subprocess.run(["git", "-C", ROOT, "show", "-s", "--format=%ct", rev + "^{commit}"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except FileNotFoundError:
        return 0
    return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else 0


def architecture(binary):
    """The OCI architecture of the ELF file (e_machine)."""
    with open(binary, "rb") as f:
        header = f.read(20)
    if header[:4] != b"\x7fELF":
        die(f"{binary} is not an ELF file")
    machine = int.from_bytes(header[18:20], "little")
    names = {62: "amd64", 183: "arm64"}
    if machine not in names:
        die(f"{binary}: ELF machine {machine} is not amd64 or arm64")
    return names[machine]


def entry(name, mtime, mode, size=0, kind=tarfile.REGTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_bytes(members):
    """A ustar archive of (TarInfo, bytes or None), in the order given."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def canonical(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def full_name(name, version):
    """kctr -> docker.io/library/kctr:VERSION, as containerd and the kubelet spell `image: kctr:VERSION`."""
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        name += ":" + version
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = "docker.io/" + ("library/" + name if "/" not in name else name)
    return name


def build(binary, name):
    version, commit = version_and_commit(binary)
    mtime = epoch(commit)
    with open(binary, "rb") as f:
        program = f.read()

    dirs = ["usr/", "usr/local/", "usr/local/bin/"]
    layer_tar = tar_bytes([(entry(d, mtime, 0o755, kind=tarfile.DIRTYPE), None) for d in dirs]
                          + [(entry("usr/local/bin/kctr", mtime, 0o755, len(program)), program)])
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=6) as gz:
        gz.write(layer_tar)
    layer = packed.getvalue()

    created = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    labels = {
        "org.opencontainers.image.title": "kctr",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": commit,
        "org.opencontainers.image.description": "kctr, the containerd and CRI command line for node operators (static, one file)",
    }
    config = canonical({
        "architecture": architecture(binary),
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": ["kctr"], "Env": [PATH_ENV], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
        "history": [{"created": created, "created_by": f"make image: dist/kctr {version} (commit {commit}) as /usr/local/bin/kctr"}],
    })
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": MEDIA_MANIFEST,
        "config": {"mediaType": MEDIA_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": MEDIA_LAYER, "digest": sha256(layer), "size": len(layer)}],
        "annotations": labels,
    })
    reference = full_name(name, version)
    tag = reference.rsplit(":", 1)[-1] if ":" in reference.rsplit("/", 1)[-1] else version
    index = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": MEDIA_MANIFEST, "digest": sha256(manifest), "size": len(manifest),
            "annotations": {"io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag},
        }],
    })
    blobs = sorted((sha256(b)[7:], b) for b in (layer, config, manifest))
    members = [(entry("blobs/", mtime, 0o755, kind=tarfile.DIRTYPE), None),
               (entry("blobs/sha256/", mtime, 0o755, kind=tarfile.DIRTYPE), None)]
    members += [(entry(f"blobs/sha256/{h}", mtime, 0o644, len(b)), b) for h, b in blobs]
    members += [(entry("index.json", mtime, 0o644, len(index)), index),
                (entry("oci-layout", mtime, 0o644, len(b'{"imageLayoutVersion":"1.0.0"}')), b'{"imageLayoutVersion":"1.0.0"}')]
    return tar_bytes(members), reference, sha256(manifest), version, commit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "dist", "kctr"))
    ap.add_argument("--out", default=os.path.join(ROOT, "dist", "kctr-image.tar"))
    ap.add_argument("--name", default="kctr", help="image name (default kctr, i.e. docker.io/library/kctr:VERSION)")
    a = ap.parse_args()
    if not os.path.isfile(a.binary):
        die(f"{a.binary} is missing: run `make dist` first")
    archive, reference, digest, version, commit = build(a.binary, a.name)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(archive)
    os.replace(tmp, a.out)
    print(f"image: {os.path.relpath(a.out)}: {reference} {digest} ({len(archive) / (1 << 20):.1f} MiB; kctr {version}, commit {commit})")


if __name__ == "__main__":
    main()
