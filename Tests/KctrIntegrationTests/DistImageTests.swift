import Foundation
import XCTest

/// `make image` (scripts/release/image.py): an OCI image archive with one layer, dist/kctr as /usr/local/bin/kctr,
/// the entrypoint `kctr` and labels naming the version and commit; the same binary gives the same
/// bytes; skopeo reads it and pushes it to a registry. Skipped without dist/kctr (`make dist`).
final class DistImageTests: XCTestCase {
    var scratch = ""

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-image-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    static func distKctr() throws -> String {
        let bin = Paths.root + "/dist/kctr"
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw XCTSkip("\(bin) is not built: run `make dist` first (.ci/run does)")
        }
        return bin
    }

    /// `0.1.0 (commit abc)` -> ("0.1.0", "abc").
    static func versionAndCommit(_ bin: String) throws -> (String, String) {
        let line = runProcess([bin, "--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = line.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[1].hasPrefix("(commit "), parts[1].hasSuffix(")") else { throw SetupError("--version printed \(line)") }
        return (String(parts[0]), String(parts[1].dropFirst(8).dropLast()))
    }

    /// scripts/release/image.py for dist/kctr, written to `name` in the scratch directory.
    func makeImage(_ name: String) throws -> String {
        _ = try Self.distKctr()
        let out = scratch + "/" + name
        let r = runProcess(["/usr/bin/python3", Paths.root + "/scripts/release/image.py", "--out", out], timeout: 120)
        XCTAssertExit(r, 0)
        return out
    }

    /// One image for the tests that only read it (gzip of 66 MiB takes a while), kept until the class ends.
    nonisolated(unsafe) static var built: String?
    static let builtDir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-image-\(UUID().uuidString.prefix(8))").path
    override class func tearDown() { try? FileManager.default.removeItem(atPath: builtDir) }

    func sharedImage() throws -> String {
        if let built = Self.built { return built }
        try FileManager.default.createDirectory(atPath: Self.builtDir, withIntermediateDirectories: true)
        let made = try makeImage("kctr-image.tar")
        try FileManager.default.moveItem(atPath: made, toPath: Self.builtDir + "/kctr-image.tar")
        Self.built = Self.builtDir + "/kctr-image.tar"
        return Self.builtDir + "/kctr-image.tar"
    }

    struct Unpacked {
        var dir: String
        var index: [String: Any]
        var manifest: [String: Any]
        var manifestDigest: String
        var config: [String: Any]
        var layerPath: String
    }

    /// The archive unpacked with tar(1), its index, manifest and config read.
    func unpack(_ archive: String) throws -> Unpacked {
        let dir = scratch + "/unpacked-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertExit(runProcess(["/usr/bin/tar", "-xf", archive, "-C", dir]), 0)
        func json(_ path: String) throws -> [String: Any] {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/" + path))) as? [String: Any], path)
        }
        func blob(_ digest: String) -> String { "blobs/sha256/" + digest.dropFirst("sha256:".count) }
        let index = try json("index.json")
        let entry = try XCTUnwrap((index["manifests"] as? [[String: Any]])?.first)
        let digest = try XCTUnwrap(entry["digest"] as? String)
        let manifest = try json(blob(digest))
        let configDigest = try XCTUnwrap((manifest["config"] as? [String: Any])?["digest"] as? String)
        let layers = try XCTUnwrap(manifest["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 1, "\(manifest)")
        let layer = try XCTUnwrap(layers.first?["digest"] as? String)
        return Unpacked(dir: dir, index: index, manifest: manifest, manifestDigest: digest, config: try json(blob(configDigest)),
                        layerPath: dir + "/" + blob(layer))
    }

    func testOneLayerHoldingDistKctr() throws {
        let bin = try Self.distKctr()
        let (version, commit) = try Self.versionAndCommit(bin)
        let image = try unpack(try sharedImage())

        let entry = try XCTUnwrap((image.index["manifests"] as? [[String: Any]])?.first)
        let annotations = try XCTUnwrap(entry["annotations"] as? [String: String])
        XCTAssertEqual(annotations["io.containerd.image.name"], "docker.io/library/kctr:\(version)")
        XCTAssertEqual(annotations["org.opencontainers.image.ref.name"], version)

        let config = try XCTUnwrap(image.config["config"] as? [String: Any])
        XCTAssertEqual(config["Entrypoint"] as? [String], ["kctr"])
        let labels = try XCTUnwrap(config["Labels"] as? [String: String])
        XCTAssertEqual(labels["org.opencontainers.image.version"], version)
        XCTAssertEqual(labels["org.opencontainers.image.revision"], commit)
        XCTAssertEqual(image.config["architecture"] as? String, "amd64")
        XCTAssertEqual(image.config["os"] as? String, "linux")

        // The layer: the binary and its directories, nothing else; every entry with one fixed time.
        let listing = runProcess(["/usr/bin/tar", "--numeric-owner", "--full-time", "-tvzf", image.layerPath])
        XCTAssertExit(listing, 0)
        let rows = listing.lines.map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        XCTAssertEqual(rows.map { $0.last ?? "" }, ["usr/", "usr/local/", "usr/local/bin/", "usr/local/bin/kctr"], listing.stdout)
        XCTAssertEqual(rows.map { $0[0] }, ["drwxr-xr-x", "drwxr-xr-x", "drwxr-xr-x", "-rwxr-xr-x"], listing.stdout)
        XCTAssertEqual(Set(rows.map { $0[1] }), ["0/0"], listing.stdout)
        XCTAssertEqual(Set(rows.map { $0[3] + " " + $0[4] }).count, 1, "entries with different times:\n\(listing.stdout)")
        let layerDir = image.dir + "/layer"
        try FileManager.default.createDirectory(atPath: layerDir, withIntermediateDirectories: true)
        XCTAssertExit(runProcess(["/usr/bin/tar", "-xzf", image.layerPath, "-C", layerDir]), 0)
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: layerDir + "/usr/local/bin/kctr", andPath: bin))
        // The config's diff_id is the uncompressed layer's digest (what containerd checks on unpack).
        let diff = runProcess(["/bin/sh", "-c", "gzip -dc '\(image.layerPath)' | sha256sum"])
        let diffIDs = (image.config["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
        XCTAssertEqual(diffIDs, ["sha256:" + (diff.stdout.split(separator: " ").first.map(String.init) ?? "")])
    }

    /// The same dist/kctr gives the same archive, byte for byte (so the same digest): fixed times,
    /// sorted entries, a gzip header without name or time.
    func testReproducible() throws {
        let a = try sharedImage(), b = try makeImage("b.tar")
        XCTAssertTrue(FileManager.default.contentsEqual(atPath: a, andPath: b), "two runs of scripts/release/image.py differ")
        let listing = runProcess(["/usr/bin/tar", "--full-time", "-tvf", a])
        XCTAssertExit(listing, 0)
        let names = listing.lines.compactMap { $0.split(separator: " ").last.map(String.init) }
        XCTAssertEqual(names.first, "blobs/")
        XCTAssertEqual(Array(names.suffix(2)), ["index.json", "oci-layout"])
        let blobs = names.filter { $0.hasPrefix("blobs/sha256/") && $0 != "blobs/sha256/" }
        XCTAssertEqual(blobs.count, 3, listing.stdout)
        XCTAssertEqual(blobs, blobs.sorted())
        // A gzip header's MTIME (bytes 4-7) is zero.
        let layer = try unpack(a).layerPath
        let header = try XCTUnwrap(FileHandle(forReadingAtPath: layer)).readData(ofLength: 10)
        XCTAssertEqual(Array(header.prefix(2)), [0x1f, 0x8b])
        XCTAssertEqual(Array(header[4..<8]), [0, 0, 0, 0])
    }

    /// scripts/release/image.py refuses what is not a built kctr, saying what to do.
    func testRefusesAMissingOrForeignBinary() {
        let image = Paths.root + "/scripts/release/image.py"
        let missing = runProcess(["/usr/bin/python3", image, "--binary", scratch + "/kctr", "--out", scratch + "/x.tar"])
        XCTAssertExit(missing, 1)
        XCTAssertEqual(missing.stderr, "image: \(scratch)/kctr is missing: run `make dist` first\n")
        let foreign = runProcess(["/usr/bin/python3", image, "--binary", "/bin/true", "--out", scratch + "/x.tar"])
        XCTAssertExit(foreign, 1)
        XCTAssertTrue(foreign.stderr.hasPrefix("image: /bin/true --version printed 'true (GNU coreutils)"), foreign.stderr)
        XCTAssertTrue(foreign.stderr.hasSuffix(", not `VERSION (commit REV)`\n"), foreign.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch + "/x.tar"))
    }

    /// skopeo, an independent OCI implementation, reads the archive and pushes it to a registry
    /// (Debian's docker-registry on 127.0.0.1), where the manifest keeps its digest.
    func testSkopeoPushesItToARegistry() throws {
        let bin = try Self.distKctr()
        let (version, commit) = try Self.versionAndCommit(bin)
        let archive = try sharedImage()
        let digest = try unpack(archive).manifestDigest
        let inspect = runProcess(["/usr/bin/skopeo", "inspect", "oci-archive:" + archive])
        XCTAssertExit(inspect, 0)
        XCTAssertTrue(inspect.stdout.contains("\"org.opencontainers.image.revision\": \"\(commit)\""), inspect.stdout)

        let registry = try LocalRegistry(auth: false)
        defer { registry.stop() }
        try registry.push(archive, as: "kctr:\(version)")
        let target = "docker://\(registry.host)/kctr:\(version)"
        let pushed = runProcess(["/usr/bin/skopeo", "inspect", "--tls-verify=false", target])
        XCTAssertExit(pushed, 0)
        XCTAssertTrue(pushed.stdout.contains("\"Digest\": \"\(digest)\""), "\(digest) not in\n\(pushed.stdout)")
    }
}
