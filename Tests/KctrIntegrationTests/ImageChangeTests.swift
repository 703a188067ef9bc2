import Foundation
import XCTest

/// `kctr images tag`, `kctr images rm` and `kctr images inspect` against a private containerd into whose
/// k8s.io namespace kctr imported all.oci.tar; every change is checked with ctr. Tests that add names use
/// names of their own (under registry.local/) so that they do not see each other's.
final class ImageChangeTests: XCTestCase {
    static let shared = SharedLab { lab in
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")], timeout: 60)
        guard r.status == 0 else { throw SetupError("kctr import of all.oci.tar failed (\(r.status)): \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    static let busybox = "docker.io/library/busybox:kctr-test"
    static let pause = "registry.k8s.io/pause:3.9"
    static let multi = "docker.io/kctr/multi:1.0"

    /// Removes `names` from k8s.io with ctr when the test ends.
    func cleanUp(_ lab: Lab, _ names: [String]) {
        addTeardownBlock { _ = lab.ctr(["images", "rm"] + names) }
    }

    // MARK: tag

    func testTagAddsANameAndMovesAnExistingOneOnlyWithForce() throws {
        let lab = try Self.shared.get()
        let name = "registry.local/tag-test/app:1"
        cleanUp(lab, [name])
        let before = lab.imageDigests("k8s.io")
        let busybox = try XCTUnwrap(before[Self.busybox]), pause = try XCTUnwrap(before[Self.pause])

        let r = lab.kctr(["images", "tag", "busybox:kctr-test", name])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout, name + "\n")
        XCTAssertEqual(lab.imageDigests("k8s.io")[name], busybox, "ctr does not see \(name) pointing at busybox")
        let copy = try lab.ctrImage(name, namespace: "k8s.io")
        XCTAssertEqual(copy.mediaType, "application/vnd.oci.image.manifest.v1+json")

        // An existing name is not moved without --force.
        let refused = lab.kctr(["images", "tag", Self.pause, name])
        XCTAssertExit(refused, 1)
        XCTAssertTrue(refused.stderr.contains("image \(name) already exists"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("pass --force to point it at \(Self.pause)"), refused.stderr)
        XCTAssertEqual(refused.stdout, "")
        XCTAssertEqual(lab.imageDigests("k8s.io")[name], busybox, "a refused tag moved \(name)")

        // With --force it is repointed; the source and the other images are untouched.
        let forced = lab.kctr(["images", "tag", "--force", "pause:3.9", name])
        XCTAssertExit(forced, 0)
        XCTAssertEqual(forced.stdout, name + "\n")
        let after = lab.imageDigests("k8s.io")
        XCTAssertEqual(after[name], pause, "--force did not repoint \(name)")
        XCTAssertEqual(after[Self.pause], pause)
        XCTAssertEqual(after[Self.busybox], busybox)

        // Several new names at once, short forms normalised as everywhere else.
        let more = lab.kctr(["images", "tag", Self.multi, "registry.local/tag-test/multi:a", "tagtest-multi:b"])
        cleanUp(lab, ["registry.local/tag-test/multi:a", "docker.io/library/tagtest-multi:b"])
        XCTAssertExit(more, 0)
        XCTAssertEqual(more.lines, ["registry.local/tag-test/multi:a", "docker.io/library/tagtest-multi:b"])
        let multi = lab.imageDigests("k8s.io")
        XCTAssertEqual(multi["registry.local/tag-test/multi:a"], multi[Self.multi])
        XCTAssertEqual(multi["docker.io/library/tagtest-multi:b"], multi[Self.multi])

        // An invalid new name is a usage error, and an unknown source is named.
        let invalid = lab.kctr(["images", "tag", Self.pause, "UPPER/case:tag"])
        XCTAssertExit(invalid, 64)
        XCTAssertTrue(invalid.stderr.contains("UPPER/case:tag is not a valid image reference"), invalid.stderr)
        let unknown = lab.kctr(["images", "tag", "registry.local/nothing/here:1", "registry.local/tag-test/none:1"])
        XCTAssertExit(unknown, 1)
        XCTAssertTrue(unknown.stderr.contains("image registry.local/nothing/here:1 not found in namespace k8s.io"), unknown.stderr)
        XCTAssertNil(lab.imageDigests("k8s.io")["registry.local/tag-test/none:1"])
    }

    // MARK: rm

    func testRemoveKeepsGoingPastAMissingImage() throws {
        let lab = try Self.shared.get()
        let a = "registry.local/rm-test/a:1", b = "registry.local/rm-test/b:1", missing = "registry.local/rm-test/missing:1"
        cleanUp(lab, [a, b])
        XCTAssertExit(lab.ctr(["images", "tag", Self.pause, a]), 0)
        XCTAssertExit(lab.ctr(["images", "tag", Self.pause, b]), 0)

        // The missing name first: the existing one after it is still removed.
        let r = lab.kctr(["images", "rm", missing, a])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stdout, a + "\n")
        XCTAssertTrue(r.stderr.contains("image \(missing) not found in namespace k8s.io"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1 of 2 image(s) not removed"), r.stderr)
        XCTAssertFalse(r.stderr.contains("image \(a)"), r.stderr)
        let names = lab.imageNames("k8s.io")
        XCTAssertFalse(names.contains(a), "ctr still lists \(a)")
        XCTAssertTrue(names.contains(b), "\(b) was removed without being named")
        XCTAssertTrue(names.contains(Self.pause), "the image \(a) pointed at lost its other name")

        // All found: exit 0, one name a line.
        let ok = lab.kctr(["images", "rm", b])
        XCTAssertExit(ok, 0)
        XCTAssertEqual(ok.stdout, b + "\n")
        XCTAssertFalse(lab.imageNames("k8s.io").contains(b))
    }

    func testRemoveSyncCollectsTheContentBeforeReturning() throws {
        let lab = try Self.shared.get()
        let ns = uniqueNamespace("rm-sync")
        XCTAssertExit(lab.kctr(["-n", ns, "import", try TestImages.path("busybox.oci.tar")]), 0)
        XCTAssertExit(lab.kctr(["-n", ns, "import", try TestImages.path("pause.oci.tar")]), 0)
        let busybox = try lab.ctrImage(Self.busybox, namespace: ns), pause = try lab.ctrImage(Self.pause, namespace: ns)
        let busyboxChain = try XCTUnwrap(busybox.chainID), pauseChain = try XCTUnwrap(pause.chainID)
        XCTAssertTrue(lab.hasCommittedSnapshot(busyboxChain, namespace: ns))

        let r = lab.kctr(["-n", ns, "images", "rm", "--sync", "busybox:kctr-test"])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout, Self.busybox + "\n")
        XCTAssertEqual(lab.imageNames(ns), [Self.pause])
        // Collected by the time kctr returned: no content of busybox left in the namespace, nor its snapshot.
        let content = lab.contentDigests(ns)
        for blob in busybox.blobs { XCTAssertFalse(content.contains(blob), "\(blob) of busybox survived rm --sync") }
        XCTAssertFalse(lab.hasCommittedSnapshot(busyboxChain, namespace: ns), "busybox's snapshot survived rm --sync")
        // The other image keeps everything.
        for blob in pause.blobs { XCTAssertTrue(content.contains(blob), "\(blob) of pause was collected") }
        XCTAssertTrue(lab.hasCommittedSnapshot(pauseChain, namespace: ns))
    }

    // MARK: short names

    func testAmbiguousShortNameIsAnErrorListingEveryMatch() throws {
        let lab = try Self.shared.get()
        let other = "registry.local/amb/pause:3.9"
        cleanUp(lab, [other])
        XCTAssertExit(lab.ctr(["images", "tag", Self.pause, other]), 0)
        let listing = "pause:3.9 names several images: \(Self.pause), \(other)"

        let rm = lab.kctr(["images", "rm", "pause:3.9"])
        XCTAssertExit(rm, 1)
        XCTAssertTrue(rm.stderr.contains(listing), rm.stderr)
        XCTAssertTrue(rm.stderr.contains("give the full name"), rm.stderr)
        XCTAssertTrue(rm.stderr.contains("1 of 1 image(s) not removed"), rm.stderr)
        XCTAssertEqual(rm.stdout, "")
        let names = lab.imageNames("k8s.io")
        XCTAssertTrue(names.contains(Self.pause) && names.contains(other), "an ambiguous rm removed something: \(names)")

        for args in [["images", "inspect", "pause:3.9"], ["images", "tag", "pause:3.9", "registry.local/amb/new:1"],
                     ["export", FileManager.default.temporaryDirectory.appendingPathComponent("kctr-amb-\(UUID().uuidString.prefix(8)).tar").path, "pause:3.9"]] {
            let r = lab.kctr(args)
            XCTAssertExit(r, 1)
            XCTAssertTrue(r.stderr.contains(listing), "\(args): \(r.stderr)")
            XCTAssertEqual(r.stdout, "", "\(args)")
        }
        XCTAssertFalse(lab.imageNames("k8s.io").contains("registry.local/amb/new:1"))

        // The full name still works, and a short form that names one image does too.
        let full = lab.kctr(["images", "inspect", Self.pause])
        XCTAssertExit(full, 0)
        XCTAssertEqual(kctrInspections(full.stdout)?.first?["name"] as? String, Self.pause)
        let unique = lab.kctr(["images", "inspect", "amb/pause:3.9"])
        XCTAssertExit(unique, 0)
        XCTAssertEqual(kctrInspections(unique.stdout)?.first?["name"] as? String, other)
    }

    // MARK: inspect

    func testInspectMatchesWhatCtrReads() throws {
        let lab = try Self.shared.get()
        let refs = ["registry.k8s.io/pause:3.9", "busybox:kctr-test", "kctr/multi:1.0"]
        let names = [Self.pause, Self.busybox, Self.multi]
        let r = lab.kctr(["images", "inspect"] + refs)
        XCTAssertExit(r, 0)
        let items = try XCTUnwrap(kctrInspections(r.stdout), r.stdout)
        XCTAssertEqual(items.compactMap { $0["name"] as? String }, names)
        for (item, name) in zip(items, names) {
            let image = try lab.ctrImage(name, namespace: "k8s.io")
            let target = try XCTUnwrap(item["target"] as? [String: Any], name)
            XCTAssertEqual(target["digest"] as? String, image.digest, name)
            XCTAssertEqual(target["mediaType"] as? String, image.mediaType, name)
            XCTAssertNil(item["index"], "\(name) is a single manifest")
            XCTAssertEqual((item["labels"] as? [String: String])?["io.cri-containerd.image"], "managed", name)

            let manifests = try XCTUnwrap(item["manifests"] as? [[String: Any]], name)
            XCTAssertEqual(manifests.count, 1, name)
            let m = try XCTUnwrap(manifests.first)
            XCTAssertEqual((m["descriptor"] as? [String: Any])?["digest"] as? String, image.digest, name)
            XCTAssertEqual(m["present"] as? Bool, true, name)
            XCTAssertEqual(m["platform"] as? String, "linux/amd64", name)
            XCTAssertEqual(m["configDigest"] as? String, image.config, name)
            XCTAssertEqual(m["chainID"] as? String, image.chainID, name)
            XCTAssertEqual(m["unpacked"] as? Bool, true, name)

            // The layers are the manifest's, as `ctr content get` returns it: digest, size and media type.
            let manifest = try lab.contentJSON(image.digest, namespace: "k8s.io")
            let ctrLayers = try XCTUnwrap(manifest["layers"] as? [[String: Any]], name)
            let layers = try XCTUnwrap(m["layers"] as? [[String: Any]], name)
            XCTAssertEqual(layers.count, ctrLayers.count, name)
            for (mine, theirs) in zip(layers, ctrLayers) {
                XCTAssertEqual(mine["digest"] as? String, theirs["digest"] as? String, name)
                XCTAssertEqual(mine["size"] as? Int, theirs["size"] as? Int, name)
                XCTAssertEqual(mine["mediaType"] as? String, theirs["mediaType"] as? String, name)
            }
            XCTAssertEqual(layers.compactMap { $0["digest"] as? String }, image.layers, name)
            XCTAssertEqual(((manifest["config"] as? [String: Any])?["digest"] as? String), image.config, name)

            // The config is the one in the store.
            let config = try XCTUnwrap(m["config"] as? [String: Any], name)
            let ctrConfig = try lab.contentJSON(image.config, namespace: "k8s.io")
            XCTAssertEqual(config["architecture"] as? String, ctrConfig["architecture"] as? String, name)
            XCTAssertEqual(config["os"] as? String, ctrConfig["os"] as? String, name)
            XCTAssertEqual((config["rootfs"] as? [String: Any])?["diff_ids"] as? [String], image.diffIDs, name)
            XCTAssertEqual(NSDictionary(dictionary: config), NSDictionary(dictionary: ctrConfig), name)
        }
        XCTAssertEqual(((items.last?["manifests"] as? [[String: Any]])?.first?["layers"] as? [Any])?.count, 3, "multi has three layers")
    }

    func testInspectFormats() throws {
        let lab = try Self.shared.get()
        let image = try lab.ctrImage(Self.pause, namespace: "k8s.io")
        let yaml = lab.kctr(["images", "inspect", "-o", "yaml", Self.pause])
        XCTAssertExit(yaml, 0)
        // crictl's document: one image, one mapping (CRI's status and info, kctr's inspection under kctr).
        XCTAssertTrue(yaml.stdout.hasPrefix("info:"), "not crictl's mapping: \(yaml.stdout)")
        XCTAssertTrue(yaml.stdout.contains("\nkctr:\n"), yaml.stdout)
        XCTAssertTrue(yaml.stdout.contains("\nstatus:\n"), yaml.stdout)
        XCTAssertTrue(yaml.stdout.contains("name: \(Self.pause)"), yaml.stdout)
        XCTAssertTrue(yaml.stdout.contains("configDigest: \(image.config)"), yaml.stdout)
        XCTAssertTrue(yaml.stdout.contains("digest: \(image.digest)"), yaml.stdout)
        for layer in image.layers { XCTAssertTrue(yaml.stdout.contains("digest: \(layer)"), yaml.stdout) }
        // python3 (if it has PyYAML) agrees that it is YAML of the same document as the JSON.
        let json = lab.kctr(["images", "inspect", "-o", "json", Self.pause])
        XCTAssertExit(json, 0)
        let hasYAML = runProcess(["/usr/bin/python3", "-c", "import yaml"]).status == 0
        if hasYAML {
            let dir = try tempDir()
            try yaml.stdout.write(toFile: dir.file("a.yaml"), atomically: true, encoding: .utf8)
            try json.stdout.write(toFile: dir.file("a.json"), atomically: true, encoding: .utf8)
            let same = runProcess(["/usr/bin/python3", "-c",
                                   "import json,sys,yaml; sys.exit(0 if yaml.safe_load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 1)",
                                   dir.file("a.yaml"), dir.file("a.json")])
            XCTAssertExit(same, 0)
        }

        let table = lab.kctr(["images", "inspect", "-o", "table", Self.pause])
        XCTAssertExit(table, 64)
        XCTAssertTrue(table.stderr.contains("inspect prints json or yaml"), table.stderr)
        XCTAssertEqual(table.stdout, "")

        let unknown = lab.kctr(["images", "inspect", "registry.local/nothing/here:1"])
        XCTAssertExit(unknown, 1)
        XCTAssertTrue(unknown.stderr.contains("image registry.local/nothing/here:1 not found in namespace k8s.io"), unknown.stderr)
        XCTAssertEqual(unknown.stdout, "")
    }
}
