import Foundation
import XCTest

/// `kctr import` of broken archives: exit 1, a message naming the defect, and nothing left in the
/// namespace (no image, no lease, no active ingest). Each archive is a valid one (see
/// `testControlArchiveImports`) with one defect, built by ArchiveFixtures.
final class BadArchiveTests: XCTestCase {
    static let shared = SharedLab()

    override class func tearDown() { shared.stop() }

    /// Imports the fixture `kind` into a namespace of its own and checks the refusal and the namespace.
    @discardableResult
    func assertRefused(_ kind: ArchiveFixtures.Kind, _ expected: [String], namesArchive: Bool = true,
                       file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let archive = try ArchiveFixtures.make(kind, in: dir)
        let ns = uniqueNamespace("bad-\(kind.rawValue)")
        let r = lab.kctr(["-n", ns, "import", archive])
        XCTAssertExit(r, 1, file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("kctr: "), r.stderr, file: file, line: line)
        for text in expected + (namesArchive ? [archive] : []) {
            XCTAssertTrue(r.stderr.contains(text), "expected \"\(text)\" in: \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        XCTAssertEqual(lab.imageNames(ns), [], file: file, line: line)
        lab.assertNoLeftovers(ns, file: file, line: line)
        // Blobs written before the defect was found belonged to the import's lease only: once it is
        // gone, containerd's garbage collector removes them.
        var content: [String] = []
        for _ in 0..<100 {
            content = lab.ctr(["content", "ls", "-q"], namespace: ns).lines
            if content.isEmpty { break }
            usleep(100_000)
        }
        XCTAssertEqual(content, [], "content left in \(ns)", file: file, line: line)
        return r
    }

    /// The archive the broken ones start from imports: only their defect makes them fail.
    func testControlArchiveImports() throws {
        let lab = try Self.shared.get()
        let dir = try tempDir()
        let ns = uniqueNamespace("bad-control")
        XCTAssertExit(lab.kctr(["-n", ns, "import", try ArchiveFixtures.make(.valid, in: dir)]), 0)
        XCTAssertEqual(lab.imageNames(ns), ["registry.k8s.io/pause:3.9"])
        let docker = uniqueNamespace("bad-control-docker")
        XCTAssertExit(lab.kctr(["-n", docker, "import", try TestImages.path("busybox.docker.tar")]), 0)
        XCTAssertEqual(lab.imageNames(docker), ["docker.io/library/busybox:kctr-test"])
    }

    func testNotATar() throws {
        try assertRefused(.random, ["cannot read", "image archive"])
    }

    func testEmptyFile() throws {
        // The operator should learn that the file is empty, not only that its format is unknown.
        try assertRefused(.empty, ["empty"])
    }

    func testTruncatedArchive() throws {
        try assertRefused(.truncated, ["truncated"])
    }

    func testBlobNotMatchingItsDigest() throws {
        let layer = try ArchiveFixtures.pauseLayer()
        try assertRefused(.digestMismatch, ["does not match its digest \(layer)"])
    }

    func testManifestNamingAMissingBlob() throws {
        let layer = try ArchiveFixtures.pauseLayer()
        try assertRefused(.missingBlob, ["layer \(layer)", "does not contain"])
    }

    func testMalformedIndexJSON() throws {
        try assertRefused(.badIndex, ["index.json is not valid JSON"])
    }

    func testOversizedIndexJSON() throws {
        try assertRefused(.oversizedIndex, ["index.json is not a JSON document of at most 4 MiB"])
    }

    func testUnsupportedMediaType() throws {
        try assertRefused(.badMediaType, ["unsupported media type application/vnd.example.unknown.v1+json"])
    }

    func testParentDirectoryMember() throws {
        try assertRefused(.dotdot, ["'../evil'", "'..'"])
    }

    func testAbsoluteMember() throws {
        let existed = FileManager.default.fileExists(atPath: "/etc/x")
        try assertRefused(.absolute, ["'/etc/x' is absolute"])
        if !existed { XCTAssertFalse(FileManager.default.fileExists(atPath: "/etc/x")) }
    }

    func testDockerLayerSymlinkLoop() throws {
        try assertRefused(.symlinkLoop, ["links loop", "loop/a"], namesArchive: false)
    }

    func testDockerRepoTagNotAReference() throws {
        try assertRefused(.badRepoTag, ["\"UPPER/case:tag\" is not a valid image reference: the repository part \"UPPER\" must be lower-case letters and digits, separated by '.', '_' or '-' (in manifest.json)"])
    }

    func testIndexNamingNoImage() throws {
        try assertRefused(.unnamed, ["no image to import", "--name", "--digests"])
    }
}
