import Foundation
import XCTest

/// `kctr import --dry-run`: the whole archive read and verified, nothing written, what an import
/// would do on this node, and exit 0 only when an import would take everything the archive names.
extension VerifiedImportTests {
    /// Content, images, leases and ingests of `namespace`, to prove a dry run wrote nothing.
    func snapshot(_ lab: Lab, _ namespace: String) -> [String] {
        ["content", "images", "leases", "content active"].map { what in
            lab.ctr(what.split(separator: " ").map(String.init) + (what == "content active" ? [] : ["ls"]), namespace: namespace).stdout
        }
    }

    func testDryRunOfAGoodArchiveVerifiesEverythingAndWritesNothing() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let ns = uniqueNamespace("dry")
        let genuine = try archive("genuine", in: dir)
        let before = snapshot(lab, ns)
        let r = lab.kctr(["-n", ns, "import", "--dry-run", genuine.archive])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stdout.contains(genuine.name), r.stdout)
        XCTAssertTrue(r.stdout.contains("0/3"), "nothing of it on the node yet: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("verified 3 blob(s)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("every one matches its digest; 0 already on the node"), r.stderr)
        XCTAssertTrue(r.stderr.contains("an import would succeed: 1 image name(s)"), r.stderr)
        XCTAssertEqual(snapshot(lab, ns), before, "a dry run wrote to containerd")

        // After the import, the dry run sees every blob on the node.
        XCTAssertExit(lab.kctr(["-n", ns, "import", genuine.archive]), 0)
        let again = lab.kctr(["-n", ns, "import", "--dry-run", "-o", "json", genuine.archive])
        XCTAssertExit(again, 0)
        let doc = try XCTUnwrap(jsonObject(again.stdout) as? [String: Any])
        XCTAssertEqual(doc["complete"] as? Bool, true)
        XCTAssertEqual(doc["blobs"] as? Int, 3)
        XCTAssertEqual(Set(doc["onNode"] as? [String] ?? []), [genuine.manifest, genuine.config, genuine.layer])
        let image = try XCTUnwrap((doc["images"] as? [[String: Any]])?.first)
        XCTAssertEqual(image["names"] as? [String], [genuine.name])
        XCTAssertEqual(image["digest"] as? String, genuine.manifest)
        XCTAssertEqual(image["blobsOnNode"] as? Int, 3)
        XCTAssertEqual(image["platforms"] as? [String], ["linux/amd64"])
    }

    /// A corrupt blob is found by the dry run (the same refusal as an import's), before any write.
    func testDryRunOfACorruptArchiveFails() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let ns = uniqueNamespace("dry")
        let genuine = try archive("genuine", in: dir)
        let altered = try archive("altered-layer", in: dir, from: genuine)
        let before = snapshot(lab, ns)
        let r = lab.kctr(["-n", ns, "import", "--dry-run", altered.archive])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("kctr: \(altered.archive): blob blobs/sha256/\(genuine.layer.dropFirst(7)) does not match its digest \(genuine.layer)"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(snapshot(lab, ns), before)
    }

    func testDryRunOfAnIncompleteArchiveFails() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let incomplete = try ArchiveFixtures.make(.missingBlob, in: dir)
        let r = lab.kctr(["-n", uniqueNamespace("dry"), "import", "--dry-run", incomplete])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("which the archive does not contain"), r.stderr)
    }

    /// A multi-platform index whose arm/v7 blobs are not in the archive: named, and (the platforms
    /// present being complete) the import would succeed.
    func testDryRunNamesMissingPlatforms() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let partial = try MultiPlatformFixture.make(.partial, in: dir)
        let r = lab.kctr(["-n", uniqueNamespace("dry"), "import", "--dry-run", "--all-platforms", "-o", "json", partial.path])
        XCTAssertExit(r, 0)
        let image = try XCTUnwrap(((jsonObject(r.stdout) as? [String: Any])?["images"] as? [[String: Any]])?.first, r.stdout)
        XCTAssertEqual(image["missingPlatforms"] as? [String], [MultiPlatformFixture.armv7])
        XCTAssertEqual(Set(image["platforms"] as? [String] ?? []), [MultiPlatformFixture.amd64, MultiPlatformFixture.arm64])
        XCTAssertTrue(r.stderr.contains("platforms the index names but the archive lacks: \(MultiPlatformFixture.armv7)"), r.stderr)
    }

    /// An image named with an invalid reference: listed with the reason, exit 1 (an import would skip it).
    func testDryRunListsInvalidNames() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let invalid = try archive("invalid-name", in: dir)
        let r = lab.kctr(["-n", uniqueNamespace("dry"), "import", "--dry-run", invalid.archive])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("\"docker.io/library/UPPER:Case!!\" is not a valid image reference: the tag \"Case!!\" must be"), r.stderr)
        // The import itself says which name it found and why, and what to do.
        let imp = lab.kctr(["-n", uniqueNamespace("dry"), "import", invalid.archive])
        XCTAssertExit(imp, 1)
        XCTAssertTrue(imp.stderr.contains("no image to import: image \(invalid.manifest), named \"docker.io/library/UPPER:Case!!\" is not a valid image reference: the tag \"Case!!\" must be 1 to 128 letters"), imp.stderr)
        XCTAssertTrue(imp.stderr.contains("hint: name the image with --name REF"), imp.stderr)
    }

    /// No daemon at all: the archive is still verified, and the dry run says what it cannot tell.
    func testDryRunWithoutADaemon() throws {
        let dir = try tempDir()
        let genuine = try archive("genuine", in: dir)
        let r = runProcess([Paths.kctr, "--address", dir.file("none.sock"), "import", "--dry-run", genuine.archive])
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stdout.contains(genuine.name), r.stdout)
        XCTAssertTrue(r.stderr.contains("verified 3 blob(s)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot tell which are on the node"), r.stderr)
        XCTAssertTrue(r.stderr.contains("what the node already holds is unknown: cannot reach containerd at \(dir.file("none.sock"))"), r.stderr)
        let corrupt = try archive("altered-layer", in: dir, from: genuine)
        let bad = runProcess([Paths.kctr, "--address", dir.file("none.sock"), "import", "--dry-run", corrupt.archive])
        XCTAssertExit(bad, 1)
        XCTAssertTrue(bad.stderr.contains("does not match its digest"), bad.stderr)
    }

    /// Docker 25+ `docker save`: manifest.json's RepoTags name more tags than index.json; the dry
    /// run and the import take every one, as `docker load` does.
    func testDockerSaveTagsBeyondIndexJSONAreAllImported() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let ns = uniqueNamespace("docker25")
        let saved = try archive("docker25", in: dir)
        let unique = saved.name.dropFirst("example.com/verified/".count).dropLast(2)
        let tags = [saved.name, "example.com/verified/\(unique):2", "example.com/other-\(unique):latest"]
        let dry = lab.kctr(["-n", ns, "import", "--dry-run", "-o", "json", saved.archive])
        XCTAssertExit(dry, 0)
        let image = try XCTUnwrap(((jsonObject(dry.stdout) as? [String: Any])?["images"] as? [[String: Any]])?.first, dry.stdout)
        XCTAssertEqual(image["names"] as? [String], tags)
        XCTAssertExit(lab.kctr(["-n", ns, "import", saved.archive]), 0)
        XCTAssertEqual(lab.imageNames(ns).sorted(), tags.sorted())
        let digests = lab.imageDigests(ns)
        for tag in tags { XCTAssertEqual(digests[tag], saved.manifest, tag) }
    }
}
