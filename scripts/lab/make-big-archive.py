#!/usr/bin/env python3
"""Writes a multi-layer OCI image archive of random (incompressible) gzip layers.

Usage: scripts/lab/make-big-archive.py OUT.tar [--layers 4] [--layer-mib 256] [--name docker.io/kctr/big:1.0]
Deterministic for given arguments (seeded), so repeated runs produce the same digests.
"""
import argparse, gzip, hashlib, io, json, os, random, tarfile, tempfile


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--layer-mib", type=int, default=256)
    ap.add_argument("--name", default="docker.io/kctr/big:1.0")
    a = ap.parse_args()
    rng = random.Random(42)
    work = tempfile.mkdtemp(prefix="kctr-big-", dir=os.path.dirname(os.path.abspath(a.out)))
    layers, diff_ids = [], []
    for i in range(a.layers):
        raw = os.path.join(work, f"layer{i}.tar")
        with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as t:
            size = a.layer_mib << 20
            info = tarfile.TarInfo(f"data/blob{i}.bin")
            info.size, info.mtime, info.mode = size, 0, 0o644

            class Gen(io.RawIOBase):
                left = size
                def readable(self): return True
                def readinto(self, b):
                    n = min(len(b), self.left)
                    if n == 0: return 0
                    b[:n] = rng.randbytes(n)
                    self.left -= n
                    return n
            t.addfile(info, io.BufferedReader(Gen(), 1 << 20))
        h = hashlib.sha256()
        with open(raw, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        diff_ids.append("sha256:" + h.hexdigest())
        gz = raw + ".gz"
        with open(raw, "rb") as f, open(gz, "wb") as out:
            with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as z:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    z.write(chunk)
        os.unlink(raw)
        h = hashlib.sha256()
        with open(gz, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + h.hexdigest(), "size": os.path.getsize(gz), "path": gz})
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/true"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}, sort_keys=True).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(config), "size": len(config)},
                           "layers": [{k: l[k] for k in ("mediaType", "digest", "size")} for l in layers]}, sort_keys=True).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest), "size": len(manifest),
        "annotations": {"io.containerd.image.name": a.name, "org.opencontainers.image.ref.name": a.name.rsplit(":", 1)[-1]}}]},
        sort_keys=True).encode()

    def add_bytes(t, name, data):
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        t.addfile(info, io.BytesIO(data))

    with tarfile.open(a.out, "w", format=tarfile.PAX_FORMAT) as t:
        add_bytes(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        for l in layers:
            info = t.gettarinfo(l["path"], "blobs/sha256/" + l["digest"][7:])
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with open(l["path"], "rb") as f:
                t.addfile(info, f)
            os.unlink(l["path"])
        add_bytes(t, "blobs/sha256/" + sha(config)[7:], config)
        add_bytes(t, "blobs/sha256/" + sha(manifest)[7:], manifest)
        add_bytes(t, "index.json", index)
    os.rmdir(work)
    print(a.out)


if __name__ == "__main__":
    main()
