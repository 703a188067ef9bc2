import Foundation
import XCTest

// Helpers shared by ImportTests, ExportTests and BadArchiveTests: temp dirs,
// shell pipelines, reading the daemon's state through ctr, and malformed
// archives built with python3 from the test images.

/// A private temp directory, removed by `remove()` (tests register it as a teardown block).
final class TempDir: @unchecked Sendable {
    let path: String

    init(_ prefix: String = "kctr-fx") throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { path + "/" + name }

    /// Names in the directory, hidden ones included, sorted.
    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

extension XCTestCase {
    /// A temp directory removed when the test ends.
    func tempDir(_ prefix: String = "kctr-fx") throws -> TempDir {
        let dir = try TempDir(prefix)
        addTeardownBlock { dir.remove() }
        return dir
    }
}

/// A namespace name of its own for one test.
func uniqueNamespace(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Runs `script` with /bin/sh; `args` are $0, $1, ... (no quoting needed).
func shell(_ script: String, _ args: [String], env: [String: String] = [:], timeout: Double = 120) -> Run {
    runProcess(["/bin/sh", "-c", script] + args, env: env, timeout: timeout)
}

/// sha256 of a string, as "sha256:<hex>" (with sha256sum, independent of kctr).
func sha256(of text: String) -> String {
    let r = shell(#"printf '%s' "$0" | sha256sum"#, [text])
    return "sha256:" + (r.stdout.split(separator: " ").first.map(String.init) ?? "?")
}

/// The chain ID of a layer stack (OCI image spec): chain(n) = sha256(chain(n-1) + " " + diffID(n)).
func computeChainID(_ diffIDs: [String]) -> String? {
    guard var chain = diffIDs.first else { return nil }
    for diffID in diffIDs.dropFirst() { chain = sha256(of: chain + " " + diffID) }
    return chain
}

func jsonObject(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8))
}

func jsonObject(file: String) -> Any? {
    guard let data = FileManager.default.contents(atPath: file) else { return nil }
    return try? JSONSerialization.jsonObject(with: data)
}

/// One image as ctr sees it: its record's target, and the manifest, config,
/// layers and diff IDs read from the content store with `ctr content get`.
struct CtrImage {
    var name: String
    var digest: String
    var mediaType: String
    var config: String
    var layers: [String]
    var diffIDs: [String]
    var chainID: String? { computeChainID(diffIDs) }
    /// Every blob of the image (manifest, config, layers).
    var blobs: [String] { [digest, config] + layers }
}

extension Lab {
    /// `ctr images ls -q`, sorted.
    func imageNames(_ namespace: String) -> [String] {
        ctr(["images", "ls", "-q"], namespace: namespace).lines.sorted()
    }

    /// name -> target digest, from ctr's table (REF TYPE DIGEST ...).
    func imageDigests(_ namespace: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in ctr(["images", "ls"], namespace: namespace).lines.dropFirst() {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cols.count >= 3 { out[cols[0]] = cols[2] }
        }
        return out
    }

    /// A blob's JSON, read with `ctr content get`.
    func contentJSON(_ digest: String, namespace: String) throws -> [String: Any] {
        let r = ctr(["content", "get", digest], namespace: namespace)
        guard r.status == 0, let doc = jsonObject(r.stdout) as? [String: Any] else {
            throw SetupError("ctr -n \(namespace) content get \(digest) failed (\(r.status)): \(r.stderr)")
        }
        return doc
    }

    /// The single-platform image `name`, read through ctr only.
    func ctrImage(_ name: String, namespace: String) throws -> CtrImage {
        var mediaType = ""
        var digest = ""
        for line in ctr(["images", "ls"], namespace: namespace).lines.dropFirst() {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cols.count >= 3, cols[0] == name { mediaType = cols[1]; digest = cols[2] }
        }
        guard !digest.isEmpty else { throw SetupError("ctr -n \(namespace) does not list \(name)") }
        let manifest = try contentJSON(digest, namespace: namespace)
        guard let config = (manifest["config"] as? [String: Any])?["digest"] as? String,
              let layers = (manifest["layers"] as? [[String: Any]])?.compactMap({ $0["digest"] as? String })
        else { throw SetupError("\(name): \(digest) is not an image manifest") }
        let configDoc = try contentJSON(config, namespace: namespace)
        let diffIDs = ((configDoc["rootfs"] as? [String: Any])?["diff_ids"] as? [String]) ?? []
        return CtrImage(name: name, digest: digest, mediaType: mediaType, config: config, layers: layers, diffIDs: diffIDs)
    }

    /// digest -> labels, from `ctr content ls` (DIGEST SIZE AGE LABELS, tab-separated).
    func contentLabels(_ namespace: String) -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for line in ctr(["content", "ls"], namespace: namespace).lines.dropFirst() {
            let cols = line.split(separator: "\t", omittingEmptySubsequences: true).map(String.init)
            guard let digest = cols.first, digest.hasPrefix("sha256:") else { continue }
            var labels: [String: String] = [:]
            if let last = cols.last, cols.count >= 4, last != "-" {
                for pair in last.split(separator: ",") {
                    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                    if kv.count == 2 { labels[kv[0]] = kv[1] }
                }
            }
            out[digest] = labels
        }
        return out
    }

    /// After an import, successful or not: no lease and no ingest left behind in `namespace`.
    func assertNoLeftovers(_ namespace: String, file: StaticString = #filePath, line: UInt = #line) {
        let leases = ctr(["leases", "ls", "-q"], namespace: namespace)
        XCTAssertExit(leases, 0, file: file, line: line)
        XCTAssertEqual(leases.lines, [], "leases left in \(namespace)", file: file, line: line)
        let active = ctr(["content", "active"], namespace: namespace)
        XCTAssertExit(active, 0, file: file, line: line)
        // ctr prints a header (REF SIZE AGE), then one row per active ingest.
        let rows = active.lines.filter { !$0.hasPrefix("REF") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        XCTAssertEqual(rows, [], "active ingests left in \(namespace)", file: file, line: line)
    }
}

/// Archives built with python3 (tarfile, json, hashlib) from the test images:
/// each kind is a valid archive of the pause image (or of busybox in docker
/// save form) with exactly one thing broken, so that only that defect can
/// make kctr refuse it.
enum ArchiveFixtures {
    enum Kind: String, CaseIterable {
        /// The unbroken single-image OCI layout the others start from (control).
        case valid
        /// 8 KiB that are neither a tar nor a known compression.
        case random
        /// A file of 0 bytes.
        case empty
        /// The first half of all.oci.tar.
        case truncated
        /// pause's layer blob with one byte flipped (same size, same file name).
        case digestMismatch = "digest-mismatch"
        /// pause's layer blob removed from the layout.
        case missingBlob = "missing-blob"
        /// index.json is `{not json`.
        case badIndex = "bad-index"
        /// index.json padded with whitespace to 5 MiB, past the 4 MiB kctr reads as metadata.
        case oversizedIndex = "oversized-index"
        /// index.json names the manifest with the media type application/vnd.example.unknown.v1+json.
        case badMediaType = "bad-media-type"
        /// index.json without annotations: no name for the image.
        case unnamed
        /// The valid layout plus a member `../evil`.
        case dotdot
        /// The valid layout plus a member `/etc/x`.
        case absolute
        /// busybox.docker.tar whose manifest.json names the layer `loop/a`, with symlinks loop/a -> b, loop/b -> a.
        case symlinkLoop = "symlink-loop"
        /// busybox.docker.tar whose RepoTags is ["UPPER/case:tag"].
        case badRepoTag = "bad-repotag"
    }

    /// io.containerd.image.name -> manifest digest, from the test layout's index.json (as all.oci.tar has them).
    static func layoutDigests() throws -> [String: String] {
        let layout = try TestImages.path("layout")
        guard let index = jsonObject(file: layout + "/index.json") as? [String: Any],
              let manifests = index["manifests"] as? [[String: Any]]
        else { throw SetupError("cannot read \(layout)/index.json") }
        var out: [String: String] = [:]
        for m in manifests {
            if let name = (m["annotations"] as? [String: String])?["io.containerd.image.name"], let digest = m["digest"] as? String {
                out[name] = digest
            }
        }
        return out
    }

    /// The pause image's layer digest (what digest-mismatch and missing-blob break).
    static func pauseLayer() throws -> String {
        let layout = try TestImages.path("layout")
        guard let index = jsonObject(file: layout + "/index.json") as? [String: Any],
              let manifests = index["manifests"] as? [[String: Any]],
              let entry = manifests.first(where: {
                  ($0["annotations"] as? [String: String])?["io.containerd.image.name"] == "registry.k8s.io/pause:3.9"
              }),
              let digest = entry["digest"] as? String,
              let manifest = jsonObject(file: layout + "/blobs/sha256/" + digest.dropFirst("sha256:".count)) as? [String: Any],
              let layer = (manifest["layers"] as? [[String: Any]])?.first?["digest"] as? String
        else { throw SetupError("cannot read the pause image from \(layout)") }
        return layer
    }

    /// Writes the archive of `kind` into `dir` and returns its path. The file's name does not
    /// tell its kind, so that a message can only name the defect by having found it.
    static func make(_ kind: Kind, in dir: TempDir) throws -> String {
        let script = dir.file("fixtures.py")
        if !FileManager.default.fileExists(atPath: script) {
            try python.write(toFile: script, atomically: true, encoding: .utf8)
        }
        let out = dir.file("archive-\(UUID().uuidString.prefix(8).lowercased()).tar")
        let r = runProcess(["/usr/bin/python3", script, kind.rawValue, out, try TestImages.path("layout"),
                            try TestImages.path("busybox.docker.tar"), try TestImages.path("all.oci.tar")])
        guard r.status == 0, FileManager.default.fileExists(atPath: out) else {
            throw SetupError("cannot build the \(kind.rawValue) fixture (\(r.status)): \(r.stderr)")
        }
        return out
    }

    static let python = #"""
    import hashlib, io, json, os, sys, tarfile

    kind, out, layout, docker_tar, all_tar = sys.argv[1:6]
    PAUSE = "registry.k8s.io/pause:3.9"


    def blob(digest):
        return os.path.join(layout, "blobs", *digest.split(":", 1))


    def read(path):
        with open(path, "rb") as f:
            return f.read()


    def pause_layout():
        """The pause image of the test layout as {member: bytes}: a valid single-image OCI layout."""
        index = json.loads(read(os.path.join(layout, "index.json")))
        entry = next(m for m in index["manifests"] if m["annotations"]["io.containerd.image.name"] == PAUSE)
        manifest = json.loads(read(blob(entry["digest"])))
        files = {"oci-layout": read(os.path.join(layout, "oci-layout"))}
        for d in [entry["digest"], manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]:
            files["blobs/" + d.replace(":", "/")] = read(blob(d))
        index["manifests"] = [entry]
        files["index.json"] = json.dumps(index).encode()
        return files, entry, manifest


    def write_tar(path, members):
        """members: (name, bytes) for regular files, (name, None, target) for symlinks."""
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
            for m in members:
                info = tarfile.TarInfo(m[0])
                info.mode = 0o644
                if len(m) == 3:
                    info.type = tarfile.SYMTYPE
                    info.linkname = m[2]
                    t.addfile(info)
                else:
                    info.size = len(m[1])
                    t.addfile(info, io.BytesIO(m[1]))


    def ordered(files):
        names = sorted(files, key=lambda n: (n != "oci-layout", n != "index.json", n))
        return [(n, files[n]) for n in names]


    def docker_members():
        with tarfile.open(docker_tar) as t:
            members = []
            for info in t.getmembers():
                if info.issym():
                    members.append((info.name, None, info.linkname))
                elif info.isfile():
                    members.append((info.name, t.extractfile(info).read()))
            return members


    def docker_manifest(members):
        return json.loads(next(m[1] for m in members if m[0] == "manifest.json"))


    def set_member(members, name, data):
        return [(name, data) if m[0] == name else m for m in members]


    layer_member = None
    if kind in ("digest-mismatch", "missing-blob"):
        files, _, manifest = pause_layout()
        layer_member = "blobs/" + manifest["layers"][0]["digest"].replace(":", "/")

    if kind == "random":
        with open(out, "wb") as f:
            f.write(hashlib.sha256(b"kctr").digest() * 256)
    elif kind == "empty":
        open(out, "wb").close()
    elif kind == "truncated":
        data = read(all_tar)
        with open(out, "wb") as f:
            f.write(data[: len(data) // 2])
    elif kind == "valid":
        files, _, _ = pause_layout()
        write_tar(out, ordered(files))
    elif kind == "digest-mismatch":
        data = bytearray(files[layer_member])
        data[len(data) // 2] ^= 0xFF
        files[layer_member] = bytes(data)
        write_tar(out, ordered(files))
    elif kind == "missing-blob":
        del files[layer_member]
        write_tar(out, ordered(files))
    elif kind == "bad-index":
        files, _, _ = pause_layout()
        files["index.json"] = b"{not json"
        write_tar(out, ordered(files))
    elif kind == "oversized-index":
        files, _, _ = pause_layout()
        files["index.json"] = files["index.json"] + b" " * (5 << 20)
        write_tar(out, ordered(files))
    elif kind == "bad-media-type":
        files, entry, _ = pause_layout()
        entry = dict(entry, mediaType="application/vnd.example.unknown.v1+json")
        files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()
        write_tar(out, ordered(files))
    elif kind == "unnamed":
        files, entry, _ = pause_layout()
        entry = {k: v for k, v in entry.items() if k != "annotations"}
        files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()
        write_tar(out, ordered(files))
    elif kind == "dotdot":
        files, _, _ = pause_layout()
        write_tar(out, ordered(files) + [("../evil", b"evil\n")])
    elif kind == "absolute":
        files, _, _ = pause_layout()
        write_tar(out, ordered(files) + [("/etc/x", b"evil\n")])
    elif kind == "symlink-loop":
        members = docker_members()
        manifest = docker_manifest(members)
        manifest[0]["Layers"] = ["loop/a"]
        members = set_member(members, "manifest.json", json.dumps(manifest).encode())
        write_tar(out, members + [("loop/a", None, "b"), ("loop/b", None, "a")])
    elif kind == "bad-repotag":
        members = docker_members()
        manifest = docker_manifest(members)
        manifest[0]["RepoTags"] = ["UPPER/case:tag"]
        write_tar(out, set_member(members, "manifest.json", json.dumps(manifest).encode()))
    else:
        sys.exit("unknown fixture kind " + kind)
    """#
}
