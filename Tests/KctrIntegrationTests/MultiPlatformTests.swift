import Foundation
import XCTest

/// Multi-platform images: `kctr import` and `kctr export` with the node's platform (the default),
/// `--platform` and `--all-platforms`, on archives built by MultiPlatformFixture (an index of
/// linux/amd64, linux/arm64 and linux/arm/v7, with or without arm/v7's blobs). Checked with ctr.
/// Every test works in namespaces of its own on one shared daemon.
final class MultiPlatformTests: XCTestCase {
    static let shared = SharedLab()

    override class func tearDown() { shared.stop() }

    static let name = MultiPlatformFixture.name
    static let indexType = "application/vnd.oci.image.index.v1+json"
    static let amd64 = MultiPlatformFixture.amd64, arm64 = MultiPlatformFixture.arm64, armv7 = MultiPlatformFixture.armv7

    override func setUpWithError() throws {
        #if !arch(x86_64)
        throw XCTSkip("the fixtures take linux/amd64 for the node's platform")
        #endif
    }

    /// An exported archive, extracted.
    struct Extracted {
        var dir: String
        var index: [String: Any]
        var dockerManifest: [[String: Any]]
        /// "sha256:<hex>" of every file under blobs/sha256.
        var blobs: Set<String>

        var entries: [[String: Any]] { index["manifests"] as? [[String: Any]] ?? [] }

        func doc(_ digest: String) -> [String: Any]? {
            jsonObject(file: dir + "/blobs/sha256/" + digest.dropFirst("sha256:".count)) as? [String: Any]
        }
    }

    func extract(_ archive: String, into dir: String, file: StaticString = #filePath, line: UInt = #line) throws -> Extracted {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertExit(runProcess(["/usr/bin/tar", "-xf", archive, "-C", dir]), 0, file: file, line: line)
        let index = try XCTUnwrap(jsonObject(file: dir + "/index.json") as? [String: Any], "index.json", file: file, line: line)
        let docker = jsonObject(file: dir + "/manifest.json") as? [[String: Any]] ?? []
        let sums = shell(#"cd "$0/blobs/sha256" && sha256sum -- *"#, [dir])
        XCTAssertExit(sums, 0, file: file, line: line)
        var blobs: Set<String> = []
        for l in sums.lines {
            let cols = l.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard cols.count == 2 else { continue }
            // Every blob hashes to its name.
            XCTAssertEqual(cols[0], cols[1], "blob \(cols[1]) of \(archive)", file: file, line: line)
            blobs.insert("sha256:" + cols[1])
        }
        return Extracted(dir: dir, index: index, dockerManifest: docker, blobs: blobs)
    }

    /// The platforms ("linux/arm/v7") and manifest digests an index document lists, in order.
    func listed(_ index: [String: Any]?) -> [(platform: String, digest: String)] {
        ((index?["manifests"] as? [[String: Any]]) ?? []).map { m in
            let p = m["platform"] as? [String: Any]
            var name = "\(p?["os"] as? String ?? "?")/\(p?["architecture"] as? String ?? "?")"
            if let v = p?["variant"] as? String, !v.isEmpty { name += "/\(v)" }
            return (name, m["digest"] as? String ?? "?")
        }
    }

    /// Lines of kctr's "platforms not in the archive" warning.
    func skippedWarnings(_ r: Run) -> [String] {
        r.stderr.split(separator: "\n").map(String.init).filter { $0.contains("platforms not in the archive") }
    }

    func importedJSON(_ r: Run, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        let doc = try XCTUnwrap(jsonObject(r.stdout) as? [String: Any], r.stdout, file: file, line: line)
        let images = try XCTUnwrap(doc["images"] as? [[String: Any]], r.stdout, file: file, line: line)
        XCTAssertEqual(images.count, 1, r.stdout, file: file, line: line)
        return try XCTUnwrap(images.first, file: file, line: line)
    }

    // MARK: import

    func testDefaultImportTakesTheNodePlatformAndNamesTheIndex() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.partial, in: dir)
        let amd64 = try fx.platform(Self.amd64), arm64 = try fx.platform(Self.arm64)
        let ns = uniqueNamespace("mp1")

        let r = lab.kctr(["-n", ns, "import", fx.path])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("imported 1 image name(s)"), r.stderr)
        let row = try XCTUnwrap(r.lines.first { $0.hasPrefix(Self.name + " ") }, r.stdout)
        XCTAssertTrue(row.contains(" linux/amd64 "), row)
        XCTAssertFalse(row.contains("arm"), "only the node's platform is imported by default: \(row)")
        XCTAssertTrue(row.hasSuffix("overlayfs"), row)
        // arm64 is in the archive: it was not imported because it was not asked for, not because it is missing.
        for warning in skippedWarnings(r) {
            XCTAssertFalse(warning.contains(Self.arm64), "linux/arm64 is in the archive: \(warning)")
            XCTAssertFalse(warning.contains(Self.amd64), warning)
        }

        // The record's target is the index itself.
        let target = try XCTUnwrap(lab.ctrTarget(Self.name, namespace: ns), "ctr -n \(ns) does not list \(Self.name)")
        XCTAssertEqual(target.mediaType, Self.indexType)
        XCTAssertEqual(target.digest, fx.index)

        // The index and the node platform's blobs are in the store, arm64's are not.
        let labels = lab.contentLabels(ns)
        for blob in [fx.index] + amd64.blobs { XCTAssertNotNil(labels[blob], "\(blob) not in ctr -n \(ns) content ls") }
        for blob in arm64.blobs { XCTAssertNil(labels[blob], "arm64's \(blob) was imported without being asked for") }
        XCTAssertEqual(labels[fx.index]?["containerd.io/gc.ref.content.m.0"], amd64.manifest)
        XCTAssertNil(labels[fx.index]?["containerd.io/gc.ref.content.m.1"], "\(labels[fx.index] ?? [:])")

        // kctr images ls lists every platform of the index, and the node's is unpacked.
        let list = lab.kctr(["-n", ns, "images", "ls", "-o", "json"])
        XCTAssertExit(list, 0)
        let rows = try XCTUnwrap(jsonObject(list.stdout) as? [[String: Any]], list.stdout)
        let image = try XCTUnwrap(rows.first { $0["name"] as? String == Self.name }, list.stdout)
        XCTAssertEqual(image["platforms"] as? [String], [Self.amd64, Self.arm64, Self.armv7])
        XCTAssertEqual(image["digest"] as? String, fx.index)
        XCTAssertEqual(image["mediaType"] as? String, Self.indexType)
        XCTAssertEqual(image["configDigest"] as? String, amd64.config)
        XCTAssertEqual(image["chainID"] as? String, amd64.chainID)
        XCTAssertEqual(image["unpacked"] as? Bool, true)
        XCTAssertNil(image["problem"], "\(image)")

        let chain = try XCTUnwrap(amd64.chainID)
        XCTAssertTrue(lab.hasCommittedSnapshot(chain, namespace: ns), "no committed snapshot \(chain)")
        let check = lab.ctr(["images", "check"], namespace: ns)
        let line = try XCTUnwrap(check.lines.first { $0.hasPrefix(Self.name + " ") }, check.stdout)
        XCTAssertTrue(line.contains("complete"), line)
        XCTAssertEqual(line.split(separator: " ").last, "true", line)
        lab.assertNoLeftovers(ns)
    }

    func testAllPlatformsFromAPartialArchiveImportsWhatIsThereAndNamesTheRest() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.partial, in: dir)
        let amd64 = try fx.platform(Self.amd64), arm64 = try fx.platform(Self.arm64), armv7 = try fx.platform(Self.armv7)
        let ns = uniqueNamespace("mp-part")

        let r = lab.kctr(["-n", ns, "import", "--all-platforms", fx.path])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("\(Self.name): platforms not in the archive, skipped: \(Self.armv7)"), r.stderr)
        XCTAssertEqual(skippedWarnings(r).count, 1, r.stderr)
        for warning in skippedWarnings(r) { XCTAssertFalse(warning.contains(Self.arm64), warning) }
        let row = try XCTUnwrap(r.lines.first { $0.hasPrefix(Self.name + " ") }, r.stdout)
        XCTAssertTrue(row.contains(" linux/amd64,linux/arm64 "), row)

        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: ns)?.digest, fx.index)
        let labels = lab.contentLabels(ns)
        for blob in [fx.index] + amd64.blobs + arm64.blobs { XCTAssertNotNil(labels[blob], "\(blob) not in ctr -n \(ns) content ls") }
        for blob in armv7.blobs { XCTAssertNil(labels[blob], "\(blob) is not in the archive") }
        XCTAssertEqual(labels[fx.index]?["containerd.io/gc.ref.content.m.0"], amd64.manifest)
        XCTAssertEqual(labels[fx.index]?["containerd.io/gc.ref.content.m.1"], arm64.manifest)
        XCTAssertNil(labels[fx.index]?["containerd.io/gc.ref.content.m.2"], "\(labels[fx.index] ?? [:])")
        lab.assertNoLeftovers(ns)

        // The JSON report says the same.
        let other = uniqueNamespace("mp-part-json")
        let json = lab.kctr(["-n", other, "import", "--all-platforms", "-o", "json", fx.path])
        XCTAssertExit(json, 0)
        let image = try importedJSON(json)
        XCTAssertEqual(image["platforms"] as? [String], [Self.amd64, Self.arm64])
        XCTAssertEqual(image["skippedPlatforms"] as? [String], [Self.armv7])
        XCTAssertEqual(image["digest"] as? String, fx.index)
        XCTAssertEqual(image["mediaType"] as? String, Self.indexType)
    }

    func testAllPlatformsImportsEveryPlatformButUnpacksOnlyTheNodes() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.full, in: dir)
        let amd64 = try fx.platform(Self.amd64), arm64 = try fx.platform(Self.arm64), armv7 = try fx.platform(Self.armv7)
        XCTAssertEqual(fx.absent, [])
        let ns = uniqueNamespace("mp2")

        let r = lab.kctr(["-n", ns, "import", "--all-platforms", "-o", "json", fx.path])
        XCTAssertExit(r, 0)
        XCTAssertEqual(skippedWarnings(r), [], r.stderr)
        let image = try importedJSON(r)
        XCTAssertEqual(image["platforms"] as? [String], [Self.amd64, Self.arm64, Self.armv7])
        XCTAssertEqual(image["skippedPlatforms"] as? [String], [])
        XCTAssertEqual(image["unpackedFor"] as? String, "overlayfs")

        let target = try XCTUnwrap(lab.ctrTarget(Self.name, namespace: ns))
        XCTAssertEqual(target.mediaType, Self.indexType)
        XCTAssertEqual(target.digest, fx.index)
        let labels = lab.contentLabels(ns)
        for blob in [fx.index] + amd64.blobs + arm64.blobs + armv7.blobs {
            XCTAssertNotNil(labels[blob], "\(blob) not in ctr -n \(ns) content ls")
        }
        XCTAssertNotNil(labels[arm64.config], "the arm64 config \(arm64.config) is not in the store")
        // Each manifest references its config and layers for GC, and the index each manifest.
        for (i, p) in [amd64, arm64, armv7].enumerated() {
            XCTAssertEqual(labels[fx.index]?["containerd.io/gc.ref.content.m.\(i)"], p.manifest)
            XCTAssertEqual(labels[p.manifest]?["containerd.io/gc.ref.content.config"], p.config)
            XCTAssertEqual(labels[p.manifest]?["containerd.io/gc.ref.content.l.0"], p.layers.first)
        }

        // Only the node's layer stack is unpacked: arm64's and arm/v7's chains differ from it and have no snapshot.
        let chains = try [amd64, arm64, armv7].map { try XCTUnwrap($0.chainID) }
        XCTAssertEqual(Set(chains).count, 3, "the fixture's chains should differ: \(chains)")
        XCTAssertTrue(lab.hasCommittedSnapshot(chains[0], namespace: ns), "amd64's \(chains[0]) is not unpacked")
        XCTAssertFalse(lab.hasCommittedSnapshot(chains[1], namespace: ns), "arm64's \(chains[1]) was unpacked on an amd64 node")
        XCTAssertFalse(lab.hasCommittedSnapshot(chains[2], namespace: ns), "arm/v7's \(chains[2]) was unpacked on an amd64 node")
        let snapshots = lab.ctr(["snapshots", "--snapshotter", "overlayfs", "ls"], namespace: ns)
        XCTAssertExit(snapshots, 0)
        XCTAssertEqual(snapshots.lines.dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }, [chains[0]],
                       snapshots.stdout)
        lab.assertNoLeftovers(ns)
    }

    func testPlatformArm64ImportsThatPlatformOnly() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.full, in: dir)
        let amd64 = try fx.platform(Self.amd64), arm64 = try fx.platform(Self.arm64), armv7 = try fx.platform(Self.armv7)
        let ns = uniqueNamespace("mp-arm64")

        let r = lab.kctr(["-n", ns, "import", "--platform", "linux/arm64", "-o", "json", fx.path])
        XCTAssertExit(r, 0)
        XCTAssertEqual(skippedWarnings(r), [], r.stderr)
        let image = try importedJSON(r)
        XCTAssertEqual(image["platforms"] as? [String], [Self.arm64])
        // Not the node's platform: nothing to unpack.
        XCTAssertNil(image["unpackedFor"] as? String, "\(image)")

        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: ns)?.digest, fx.index)
        let labels = lab.contentLabels(ns)
        for blob in [fx.index] + arm64.blobs { XCTAssertNotNil(labels[blob], "\(blob) not in ctr -n \(ns) content ls") }
        for blob in amd64.blobs + armv7.blobs { XCTAssertNil(labels[blob], "\(blob) was imported, but only linux/arm64 was asked for") }
        let get = lab.ctr(["content", "get", amd64.manifest], namespace: ns)
        XCTAssertNotEqual(get.status, 0, "ctr -n \(ns) content get \(amd64.manifest) found the amd64 manifest")
        XCTAssertEqual(labels[fx.index]?["containerd.io/gc.ref.content.m.0"], arm64.manifest)
        let snapshots = lab.ctr(["snapshots", "--snapshotter", "overlayfs", "ls"], namespace: ns)
        XCTAssertEqual(snapshots.lines.dropFirst().filter { !$0.isEmpty }, [], snapshots.stdout)
        lab.assertNoLeftovers(ns)
    }

    func testBadPlatformArgumentsAreUsageErrors() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.full, in: dir)
        let ns = uniqueNamespace("mp-usage")
        for bad in ["amd64", "linux/", "linux/arm/v7/extra", "/amd64"] {
            let r = lab.kctr(["-n", ns, "import", "--platform", bad, fx.path])
            XCTAssertExit(r, 64)
            XCTAssertTrue(r.stderr.contains("--platform \(bad) is not os/arch[/variant]"), "\(bad): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", bad)
        }
        let both = lab.kctr(["-n", ns, "import", "--platform", "linux/arm64", "--all-platforms", fx.path])
        XCTAssertExit(both, 64)
        XCTAssertTrue(both.stderr.contains("--all-platforms and --platform exclude each other"), both.stderr)
        XCTAssertEqual(lab.imageNames(ns), [], "a usage error imported something")
        XCTAssertEqual(lab.contentDigests(ns), [], "a usage error wrote content")

        // Export checks the same, before writing anything.
        XCTAssertExit(lab.kctr(["-n", ns, "import", "--all-platforms", fx.path]), 0)
        let out = try tempDir()
        let badExport = lab.kctr(["-n", ns, "export", "--platform", "amd64", out.file("out.tar"), Self.name])
        XCTAssertExit(badExport, 64)
        XCTAssertTrue(badExport.stderr.contains("--platform amd64 is not os/arch[/variant]"), badExport.stderr)
        let bothExport = lab.kctr(["-n", ns, "export", "--platform", "linux/arm64", "--all-platforms", out.file("out.tar"), Self.name])
        XCTAssertExit(bothExport, 64)
        XCTAssertTrue(bothExport.stderr.contains("--all-platforms and --platform exclude each other"), bothExport.stderr)
        XCTAssertEqual(out.contents, [])
    }

    /// ctr 1.6's export of an image whose other platforms were never imported holds the original index
    /// and the node's content only; kctr imports it and names the platforms it lacks.
    func testCtrExportOfPartialContentImportsAndNamesTheMissingPlatforms() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.partial, in: dir)
        let source = uniqueNamespace("mp-ctr-src"), target = uniqueNamespace("mp-ctr-dst")
        XCTAssertExit(lab.kctr(["-n", source, "import", fx.path]), 0)
        XCTAssertExit(lab.ctrExport(dir.file("ctr.tar"), [Self.name], namespace: source), 0)
        let r = lab.kctr(["-n", target, "import", "--all-platforms", dir.file("ctr.tar")])
        XCTAssertExit(r, 0)
        let warnings = skippedWarnings(r)
        XCTAssertEqual(warnings.count, 1, r.stderr)
        XCTAssertTrue(warnings.first?.contains(Self.arm64) ?? false, r.stderr)
        XCTAssertTrue(warnings.first?.contains(Self.armv7) ?? false, r.stderr)
        XCTAssertFalse(warnings.first?.contains(Self.amd64) ?? true, r.stderr)
        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: target)?.digest, fx.index)
        XCTAssertTrue(lab.hasCommittedSnapshot(try XCTUnwrap(try fx.platform(Self.amd64).chainID), namespace: target))
        lab.assertNoLeftovers(target)
    }

    func testInspectShowsEveryPlatformAndWhetherItIsPresent() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.partial, in: dir)
        let amd64 = try fx.platform(Self.amd64)
        let ns = uniqueNamespace("mp-inspect")
        XCTAssertExit(lab.kctr(["-n", ns, "import", fx.path]), 0)
        let r = lab.kctr(["-n", ns, "images", "inspect", "kctr/multi-arch:1.0"])
        XCTAssertExit(r, 0)
        let items = try XCTUnwrap(jsonObject(r.stdout) as? [[String: Any]], r.stdout)
        XCTAssertEqual(items.count, 1)
        let item = try XCTUnwrap(items.first)
        XCTAssertEqual(item["name"] as? String, Self.name)
        XCTAssertEqual((item["target"] as? [String: Any])?["digest"] as? String, fx.index)
        XCTAssertEqual((item["target"] as? [String: Any])?["mediaType"] as? String, Self.indexType)
        let index = try XCTUnwrap(item["index"] as? [String: Any], r.stdout)
        XCTAssertEqual(listed(index).map(\.platform), [Self.amd64, Self.arm64, Self.armv7])
        let manifests = try XCTUnwrap(item["manifests"] as? [[String: Any]], r.stdout)
        XCTAssertEqual(manifests.compactMap { $0["platform"] as? String }, [Self.amd64, Self.arm64, Self.armv7])
        XCTAssertEqual(manifests.map { $0["present"] as? Bool }, [true, false, false])
        XCTAssertEqual(manifests.first?["configDigest"] as? String, amd64.config)
        XCTAssertEqual((manifests.first?["layers"] as? [[String: Any]])?.compactMap { $0["digest"] as? String }, amd64.layers)
        XCTAssertEqual(manifests.first?["chainID"] as? String, amd64.chainID)
        XCTAssertEqual(manifests.first?["unpacked"] as? Bool, true)
    }

    // MARK: export

    func testDefaultExportWritesANewIndexOfTheNodePlatformThatReimports() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.full, in: dir)
        let amd64 = try fx.platform(Self.amd64)
        let ns = uniqueNamespace("mp-exp")
        XCTAssertExit(lab.kctr(["-n", ns, "import", "--all-platforms", fx.path]), 0)

        let out = dir.file("out.tar")
        let r = lab.kctr(["-n", ns, "export", out, Self.name])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stderr.contains("exported 1 image(s), 4 blob(s)"), r.stderr)
        let x = try extract(out, into: dir.file("x"))
        XCTAssertEqual(x.entries.count, 1, "\(x.index)")
        let entry = try XCTUnwrap(x.entries.first)
        XCTAssertEqual(entry["mediaType"] as? String, Self.indexType)
        XCTAssertEqual((entry["annotations"] as? [String: String])?["io.containerd.image.name"], Self.name)
        let newIndex = try XCTUnwrap(entry["digest"] as? String)
        XCTAssertNotEqual(newIndex, fx.index, "the exported index must not be the original, which lists three platforms")
        // The new index lists only linux/amd64, and the archive holds exactly what that needs.
        let listing = listed(x.doc(newIndex))
        XCTAssertEqual(listing.map(\.platform), [Self.amd64])
        XCTAssertEqual(listing.map(\.digest), [amd64.manifest])
        XCTAssertEqual(x.blobs, Set([newIndex] + amd64.blobs))
        XCTAssertEqual(x.dockerManifest.count, 1)
        XCTAssertEqual(x.dockerManifest.first?["RepoTags"] as? [String], [Self.name])
        XCTAssertEqual(x.dockerManifest.first?["Config"] as? String, "blobs/sha256/" + amd64.config.dropFirst("sha256:".count))

        // kctr imports it back: the new index is the record's target, unpacked, nothing skipped.
        let back = uniqueNamespace("mp-exp-kctr")
        let again = lab.kctr(["-n", back, "import", out])
        XCTAssertExit(again, 0)
        XCTAssertEqual(skippedWarnings(again), [], again.stderr)
        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: back)?.digest, newIndex)
        XCTAssertTrue(lab.hasCommittedSnapshot(try XCTUnwrap(amd64.chainID), namespace: back))
        lab.assertNoLeftovers(back)

        // So does ctr.
        let viaCtr = uniqueNamespace("mp-exp-ctr")
        let imported = lab.ctr(["images", "import", out], namespace: viaCtr)
        XCTAssertExit(imported, 0)
        let target = try XCTUnwrap(lab.ctrTarget(Self.name, namespace: viaCtr), "ctr did not import \(Self.name)")
        XCTAssertEqual(target.digest, newIndex)
        XCTAssertEqual(target.mediaType, Self.indexType)
        let check = lab.ctr(["images", "check"], namespace: viaCtr)
        let line = try XCTUnwrap(check.lines.first { $0.hasPrefix(Self.name + " ") }, check.stdout)
        XCTAssertTrue(line.contains("complete"), line)
    }

    func testAllPlatformsExportKeepsTheOriginalIndex() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.full, in: dir)
        let all = try [Self.amd64, Self.arm64, Self.armv7].map { try fx.platform($0) }
        let ns = uniqueNamespace("mp-exp-all")
        XCTAssertExit(lab.kctr(["-n", ns, "import", "--all-platforms", fx.path]), 0)

        let out = dir.file("all.tar")
        let r = lab.kctr(["-n", ns, "export", "--all-platforms", out, Self.name])
        XCTAssertExit(r, 0)
        XCTAssertFalse(r.stderr.contains("skipped"), r.stderr)
        let x = try extract(out, into: dir.file("x"))
        XCTAssertEqual(x.entries.count, 1)
        XCTAssertEqual(x.entries.first?["digest"] as? String, fx.index)
        XCTAssertEqual(x.entries.first?["size"] as? Int, fx.indexSize)
        XCTAssertEqual(x.blobs, Set([fx.index] + all.flatMap(\.blobs)))
        XCTAssertEqual(listed(x.doc(fx.index)).map(\.platform), [Self.amd64, Self.arm64, Self.armv7])

        let back = uniqueNamespace("mp-exp-all-kctr")
        let again = lab.kctr(["-n", back, "import", "--all-platforms", out])
        XCTAssertExit(again, 0)
        XCTAssertEqual(skippedWarnings(again), [], again.stderr)
        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: back)?.digest, fx.index)
        let labels = lab.contentLabels(back)
        for blob in all.flatMap(\.blobs) { XCTAssertNotNil(labels[blob], "\(blob) not re-imported") }
        let viaCtr = uniqueNamespace("mp-exp-all-ctr")
        XCTAssertExit(lab.ctr(["images", "import", "--all-platforms", out], namespace: viaCtr), 0)
        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: viaCtr)?.digest, fx.index)
    }

    func testPlatformArm64ExportHoldsArm64Only() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.full, in: dir)
        let amd64 = try fx.platform(Self.amd64), arm64 = try fx.platform(Self.arm64)
        let ns = uniqueNamespace("mp-exp-arm")
        XCTAssertExit(lab.kctr(["-n", ns, "import", "--all-platforms", fx.path]), 0)

        let out = dir.file("arm64.tar")
        let r = lab.kctr(["-n", ns, "export", "--platform", "linux/arm64", out, Self.name])
        XCTAssertExit(r, 0)
        let x = try extract(out, into: dir.file("x"))
        let newIndex = try XCTUnwrap(x.entries.first?["digest"] as? String)
        XCTAssertEqual(x.entries.count, 1)
        XCTAssertNotEqual(newIndex, fx.index)
        let listing = listed(x.doc(newIndex))
        XCTAssertEqual(listing.map(\.platform), [Self.arm64])
        XCTAssertEqual(listing.map(\.digest), [arm64.manifest])
        XCTAssertEqual(x.blobs, Set([newIndex] + arm64.blobs))
        for blob in amd64.blobs { XCTAssertFalse(x.blobs.contains(blob), "amd64's \(blob) was exported") }
        // Docker's manifest.json must not point at blobs the archive does not hold.
        for entry in x.dockerManifest {
            for path in [entry["Config"] as? String ?? ""] + (entry["Layers"] as? [String] ?? []) {
                XCTAssertTrue(x.blobs.contains("sha256:" + path.dropFirst("blobs/sha256/".count)), "manifest.json names \(path)")
            }
        }

        let back = uniqueNamespace("mp-exp-arm-kctr")
        let again = lab.kctr(["-n", back, "import", "--platform", "linux/arm64", out])
        XCTAssertExit(again, 0)
        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: back)?.digest, newIndex)
        let labels = lab.contentLabels(back)
        for blob in arm64.blobs { XCTAssertNotNil(labels[blob], "\(blob) not re-imported") }
    }

    func testExportOfAMissingPlatformFailsUnlessSkipMissing() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let fx = try MultiPlatformFixture.make(.partial, in: dir)
        let amd64 = try fx.platform(Self.amd64), arm64 = try fx.platform(Self.arm64), armv7 = try fx.platform(Self.armv7)
        let ns = uniqueNamespace("mp-exp-miss")
        XCTAssertExit(lab.kctr(["-n", ns, "import", "--all-platforms", fx.path]), 0)

        let out = try tempDir()
        let r = lab.kctr(["-n", ns, "export", "--all-platforms", out.file("out.tar"), Self.name])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("cannot export \(Self.name): platform \(Self.armv7) needs \(armv7.manifest)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--skip-missing"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(out.contents, [], "a failed export left files behind")

        // The node's platform alone is complete.
        XCTAssertExit(lab.kctr(["-n", ns, "export", out.file("node.tar"), Self.name]), 0)

        let skip = lab.kctr(["-n", ns, "export", "--all-platforms", "--skip-missing", out.file("skip.tar"), Self.name])
        XCTAssertExit(skip, 0)
        XCTAssertTrue(skip.stderr.contains("warning"), skip.stderr)
        XCTAssertTrue(skip.stderr.contains("\(Self.name): skipped \(Self.armv7) (\(armv7.manifest) missing)"), skip.stderr)
        let x = try extract(out.file("skip.tar"), into: dir.file("x"))
        let newIndex = try XCTUnwrap(x.entries.first?["digest"] as? String)
        XCTAssertNotEqual(newIndex, fx.index)
        XCTAssertEqual(listed(x.doc(newIndex)).map(\.platform), [Self.amd64, Self.arm64])
        XCTAssertEqual(x.blobs, Set([newIndex] + amd64.blobs + arm64.blobs))

        // It re-imports completely, with ctr and with kctr.
        let viaCtr = uniqueNamespace("mp-exp-miss-ctr")
        XCTAssertExit(lab.ctr(["images", "import", out.file("skip.tar")], namespace: viaCtr), 0)
        XCTAssertEqual(lab.ctrTarget(Self.name, namespace: viaCtr)?.digest, newIndex)
        let back = uniqueNamespace("mp-exp-miss-kctr")
        let again = lab.kctr(["-n", back, "import", "--all-platforms", out.file("skip.tar")])
        XCTAssertExit(again, 0)
        XCTAssertEqual(skippedWarnings(again), [], again.stderr)
    }
}
