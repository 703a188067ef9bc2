import Foundation
import XCTest

/// `kctr export` against a private containerd whose images ctr imported; the archives are checked with tar,
/// sha256sum, skopeo and umoci, and against what ctr reads from the content store.
final class ExportTests: XCTestCase {
    static let shared = SharedLab { lab in
        let r = lab.ctr(["images", "import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("ctr import failed: \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    static let busybox = "docker.io/library/busybox:kctr-test"
    static let pause = "registry.k8s.io/pause:3.9"

    /// What an exported archive holds once extracted.
    struct Layout {
        var members: [String]
        var index: [String: Any]
        var dockerManifest: [[String: Any]]
        /// file name under blobs/sha256 -> its sha256 (hex), from sha256sum.
        var blobSums: [String: String]

        var manifests: [[String: Any]] { index["manifests"] as? [[String: Any]] ?? [] }

        /// io.containerd.image.name -> digest, from index.json.
        var named: [String: String] {
            var out: [String: String] = [:]
            for m in manifests {
                if let name = (m["annotations"] as? [String: String])?["io.containerd.image.name"], let d = m["digest"] as? String {
                    out[name] = d
                }
            }
            return out
        }
    }

    func extract(_ archive: String, into dir: String, file: StaticString = #filePath, line: UInt = #line) throws -> Layout {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let list = runProcess(["/usr/bin/tar", "-tf", archive])
        XCTAssertExit(list, 0, file: file, line: line)
        let x = runProcess(["/usr/bin/tar", "-xf", archive, "-C", dir])
        XCTAssertExit(x, 0, file: file, line: line)
        let index = try XCTUnwrap(jsonObject(file: dir + "/index.json") as? [String: Any], "index.json", file: file, line: line)
        let docker = try XCTUnwrap(jsonObject(file: dir + "/manifest.json") as? [[String: Any]], "manifest.json", file: file, line: line)
        let sums = shell(#"cd "$0/blobs/sha256" && sha256sum -- *"#, [dir])
        XCTAssertExit(sums, 0, file: file, line: line)
        var blobSums: [String: String] = [:]
        for l in sums.lines {
            let cols = l.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cols.count == 2 { blobSums[cols[1]] = cols[0] }
        }
        return Layout(members: list.lines, index: index, dockerManifest: docker, blobSums: blobSums)
    }

    /// The checks every export of busybox and pause must pass.
    func assertBusyboxAndPause(_ layout: Layout, dir: String, lab: Lab, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(layout.members.contains("oci-layout"), "\(layout.members)", file: file, line: line)
        let ociLayout = jsonObject(file: dir + "/oci-layout") as? [String: Any]
        XCTAssertEqual(ociLayout?["imageLayoutVersion"] as? String, "1.0.0", file: file, line: line)
        XCTAssertEqual(layout.index["schemaVersion"] as? Int, 2, file: file, line: line)
        XCTAssertEqual(layout.manifests.count, 2, file: file, line: line)
        let ctrDigests = lab.imageDigests("k8s.io")
        XCTAssertEqual(layout.named, [Self.busybox: ctrDigests[Self.busybox] ?? "?", Self.pause: ctrDigests[Self.pause] ?? "?"],
                       file: file, line: line)

        // Every blob's content hashes to its name, and the blobs are exactly what the two images need.
        XCTAssertFalse(layout.blobSums.isEmpty, file: file, line: line)
        for (name, sum) in layout.blobSums { XCTAssertEqual(sum, name, "blob \(name)", file: file, line: line) }
        var needed: Set<String> = []
        var dockerByTag: [String: [String: Any]] = [:]
        for entry in layout.dockerManifest {
            for tag in entry["RepoTags"] as? [String] ?? [] { dockerByTag[tag] = entry }
        }
        XCTAssertEqual(layout.dockerManifest.count, 2, file: file, line: line)
        for name in [Self.busybox, Self.pause] {
            let image = try lab.ctrImage(name, namespace: "k8s.io")
            needed.formUnion(image.blobs.map { String($0.dropFirst("sha256:".count)) })
            let entry = try XCTUnwrap(dockerByTag[name], "manifest.json has no RepoTags \(name)", file: file, line: line)
            XCTAssertEqual(entry["Config"] as? String, "blobs/sha256/" + image.config.dropFirst("sha256:".count), file: file, line: line)
            XCTAssertEqual(entry["Layers"] as? [String], image.layers.map { "blobs/sha256/" + $0.dropFirst("sha256:".count) },
                           file: file, line: line)
        }
        XCTAssertEqual(Set(layout.blobSums.keys), needed, file: file, line: line)
    }

    func testTwoImagesToAFile() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let out = dir.file("out.tar")
        let r = lab.kctr(["export", out, Self.busybox, Self.pause])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("exported 2 image(s)"), r.stderr)
        XCTAssertEqual(dir.contents, ["out.tar"], "temp files left beside the output")
        let layout = try extract(out, into: dir.file("x"))
        try assertBusyboxAndPause(layout, dir: dir.file("x"), lab: lab)

        // skopeo reads it: as an OCI archive (by the ref.name tag) and as a docker archive (by RepoTags).
        let digests = lab.imageDigests("k8s.io")
        for (tag, name) in [("kctr-test", Self.busybox), ("3.9", Self.pause)] {
            let oci = runProcess(["/usr/bin/skopeo", "--insecure-policy", "--tmpdir", dir.path, "inspect", "oci-archive:\(out):\(tag)"])
            XCTAssertExit(oci, 0)
            XCTAssertEqual((jsonObject(oci.stdout) as? [String: Any])?["Digest"] as? String, digests[name], oci.stdout)
            let docker = runProcess(["/usr/bin/skopeo", "--insecure-policy", "--tmpdir", dir.path, "inspect", "docker-archive:\(out):\(name)"])
            XCTAssertExit(docker, 0)
            let layers = (jsonObject(docker.stdout) as? [String: Any])?["Layers"] as? [String]
            XCTAssertEqual(layers?.count, 1, docker.stdout)
        }
        // umoci reads the extracted layout too.
        let umoci = runProcess(["/usr/bin/umoci", "stat", "--image", dir.file("x") + ":3.9"])
        XCTAssertExit(umoci, 0)
    }

    /// The archive's mode is what `>` would give under kctr's umask (0640 under 027), not a fixed 0644.
    func testOutputModeHonoursTheUmask() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let out = dir.file("out.tar")
        let r = runProcess(["/bin/sh", "-c", "umask 027; exec \"$0\" --address \"$1\" export \"$2\" \"$3\"",
                            Paths.kctr, lab.socket, out, Self.pause])
        XCTAssertExit(r, 0)
        let mode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? NSNumber)
        XCTAssertEqual(mode.intValue, 0o640)
        XCTAssertEqual(dir.contents, ["out.tar"])
    }

    func testStandardOutputGivesTheSameArchive() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        XCTAssertExit(lab.kctr(["export", dir.file("file.tar"), Self.busybox, Self.pause]), 0)
        let r = shell(#"exec "$0" --address "$1" export - "$2" "$3" > "$4""#,
                      [Paths.kctr, lab.socket, Self.busybox, Self.pause, dir.file("stdout.tar")])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("to standard output"), r.stderr)
        let fromFile = try extract(dir.file("file.tar"), into: dir.file("a"))
        let fromStdout = try extract(dir.file("stdout.tar"), into: dir.file("b"))
        XCTAssertEqual(fromStdout.members, fromFile.members)
        try assertBusyboxAndPause(fromStdout, dir: dir.file("b"), lab: lab)
    }

    func testUnknownImageLeavesNoFile() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let r = lab.kctr(["export", dir.file("out.tar"), "example.com/nothing/here:1"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("not found in namespace k8s.io"), r.stderr)
        XCTAssertTrue(r.stderr.contains("example.com/nothing/here:1"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(dir.contents, [])
        // A known image before the unknown one does not produce a partial archive either.
        let mixed = lab.kctr(["export", dir.file("out.tar"), Self.pause, "example.com/nothing/here:1"])
        XCTAssertExit(mixed, 1)
        XCTAssertTrue(mixed.stderr.contains("not found in namespace k8s.io"), mixed.stderr)
        XCTAssertEqual(dir.contents, [])
        // Nor does an existing output get replaced.
        try "keep".write(toFile: dir.file("out.tar"), atomically: true, encoding: .utf8)
        XCTAssertExit(lab.kctr(["export", dir.file("out.tar"), "example.com/nothing/here:1"]), 1)
        XCTAssertEqual(dir.contents, ["out.tar"])
        XCTAssertEqual(try String(contentsOfFile: dir.file("out.tar"), encoding: .utf8), "keep")
    }

    func testMissingDirectoryIsNamed() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let missing = dir.file("no/such/dir")
        let r = lab.kctr(["export", missing + "/out.tar", Self.pause])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains(missing), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(dir.contents, [])
    }

    func testShortNames() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let out = dir.file("out.tar")
        let r = lab.kctr(["export", out, "pause:3.9"])
        XCTAssertExit(r, 0)
        let layout = try extract(out, into: dir.file("x"))
        XCTAssertEqual(layout.named, [Self.pause: lab.imageDigests("k8s.io")[Self.pause] ?? "?"])
        XCTAssertEqual(layout.dockerManifest.first?["RepoTags"] as? [String], [Self.pause])
        // A docker.io short form too.
        let bb = lab.kctr(["export", dir.file("bb.tar"), "busybox:kctr-test"])
        XCTAssertExit(bb, 0)
        let bbLayout = try extract(dir.file("bb.tar"), into: dir.file("y"))
        XCTAssertEqual(Array(bbLayout.named.keys), [Self.busybox])
    }
}
