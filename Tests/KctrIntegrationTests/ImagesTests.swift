import Foundation
import XCTest

/// `kctr images ls` against a private containerd, checked with ctr.
final class ImagesTests: XCTestCase {
    static let shared = SharedLab { lab in
        let r = lab.ctr(["images", "import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("ctr import failed: \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    func testQuietListMatchesCtr() throws {
        let lab = try Self.shared.get()
        let ctrNames = lab.ctr(["images", "ls", "-q"]).lines.sorted()
        XCTAssertTrue(ctrNames.contains("docker.io/library/busybox:kctr-test"), "\(ctrNames)")

        let all = lab.kctr(["images", "ls", "-q", "--all"])
        XCTAssertExit(all, 0)
        XCTAssertEqual(all.lines.sorted(), ctrNames)

        let plain = lab.kctr(["images", "ls", "-q"])
        XCTAssertExit(plain, 0)
        XCTAssertEqual(plain.lines, ctrNames.filter { !$0.hasPrefix("sha256:") })
        XCTAssertEqual(plain.lines.count, 3)
    }

    func testGlobalFlagsBeforeTheCommandLikeCtr() throws {
        let lab = try Self.shared.get()
        let r = runProcess([Paths.kctr, "-a", lab.socket, "-n", "k8s.io", "images", "-q"])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.lines.count, 3)
    }

    func testJSONFieldsAgreeWithCtrAndTheSnapshotter() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["images", "ls", "-o", "json"])
        XCTAssertExit(r, 0)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(rows.map { $0["name"] as? String }, [
            "docker.io/kctr/multi:1.0", "docker.io/library/busybox:kctr-test", "registry.k8s.io/pause:3.9",
        ])
        // ctr's table: REF TYPE DIGEST SIZE PLATFORMS LABELS
        var ctrDigest: [String: String] = [:]
        for line in lab.ctr(["images", "ls"]).lines.dropFirst() {
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if cols.count >= 3 { ctrDigest[cols[0]] = cols[2] }
        }
        for row in rows {
            let name = try XCTUnwrap(row["name"] as? String)
            XCTAssertEqual(row["digest"] as? String, ctrDigest[name], name)
            XCTAssertEqual(row["platforms"] as? [String], ["linux/amd64"], name)
            XCTAssertEqual(row["unpacked"] as? Bool, true, name)
            XCTAssertEqual(row["snapshotter"] as? String, "overlayfs")
            let cri = try XCTUnwrap(row["cri"] as? [String: Any], name)
            XCTAssertEqual(cri["known"] as? Bool, true, name)
            XCTAssertEqual(cri["id"] as? String, row["configDigest"] as? String, name)
            XCTAssertGreaterThan((row["size"] as? Int) ?? 0, 100_000, name)
            // The snapshot kctr calls unpacked exists for ctr too.
            let chain = try XCTUnwrap(row["chainID"] as? String, name)
            XCTAssertExit(lab.ctr(["snapshots", "--snapshotter", "overlayfs", "info", chain]), 0)
        }
    }

    /// ImageFactsCache: no cache, a cold one, a warm one, a corrupt one and one another user owns give the
    /// same listing; only a cold (or refused) cache reads the image blobs.
    func testImageCacheGivesTheListingOfNoCache() throws {
        let lab = try Self.shared.get()
        let dir = NSTemporaryDirectory() + "kctr-cache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let list = ["--debug", "images", "ls", "-o", "json"]
        let none = lab.kctr(list, env: ["KCTR_CACHE_DIR": ""])
        XCTAssertExit(none, 0)
        XCTAssertFalse(none.stderr.contains("image cache"), none.stderr)
        // Without the listing a settled daemon lets kctr keep (ImageListCache): this test is about the facts.
        let listFile = dir + "/image-list.k8s.io"
        let cold = lab.kctr(list, env: ["KCTR_CACHE_DIR": dir])
        try? FileManager.default.removeItem(atPath: listFile)
        let warm = lab.kctr(list, env: ["KCTR_CACHE_DIR": dir])
        try? FileManager.default.removeItem(atPath: listFile)
        for r in [cold, warm] {
            XCTAssertExit(r, 0)
            XCTAssertEqual(r.stdout, none.stdout)
        }
        XCTAssertTrue(cold.stderr.contains("image cache \(dir): 0 of 3 image(s) known"), cold.stderr)
        XCTAssertTrue(cold.stderr.contains("Content/Read"), cold.stderr)
        XCTAssertTrue(warm.stderr.contains("image cache \(dir): 3 of 3 image(s) known"), warm.stderr)
        XCTAssertFalse(warm.stderr.contains("Content/Read"), warm.stderr)
        XCTAssertFalse(warm.stderr.contains("Snapshots/Stat"), warm.stderr)

        let file = dir + "/image-facts"
        try "kctr-image-facts 2 linux/amd64\nsha256:nonsense 1 2 3 - linux/amd64\n".write(toFile: file, atomically: false, encoding: .utf8)
        let corrupt = lab.kctr(list, env: ["KCTR_CACHE_DIR": dir])
        XCTAssertExit(corrupt, 0)
        XCTAssertEqual(corrupt.stdout, none.stdout)
        XCTAssertTrue(corrupt.stderr.contains("image cache: \(file): 1 malformed line(s) ignored"), corrupt.stderr)
        try? FileManager.default.removeItem(atPath: listFile)
        XCTAssertTrue(lab.kctr(list, env: ["KCTR_CACHE_DIR": dir]).stderr.contains("3 of 3 image(s) known"), "rewritten")
        try? FileManager.default.removeItem(atPath: listFile)

        XCTAssertEqual(chown(file, 4242, 4242), 0)
        let foreign = lab.kctr(list, env: ["KCTR_CACHE_DIR": dir])
        XCTAssertExit(foreign, 0)
        XCTAssertEqual(foreign.stdout, none.stdout)
        XCTAssertTrue(foreign.stderr.contains("image cache: \(file) belongs to uid 4242, not 0: ignored"), foreign.stderr)
        XCTAssertTrue(foreign.stderr.contains("Content/Read"), foreign.stderr)
    }

    /// ImageListCache: while containerd writes nothing to its metadata, a listing is kept and the next one
    /// makes no call and prints the same document; a tag or a removal by another tool shows at once.
    func testListingIsKeptWhileContainerdWritesNothing() throws {
        let lab = try Self.shared.get()
        let dir = NSTemporaryDirectory() + "kctr-list-cache-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["KCTR_CACHE_DIR": dir]
        let list = ["--debug", "images", "ls", "-o", "json"]
        let none = lab.kctr(list, env: ["KCTR_CACHE_DIR": ""])
        XCTAssertExit(none, 0)
        // A reading is kept only when the metadata file was left alone for a second before it.
        Thread.sleep(forTimeInterval: 1.2)
        let first = lab.kctr(list, env: env)
        XCTAssertExit(first, 0)
        XCTAssertTrue(first.stderr.contains("rpc /containerd.services.images.v1.Images/List"), first.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/image-list.k8s.io"), first.stderr)
        let kept = lab.kctr(list, env: env)
        XCTAssertExit(kept, 0)
        XCTAssertEqual(kept.stdout, none.stdout)
        XCTAssertTrue(kept.stderr.contains("image list cache: containerd (pid "), kept.stderr)
        XCTAssertFalse(kept.stderr.contains("rpc /"), "a kept listing makes no call: \(kept.stderr)")
        XCTAssertEqual(lab.kctr(["images", "ls"], env: env).stdout, lab.kctr(["images", "ls"], env: ["KCTR_CACHE_DIR": ""]).stdout)

        XCTAssertExit(lab.ctr(["images", "tag", "docker.io/library/busybox:kctr-test", "docker.io/library/busybox:kept-listing"]), 0)
        defer { _ = lab.ctr(["images", "rm", "docker.io/library/busybox:kept-listing"]) }
        let tagged = lab.kctr(["--debug", "images", "ls", "-q"], env: env)
        XCTAssertExit(tagged, 0)
        XCTAssertTrue(tagged.lines.contains("docker.io/library/busybox:kept-listing"), tagged.stdout)
        XCTAssertFalse(tagged.stderr.contains("image list cache: containerd (pid "), tagged.stderr)
        let table = lab.kctr(["--debug", "images", "ls"], env: env)
        XCTAssertTrue(table.stdout.contains("docker.io/library/busybox:kept-listing"), table.stdout)
        XCTAssertExit(lab.ctr(["images", "rm", "docker.io/library/busybox:kept-listing"]), 0)
        XCTAssertFalse(lab.kctr(["images", "ls", "-q"], env: env).lines.contains("docker.io/library/busybox:kept-listing"))
    }

    /// A known image whose config blob left the namespace is read again: `content missing`, as without a cache.
    func testImageCacheStillReportsMissingContent() throws {
        let lab = try Self.shared.get()
        let ns = "cache-missing"
        XCTAssertExit(lab.ctr(["images", "import", try TestImages.path("busybox.oci.tar")], namespace: ns), 0)
        let warm = lab.kctr(["-n", ns, "images", "ls", "-o", "json"])
        XCTAssertExit(warm, 0)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(warm.stdout.utf8)) as? [[String: Any]])
        let config = try XCTUnwrap(rows.first?["configDigest"] as? String)
        XCTAssertExit(lab.ctr(["content", "rm", config], namespace: ns), 0)
        let r = lab.kctr(["--debug", "-n", ns, "images", "ls"])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("image cache: 1 known image(s) miss a blob in the namespace: read again"), r.stderr)
        XCTAssertTrue(r.stderr.contains("kctr: warning: docker.io/library/busybox:kctr-test: content missing: "), r.stderr)
    }

    func testTableShowsCRIColumnsAndDigestNamesOnlyWithAll() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["images"])
        XCTAssertExit(r, 0)
        let header = try XCTUnwrap(r.lines.first)
        XCTAssertEqual(header.split(separator: " ", omittingEmptySubsequences: true),
                       ["REF", "DIGEST", "SIZE", "PLATFORMS", "CRI", "PINNED", "UNPACKED"])
        XCTAssertFalse(r.stdout.contains("\nsha256:"))
        XCTAssertTrue(r.stdout.contains("registry.k8s.io/pause:3.9"))
        XCTAssertTrue(r.lines[1].contains("yes (overlayfs)"), r.lines[1])
        let all = lab.kctr(["images", "ls", "--all"])
        XCTAssertEqual(all.lines.filter { $0.hasPrefix("sha256:") }.count, 3)
        let noTrunc = lab.kctr(["images", "ls", "--no-trunc", "busybox"])
        XCTAssertExit(noTrunc, 0)
        XCTAssertEqual(noTrunc.lines.count, 2)
        XCTAssertTrue(noTrunc.lines[1].range(of: "sha256:[0-9a-f]{64}", options: .regularExpression) != nil, noTrunc.stdout)
    }

    func testPatternFilterAndYAML() throws {
        let lab = try Self.shared.get()
        XCTAssertEqual(lab.kctr(["images", "ls", "-q", "busybox"]).lines, ["docker.io/library/busybox:kctr-test"])
        XCTAssertEqual(lab.kctr(["images", "ls", "-q", "docker.io/*"]).lines,
                       ["docker.io/kctr/multi:1.0", "docker.io/library/busybox:kctr-test"])
        XCTAssertEqual(lab.kctr(["images", "ls", "-q", "nothing-like-this"]).stdout, "")
        let yaml = lab.kctr(["images", "ls", "-o", "yaml", "pause"])
        XCTAssertExit(yaml, 0)
        XCTAssertTrue(yaml.stdout.contains("name: registry.k8s.io/pause:3.9"), yaml.stdout)
    }

    func testOtherNamespaceHasNoCRIColumns() throws {
        let lab = try Self.shared.get()
        XCTAssertExit(lab.ctr(["images", "import", try TestImages.path("busybox.docker.tar")], namespace: "other"), 0)
        let r = lab.kctr(["-n", "other", "images", "ls"])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.lines.first?.split(separator: " ", omittingEmptySubsequences: true),
                       ["REF", "DIGEST", "SIZE", "PLATFORMS", "UNPACKED"])
        XCTAssertEqual(r.lines.count, 2)
        let env = lab.kctr(["images", "ls", "-q"], env: ["CONTAINERD_NAMESPACE": "other"])
        XCTAssertEqual(env.lines, ["docker.io/library/busybox:kctr-test"])
    }

    func testNamespacesAndPlugins() throws {
        let lab = try Self.shared.get()
        let ns = lab.kctr(["namespaces", "ls", "-q"])
        XCTAssertExit(ns, 0)
        XCTAssertEqual(ns.lines, lab.ctr(["namespaces", "ls", "-q"]).lines.sorted())
        let plugins = lab.kctr(["plugins", "ls", "-o", "json"])
        XCTAssertExit(plugins, 0)
        let rows = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(plugins.stdout.utf8)) as? [[String: Any]])
        let cri = rows.first { $0["type"] as? String == "io.containerd.grpc.v1" && $0["id"] as? String == "cri" }
        XCTAssertEqual(cri?["status"] as? String, "ok")
        XCTAssertEqual(rows.count, lab.ctr(["plugins", "ls", "-q"]).lines.count)
        let filtered = lab.kctr(["plugins", "ls", "-q", "type==io.containerd.snapshotter.v1"])
        XCTAssertExit(filtered, 0)
        XCTAssertTrue(filtered.lines.contains("io.containerd.snapshotter.v1.overlayfs"), filtered.stdout)
        XCTAssertTrue(filtered.lines.allSatisfy { $0.hasPrefix("io.containerd.snapshotter.v1.") }, filtered.stdout)
    }

    func testVersionAndInfo() throws {
        let lab = try Self.shared.get()
        let server = runProcess([lab.ctrPath, "--address", lab.socket, "version"]).stdout
        let v = lab.kctr(["version", "-o", "json"])
        XCTAssertExit(v, 0)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(v.stdout.utf8)) as? [String: Any])
        let containerd = try XCTUnwrap(doc["containerd"] as? [String: Any])
        let version = try XCTUnwrap(containerd["version"] as? String)
        XCTAssertTrue(server.contains("Version:  \(version)"), "ctr says \(server)")
        let cri = try XCTUnwrap(doc["cri"] as? [String: Any])
        XCTAssertEqual(cri["runtimeName"] as? String, "containerd")
        XCTAssertEqual(cri["runtimeApiVersion"] as? String, "v1")

        let text = lab.kctr(["version"])
        XCTAssertExit(text, 0)
        XCTAssertTrue(text.stdout.contains("RuntimeApiVersion:   v1"), text.stdout)

        let info = lab.kctr(["info", "-o", "json"])
        XCTAssertExit(info, 0)
        let i = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        // crictl's document: the status and the verbose info at the top, kctr's summary under kctr.
        XCTAssertNotNil(i["config"] as? [String: Any], info.stdout)
        let runtime = try XCTUnwrap((i["kctr"] as? [String: Any])?["runtime"] as? [String: Any])
        // 2.x reports the snapshotter only through ImageFsInfo, and the sandbox image nowhere in its status.
        XCTAssertEqual(runtime["snapshotter"] as? String, "overlayfs")
        XCTAssertEqual(runtime["sandboxImage"] as? String, lab.version.major >= 2 ? nil : "registry.k8s.io/pause:3.9")
        XCTAssertEqual(runtime["cniConfDir"] as? String, lab.base + "/net.d")
        let runtimes = try XCTUnwrap(runtime["runtimes"] as? [[String: Any]])
        XCTAssertEqual(runtimes.first?["name"] as? String, "runc")
        XCTAssertEqual(runtimes.first?["systemdCgroup"] as? Bool, false)
        let conditions = try XCTUnwrap((i["status"] as? [String: Any])?["conditions"] as? [[String: Any]])
        XCTAssertEqual(conditions.first { $0["type"] as? String == "RuntimeReady" }?["status"] as? Bool, true)
        // No CNI config in the lab: the reason is shown, as the kubelet would see it.
        let network = conditions.first { $0["type"] as? String == "NetworkReady" }
        XCTAssertEqual(network?["status"] as? Bool, false)
        XCTAssertEqual(network?["reason"] as? String, "NetworkPluginNotReady")

        let table = lab.kctr(["info"])
        XCTAssertTrue(table.stdout.contains("Snapshotter:     overlayfs"), table.stdout)
        XCTAssertTrue(table.stdout.contains("io.containerd.runc.v2"), table.stdout)
        XCTAssertTrue(table.stdout.contains("cni plugin not initialized"), table.stdout)
        if lab.version.major >= 2 {
            XCTAssertTrue(table.stdout.contains("Sandbox image:   - (containerd 2.x does not report it"), table.stdout)
        }
    }

    func testDebugLogsEachCall() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["--debug", "version"])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("endpoint \(lab.socket) (from --address)"), r.stderr)
        XCTAssertTrue(r.stderr.range(of: "rpc /containerd.services.version.v1.Version/Version [0-9.]+ms OK",
                                     options: .regularExpression) != nil, r.stderr)
        XCTAssertTrue(r.stderr.contains("rpc /runtime.v1.RuntimeService/Version"), r.stderr)
    }
}

