import Foundation
import XCTest

// Multi-platform archives built with python3 (hashlib, json, tarfile) from the busybox image of the
// test layout, for MultiPlatformTests: one image docker.io/kctr/multi-arch:1.0 whose target is an OCI
// image index of three platforms.
//
//   linux/amd64   the real busybox manifest (its config and its gzip layer) from the test layout
//   linux/arm64   a manifest of its own: a config claiming architecture arm64 and a small layer of its
//                 own (an uncompressed tar holding /arm64.txt), so its chain ID differs from amd64's and
//                 an unpack of it would show as a snapshot of its own
//   linux/arm/v7  likewise (config arm/v7, a layer holding /armv7.txt)
//
// `partial` leaves the arm/v7 manifest, config and layer out of the archive (what docker save and
// ctr export write); `full` holds every platform's blobs.

/// What a multi-platform fixture holds, as the python script reports it.
struct MultiPlatformFixture {
    struct Platform {
        var manifest: String
        var manifestSize: Int
        var config: String
        var layers: [String]
        var diffIDs: [String]
        var chainID: String? { computeChainID(diffIDs) }
        var blobs: [String] { [manifest, config] + layers }
    }

    static let name = "docker.io/kctr/multi-arch:1.0"
    static let amd64 = "linux/amd64", arm64 = "linux/arm64", armv7 = "linux/arm/v7"

    var path: String
    /// The image index (the image's target).
    var index: String
    var indexSize: Int
    /// platform ("linux/arm/v7") -> its manifest, config, layers.
    var platforms: [String: Platform]
    /// Platforms whose blobs are not in the archive.
    var absent: [String]

    func platform(_ p: String) throws -> Platform {
        guard let out = platforms[p] else { throw SetupError("the fixture has no platform \(p)") }
        return out
    }

    enum Kind: String {
        /// arm/v7's manifest, config and layer are not in the archive.
        case partial
        /// Every platform's blobs are in the archive.
        case full
    }

    /// Writes the fixture of `kind` into `dir`.
    static func make(_ kind: Kind, in dir: TempDir) throws -> MultiPlatformFixture {
        let script = dir.file("multiplatform.py")
        if !FileManager.default.fileExists(atPath: script) {
            try python.write(toFile: script, atomically: true, encoding: .utf8)
        }
        let out = dir.file("mp-\(kind.rawValue)-\(UUID().uuidString.prefix(6).lowercased()).tar")
        let r = runProcess(["/usr/bin/python3", script, kind.rawValue, out, try TestImages.path("layout")])
        guard r.status == 0, FileManager.default.fileExists(atPath: out),
              let doc = jsonObject(r.stdout) as? [String: Any],
              let index = doc["index"] as? String, let indexSize = doc["indexSize"] as? Int,
              let platforms = doc["platforms"] as? [String: [String: Any]]
        else { throw SetupError("cannot build the \(kind.rawValue) multi-platform fixture (\(r.status)): \(r.stderr)\n\(r.stdout)") }
        var parsed: [String: Platform] = [:]
        for (p, v) in platforms {
            guard let manifest = v["manifest"] as? String, let size = v["manifestSize"] as? Int, let config = v["config"] as? String,
                  let layers = v["layers"] as? [String], let diffIDs = v["diffIDs"] as? [String]
            else { throw SetupError("bad fixture description for \(p): \(r.stdout)") }
            parsed[p] = Platform(manifest: manifest, manifestSize: size, config: config, layers: layers, diffIDs: diffIDs)
        }
        return MultiPlatformFixture(path: out, index: index, indexSize: indexSize, platforms: parsed,
                                    absent: doc["absent"] as? [String] ?? [])
    }

    static let python = #"""
    import hashlib, io, json, os, sys, tarfile

    kind, out, layout = sys.argv[1:4]
    NAME = "docker.io/kctr/multi-arch:1.0"
    BUSYBOX = "docker.io/library/busybox:kctr-test"
    INDEX = "application/vnd.oci.image.index.v1+json"
    MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    CONFIG = "application/vnd.oci.image.config.v1+json"
    LAYER = "application/vnd.oci.image.layer.v1.tar"


    def read(path):
        with open(path, "rb") as f:
            return f.read()


    def blob_path(digest):
        return os.path.join(layout, "blobs", *digest.split(":", 1))


    def digest(data):
        return "sha256:" + hashlib.sha256(data).hexdigest()


    def dumps(doc):
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


    def small_layer(name, text):
        """An uncompressed, deterministic tar holding one file."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uid, info.gid = len(data), 0o644, 0, 0, 0
            t.addfile(info, io.BytesIO(data))
        return buf.getvalue()


    blobs = {}  # digest -> bytes
    described = {}
    entries = []

    index_json = json.loads(read(os.path.join(layout, "index.json")))
    bb = next(m for m in index_json["manifests"] if m["annotations"]["io.containerd.image.name"] == BUSYBOX)
    bb_manifest_bytes = read(blob_path(bb["digest"]))
    bb_manifest = json.loads(bb_manifest_bytes)
    bb_config_bytes = read(blob_path(bb_manifest["config"]["digest"]))
    bb_config = json.loads(bb_config_bytes)

    # linux/amd64: the real busybox image, byte for byte.
    blobs[bb["digest"]] = bb_manifest_bytes
    blobs[bb_manifest["config"]["digest"]] = bb_config_bytes
    for l in bb_manifest["layers"]:
        blobs[l["digest"]] = read(blob_path(l["digest"]))
    entries.append({"mediaType": MANIFEST, "digest": bb["digest"], "size": len(bb_manifest_bytes),
                    "platform": {"architecture": "amd64", "os": "linux"}})
    described["linux/amd64"] = {"manifest": bb["digest"], "manifestSize": len(bb_manifest_bytes),
                                "config": bb_manifest["config"]["digest"],
                                "layers": [l["digest"] for l in bb_manifest["layers"]],
                                "diffIDs": bb_config["rootfs"]["diff_ids"]}

    platform_blobs = {}
    for key, arch, variant, fname in [("linux/arm64", "arm64", None, "arm64.txt"), ("linux/arm/v7", "arm", "v7", "armv7.txt")]:
        layer = small_layer(fname, key + "\n")
        config = dict(bb_config, architecture=arch, rootfs={"type": "layers", "diff_ids": [digest(layer)]})
        if variant:
            config["variant"] = variant
        config_bytes = dumps(config)
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST,
                    "config": {"mediaType": CONFIG, "digest": digest(config_bytes), "size": len(config_bytes)},
                    "layers": [{"mediaType": LAYER, "digest": digest(layer), "size": len(layer)}]}
        manifest_bytes = dumps(manifest)
        platform = {"architecture": arch, "os": "linux"}
        if variant:
            platform["variant"] = variant
        entries.append({"mediaType": MANIFEST, "digest": digest(manifest_bytes), "size": len(manifest_bytes), "platform": platform})
        platform_blobs[key] = {digest(manifest_bytes): manifest_bytes, digest(config_bytes): config_bytes, digest(layer): layer}
        described[key] = {"manifest": digest(manifest_bytes), "manifestSize": len(manifest_bytes),
                          "config": digest(config_bytes), "layers": [digest(layer)], "diffIDs": [digest(layer)]}

    absent = []
    for key, b in platform_blobs.items():
        if kind == "partial" and key == "linux/arm/v7":
            absent.append(key)
            continue
        blobs.update(b)

    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}
    index_bytes = dumps(index)
    blobs[digest(index_bytes)] = index_bytes
    top = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [
        {"mediaType": INDEX, "digest": digest(index_bytes), "size": len(index_bytes),
         "annotations": {"io.containerd.image.name": NAME, "org.opencontainers.image.ref.name": "1.0"}}]}

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        members = [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", dumps(top))]
        members += [("blobs/" + d.replace(":", "/"), data) for d, data in sorted(blobs.items())]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            t.addfile(info, io.BytesIO(data))

    print(json.dumps({"index": digest(index_bytes), "indexSize": len(index_bytes), "platforms": described, "absent": absent}))
    """#
}

extension Lab {
    /// The digests `ctr content ls` lists in `namespace`.
    func contentDigests(_ namespace: String) -> Set<String> {
        Set(contentLabels(namespace).keys)
    }

    /// Whether `ctr snapshots info` finds a committed overlayfs snapshot named `key` in `namespace`.
    func hasCommittedSnapshot(_ key: String, namespace: String) -> Bool {
        let info = ctr(["snapshots", "--snapshotter", "overlayfs", "info", key], namespace: namespace)
        return info.status == 0 && info.stdout.contains("Committed")
    }

    /// (media type, digest) of the record `name`, from `ctr images ls`.
    func ctrTarget(_ name: String, namespace: String) -> (mediaType: String, digest: String)? {
        for line in ctr(["images", "ls"], namespace: namespace).lines.dropFirst() {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cols.count >= 3, cols[0] == name { return (cols[1], cols[2]) }
        }
        return nil
    }
}
