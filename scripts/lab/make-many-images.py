#!/usr/bin/env python3
"""Writes one OCI image archive holding many small, distinct images (for scripts/bench/bench.py).

Usage: scripts/lab/make-many-images.py OUT.tar [--count 50] [--base-kib 1024] [--layer-kib 256]
       [--prefix docker.io/kctr/many]
Each image has two gzip layers: a base layer all images share (like a common distro layer)
and a layer of its own with a few files (sizes vary around --layer-kib), and its own config.
Names: PREFIX-NN:1.0. Deterministic (seeded): repeated runs write the same digests.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer(files):
    """(gzip blob, diff_id) of a layer tar holding `files` ({path: bytes})."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = sorted({os.path.dirname(p) for p in files if os.path.dirname(p)})
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            t.addfile(info)
        for path, data in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            t.addfile(info, io.BytesIO(data))
    raw = raw.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(fileobj=gz, mode="wb", compresslevel=6, mtime=0) as z:
        z.write(raw)
    return gz.getvalue(), sha(raw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--base-kib", type=int, default=1024)
    ap.add_argument("--layer-kib", type=int, default=256)
    ap.add_argument("--prefix", default="docker.io/kctr/many")
    a = ap.parse_args()
    rng = random.Random(50)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    blobs = {}

    def add(data):
        d = sha(data)
        blobs[d] = data
        return d

    def text(n):
        # Half random bytes, half repeated text: layers that compress somewhat, as real ones do.
        return rng.randbytes(n // 2) + (b"kctr bench file\n" * (n // 32 + 1))[: n - n // 2]

    base_blob, base_diff = layer({f"usr/lib/base/lib{i}.so": text(a.base_kib * 1024 // 8) for i in range(8)})
    base = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": add(base_blob), "size": len(base_blob)}
    manifests = []
    for n in range(a.count):
        name = f"{a.prefix}-{n:02d}:1.0"
        own_size = rng.randint(a.layer_kib * 512, a.layer_kib * 1536)
        blob, diff = layer({f"app/{n:02d}/bin/app": text(own_size), f"app/{n:02d}/etc/app.conf": f"id = {n}\n".encode()})
        own = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": add(blob), "size": len(blob)}
        config = json.dumps({"architecture": arch, "os": "linux",
                             "config": {"Entrypoint": [f"/app/{n:02d}/bin/app"], "Env": ["PATH=/usr/bin:/bin"]},
                             "rootfs": {"type": "layers", "diff_ids": [base_diff, diff]}}, sort_keys=True).encode()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": add(config), "size": len(config)},
                               "layers": [base, own]}, sort_keys=True).encode()
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": add(manifest),
                          "size": len(manifest), "platform": {"architecture": arch, "os": "linux"},
                          "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": manifests}, sort_keys=True).encode()

    def put(t, name, data):
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        t.addfile(info, io.BytesIO(data))

    tmp = a.out + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as t:
        put(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        put(t, "index.json", index)
        for d in sorted(blobs):
            put(t, "blobs/sha256/" + d[7:], blobs[d])
    os.replace(tmp, a.out)
    print(a.out)


if __name__ == "__main__":
    main()
