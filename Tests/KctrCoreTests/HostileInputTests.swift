import Foundation
import KctrArchive
@testable import KctrCore
import XCTest

/// Archives and node files built to hurt: each must be refused (or read) with a message, in
/// bounded time and memory, never crash. Several came from `make fuzz` (see the README).
final class HostileInputTests: ScratchDirectoryTestCase {
    // MARK: the plan over an archive's JSON documents

    /// A catalogue holding `documents` as JSON members.
    func catalog(_ documents: [String: String]) -> ArchiveCatalog {
        var c = ArchiveCatalog()
        c.source = "hostile.tar"
        for (path, text) in documents {
            c.entries[path] = .init(size: Int64(text.utf8.count), magic: Array(text.utf8.prefix(8)))
            c.json[path] = Array(text.utf8)
        }
        return c
    }

    func assertPlanRefused(_ c: ArchiveCatalog, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try ImportPlan.make(c, source: "hostile.tar", platforms: .all), file: file, line: line) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(expected), "expected \"\(expected)\" in: \(text)", file: file, line: line)
            XCTAssertTrue(text.contains("hostile.tar"), "the archive is not named in: \(text)", file: file, line: line)
        }
    }

    static let config = #"{"os":"linux","architecture":"amd64","rootfs":{"type":"layers","diff_ids":[]}}"#

    static func descriptor(_ mediaType: String, _ digest: String, size: Int64 = 2) -> String {
        #"{"mediaType":"\#(mediaType)","digest":"\#(digest)","size":\#(size)}"#
    }

    static func index(_ entries: [String]) -> String {
        #"{"schemaVersion":2,"manifests":[\#(entries.joined(separator: ","))]}"#
    }

    /// The digest of a document, and its path in an OCI layout.
    static func digest(_ text: String) -> String { Digest.sha256(Array(text.utf8)) }
    static func path(_ text: String) -> String { "blobs/sha256/" + digest(text).dropFirst(7) }

    /// A descriptor of `text` (its real digest and size, unless `size` claims another).
    static func descriptor(_ mediaType: String, of text: String, size: Int64? = nil) -> String {
        descriptor(mediaType, digest(text), size: size ?? Int64(text.utf8.count))
    }

    static func manifest(config: String = config, layers: [String] = []) -> String {
        #"{"schemaVersion":2,"config":\#(descriptor(MediaType.ociConfig, of: config)),"layers":[\#(layers.joined(separator: ","))]}"#
    }

    /// A catalogue of `documents` stored under their digests, with `index` as index.json.
    func layout(index: String, _ documents: [String]) -> ArchiveCatalog {
        var members = ["index.json": index]
        for d in documents { members[Self.path(d)] = d }
        return catalog(members)
    }

    /// A valid plan with the helpers above: the refusals below come from their one defect.
    func testControlPlanIsMade() throws {
        let manifest = Self.manifest()
        let inner = Self.index([Self.descriptor(MediaType.ociManifest, of: manifest)])
        let c = layout(index: Self.index([Self.descriptor(MediaType.ociIndex, of: inner)]), [inner, manifest, Self.config])
        let plan = try ImportPlan.make(c, source: "hostile.tar", platforms: .all)
        XCTAssertEqual(plan.images.count, 1)
        XCTAssertEqual(plan.images[0].manifests.count, 1)
    }

    /// An index naming the same index 1,000 times, which names the same manifest 1,000 times: a
    /// 60 KB archive that took kctr a million manifest visits (each a JSON decode) before the budget.
    func testIndexFanOutIsRefused() {
        let manifest = Self.manifest()
        let inner = Self.index(Array(repeating: Self.descriptor(MediaType.ociManifest, of: manifest), count: 1000))
        let fan = Array(repeating: Self.descriptor(MediaType.ociIndex, of: inner), count: 1000)
        let c = layout(index: Self.index(fan), [inner, manifest, Self.config])
        assertPlanRefused(c, "names more than \(ImportPlan.maxReferences) manifests and layers")
    }

    /// Documents are believed only once they hash to their descriptor: a manifest whose bytes
    /// differ from its digest is refused before its config or layers are looked at.
    func testDocumentNotMatchingItsDigestIsRefused() {
        let manifest = Self.manifest()
        let other = Self.manifest(layers: [Self.descriptor("application/vnd.oci.image.layer.v1.tar", of: "crafted")])
        var c = layout(index: Self.index([Self.descriptor(MediaType.ociManifest, of: manifest)]), [Self.config])
        c.entries[Self.path(manifest)] = .init(size: Int64(other.utf8.count), magic: [])
        c.json[Self.path(manifest)] = Array(other.utf8)
        assertPlanRefused(c, "manifest \(Self.digest(manifest)) does not match its digest (its bytes hash to \(Self.digest(other)))")
    }

    func testConfigNotMatchingItsDigestIsRefused() {
        let manifest = Self.manifest()
        var c = layout(index: Self.index([Self.descriptor(MediaType.ociManifest, of: manifest)]), [manifest])
        let altered = Self.config.replacingOccurrences(of: "amd64", with: "arm64")
        c.entries[Self.path(Self.config)] = .init(size: Int64(altered.utf8.count), magic: [])
        c.json[Self.path(Self.config)] = Array(altered.utf8)
        assertPlanRefused(c, "config \(Self.digest(Self.config)) does not match its digest")
    }

    /// The descriptor's size must be the document's too (containerd checks both).
    func testDocumentOfAnotherSizeIsRefused() {
        let manifest = Self.manifest()
        let c = layout(index: Self.index([Self.descriptor(MediaType.ociManifest, of: manifest, size: 7)]), [manifest, Self.config])
        assertPlanRefused(c, "manifest \(Self.digest(manifest)) is \(manifest.utf8.count) bytes in the archive but its descriptor says 7")
    }

    /// Digests in algorithms kctr cannot verify are refused (it knows sha256, sha384, sha512).
    func testUnverifiableDigestIsRefused() {
        let c = catalog([
            "index.json": Self.index([Self.descriptor(MediaType.ociManifest, "md5:0123456789abcdef0123456789abcdef")]),
        ])
        assertPlanRefused(c, "invalid digest md5:0123456789abcdef0123456789abcdef in the archive: kctr verifies every blob and knows sha256, sha384 and sha512 digests only")
    }

    /// docker save names a config "<hex>.json" by its digest: other bytes under that name are refused.
    func testDockerConfigNotMatchingItsNameIsRefused() {
        let named = String(Self.digest(Self.config).dropFirst(7)) + ".json"
        let altered = Self.config.replacingOccurrences(of: "amd64", with: "arm64")
        let c = catalog([
            "manifest.json": #"[{"Config":"\#(named)","RepoTags":["example.com/a:1"],"Layers":[]}]"#,
            named: altered,
        ])
        assertPlanRefused(c, "config \(named) does not match its digest \(Self.digest(Self.config)) (its bytes hash to \(Self.digest(altered)))")
    }

    /// A manifest.json naming one config 200,000 times (each once hashed and decoded).
    func testDockerSaveWithTooManyImagesIsRefused() {
        let entry = #"{"Config":"c.json","RepoTags":null,"Layers":[]}"#
        let c = catalog([
            "manifest.json": "[" + Array(repeating: entry, count: ImportPlan.maxReferences + 1).joined(separator: ",") + "]",
            "c.json": Self.config,
        ])
        assertPlanRefused(c, "names more than \(ImportPlan.maxReferences) manifests and layers")
    }

    /// Sizes are summed for progress and reports: a descriptor claiming Int64.max made that sum trap.
    func testLayerClaimingAnAbsurdSizeIsRefused() {
        let manifest = Self.manifest(layers: [Self.descriptor("application/vnd.oci.image.layer.v1.tar", of: "{}", size: Int64.max)])
        let c = layout(index: Self.index([Self.descriptor(MediaType.ociManifest, of: manifest)]), [manifest, Self.config, "{}"])
        assertPlanRefused(c, "the descriptor of \(Self.digest("{}")) claims \(Int64.max) bytes, outside 0 to 1 TiB")
    }

    func testManifestClaimingANegativeSizeIsRefused() {
        let manifest = Self.manifest()
        let c = layout(index: Self.index([Self.descriptor(MediaType.ociManifest, of: manifest, size: -1)]), [manifest, Self.config])
        assertPlanRefused(c, "the descriptor of \(Self.digest(manifest)) claims -1 bytes")
    }

    func testConfigClaimingAnAbsurdSizeIsRefused() {
        let manifest = #"{"schemaVersion":2,"config":\#(Self.descriptor(MediaType.ociConfig, of: Self.config, size: 1 << 41)),"layers":[]}"#
        let c = layout(index: Self.index([Self.descriptor(MediaType.ociManifest, of: manifest)]), [manifest, Self.config])
        assertPlanRefused(c, "the descriptor of \(Self.digest(Self.config)) claims \(Int64(1) << 41) bytes")
    }

    /// A blob that cannot fit on the content store's filesystem is refused before it is written.
    func testBlobLargerThanTheFreeSpaceIsRefused() throws {
        let root = "/var/lib/containerd/io.containerd.content.v1.content"
        let room = ContentRoom(root: root, free: { _ in 1 << 30 })
        XCTAssertThrowsError(try room.require((1 << 30) + 1, for: "blobs/sha256/ab", source: "x.tar")) { error in
            XCTAssertEqual((error as? KctrError)?.message, "x.tar: no space left on the device holding containerd's content store \(root) for blobs/sha256/ab: it needs 1.0 GiB and 1.0 GiB are free")
            XCTAssertTrue((error as? KctrError)?.hint?.contains("free space there (df -h \(root);") == true)
        }
        XCTAssertNoThrow(try room.require(1 << 30, for: "blobs/sha256/ab", source: "x.tar"))
        XCTAssertNoThrow(try ContentRoom.unknown.require(Int64.max, for: "blobs/sha256/ab", source: "x.tar"))
        XCTAssertNotNil(ContentRoom.statvfsFree(dir))
        // Not created yet (containerd 1.7 makes its content directory on the first write): its parent's filesystem.
        XCTAssertNotNil(ContentRoom.statvfsFree(dir + "/missing/content"))
        XCTAssertNil(ContentRoom.statvfsFree("relative/path"))
    }

    /// A member twice, or a sparse member, is refused while cataloguing, before anything is read from it.
    func testDuplicateAndSparseMembersAreRefusedByTheCatalogue() throws {
        let twice = "\(dir)/twice.tar"
        let writer = try ArchiveWriter(path: twice)
        try writer.addFile("index.json", bytes: Array("{}".utf8))
        try writer.addFile("./index.json", bytes: Array("{}".utf8))
        try writer.finish()
        XCTAssertThrowsError(try ArchiveCatalog.scan(path: twice)) { error in
            XCTAssertEqual((error as? KctrError)?.message, "\(twice): the member index.json appears twice in the archive")
        }
        let sparse = "\(dir)/sparse.tar"
        let file = "\(dir)/hole"
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["--sparse", "--format=gnu", "-C", dir, "-cf", sparse, "hole"]
        try tar.run()
        tar.waitUntilExit()
        XCTAssertEqual(tar.terminationStatus, 0)
        XCTAssertThrowsError(try ArchiveCatalog.scan(path: sparse)) { error in
            XCTAssertEqual((error as? KctrError)?.message, "\(sparse): hole is a sparse file in the archive (1.0 GiB with holes)")
        }
    }

    /// 100,000 nested arrays as index.json: a decode error, not a stack overflow.
    func testDeeplyNestedIndexJSONIsRefused() {
        let c = catalog(["index.json": String(repeating: "[", count: 100_000)])
        assertPlanRefused(c, "index.json is not valid JSON")
    }

    // MARK: the catalogue of a tar with many entries

    /// A tar of `count` empty files (or directories) named e<i>.
    func tar(_ name: String, count: Int, directories: Bool = false, nameLength: Int = 0) throws -> String {
        let path = "\(dir)/\(name)"
        let writer = try ArchiveWriter(path: path)
        let pad = String(repeating: "n", count: nameLength)
        for i in 0..<count {
            if directories {
                try writer.addDirectory("d\(i)\(pad)")
            } else {
                try writer.addFile("e\(i)\(pad)", bytes: [])
            }
        }
        try writer.finish()
        return path
    }

    func testTarWithTooManyFilesIsRefused() throws {
        let path = try tar("many.tar", count: 1001)
        XCTAssertThrowsError(try ArchiveCatalog.scan(path: path, maxEntries: 1000)) { error in
            XCTAssertEqual("\(error)", "\(path) holds more than 1000 files and links (kctr stopped reading at e1000) "
                + "(hint: an image archive holds a few files per blob: this is not one kctr can import safely)")
        }
        XCTAssertEqual(try ArchiveCatalog.scan(path: path, maxEntries: 1001).entries.count, 1001)
    }

    /// Directories are not catalogued, so any number of them takes no memory.
    func testDirectoriesAreNotCatalogued() throws {
        let path = try tar("dirs.tar", count: 2000, directories: true)
        XCTAssertEqual(try ArchiveCatalog.scan(path: path, maxEntries: 1000).entries.count, 0)
    }

    func testTarWithTooLongMemberNamesIsRefused() throws {
        let path = try tar("long.tar", count: 20, nameLength: 4000)
        XCTAssertThrowsError(try ArchiveCatalog.scan(path: path, maxNameBytes: 40_000)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("its member names add up to more than 40000 bytes"), text)
            XCTAssertTrue(text.contains("(kctr stopped reading at e9nnn"), text)
            XCTAssertLessThan(text.count, 600, "the 4 KB name is shortened in the message")
        }
    }

    /// The default limits are far above real archives: a docker save of 300 layers, say.
    func testDefaultLimits() {
        XCTAssertEqual(ArchiveCatalog.maxEntries, 100_000)
        XCTAssertEqual(ArchiveCatalog.maxNameBytes, 16 << 20)
        XCTAssertEqual(ArchiveCatalog.maxJSONEntry, 4 << 20)
    }

    // MARK: node files

    func testDeeplyNestedTOMLIsRefused() {
        XCTAssertThrowsError(try TOML.parse("a = " + String(repeating: "[", count: 100_000))) { error in
            XCTAssertEqual("\(error)", "line 1: the value of a nests arrays or inline tables more than 64 deep")
        }
        XCTAssertThrowsError(try TOML.parse("a = " + String(repeating: "{b=", count: 100_000)))
        let ok = "a = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try TOML.parse(ok))
    }

    func testCRILogLineWithoutNewlineIsBounded() {
        var p = CRILogParser()
        let header = Data("2026-01-01T00:00:00Z stdout F ".utf8)
        XCTAssertEqual(p.feed(header), [])
        let block = Data(repeating: UInt8(ascii: "a"), count: 64 << 10)
        var lines: [CRILogLine] = []
        for _ in 0..<40 { lines += p.feed(block) }  // 2.5 MiB without a newline
        // The first megabyte is given out as a line; the rest has no header and is not a line.
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines.first?.text.utf8.count, CRILogParser.maxLine)
        XCTAssertEqual(lines.first?.stream, "stdout")
        XCTAssertEqual(p.feed(Data("\n2026-01-01T00:00:01Z stdout F next\n".utf8)).map(\.text), ["next"])
    }

    func testCRILogPartialLinesAreJoinedUpToTheLimit() {
        var p = CRILogParser()
        let piece = "2026-01-01T00:00:00Z stderr P " + String(repeating: "b", count: 16 << 10) + "\n"
        var lines: [CRILogLine] = []
        for _ in 0..<100 { lines += p.feed(Data(piece.utf8)) }  // 1.6 MiB of partial pieces
        XCTAssertEqual(lines.count, 1)
        XCTAssertEqual(lines.first?.text.utf8.count, 65 * (16 << 10))
        lines = p.feed(Data("2026-01-01T00:00:01Z stderr F end\n".utf8))
        XCTAssertEqual(lines.first?.text.utf8.count, 35 * (16 << 10) + 3)
    }

    /// Property: however a log file's bytes arrive (the file grows while kctr follows it), the
    /// lines are the same as when it is read at once. 200 random logs, each split at random.
    func testCRILogLinesDoNotDependOnChunking() {
        var rng = SplitMix(seed: 7)
        for _ in 0..<200 {
            var text = ""
            for _ in 0..<rng.next(30) {
                let stream = ["stdout", "stderr", "bogus"][rng.next(3)]
                let tag = ["P", "F", "X"][rng.next(3)]
                let body = String((0..<rng.next(20)).map { _ in Character(UnicodeScalar(UInt8(32 + rng.next(95)))) })
                text += rng.next(10) == 0 ? "junk \(body)\n" : "2026-01-01T00:00:0\(rng.next(10))Z \(stream) \(tag) \(body)\n"
            }
            let bytes = Array(text.utf8)
            var whole = CRILogParser()
            let expected = whole.feed(Data(bytes))
            var chunked = CRILogParser()
            var lines: [CRILogLine] = []
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + 1 + rng.next(40))
                lines += chunked.feed(Data(bytes[offset..<end]))
                offset = end
            }
            XCTAssertEqual(lines, expected, "log: \(text)")
        }
    }

    func testCRILogIgnoresUnknownStreams() {
        var p = CRILogParser()
        XCTAssertEqual(p.feed(Data("2026-01-01T00:00:00Z s1 P x\n2026-01-01T00:00:00Z stdout F ok\n".utf8)).map(\.text), ["ok"])
    }

    /// Many short lines in one chunk: each is cut once (the old loop copied the rest per line).
    func testCRILogManyLinesInOneChunk() {
        var p = CRILogParser()
        let text = String(repeating: "2026-01-01T00:00:00Z stdout F x\n", count: 20_000)
        XCTAssertEqual(p.feed(Data(text.utf8)).count, 20_000)
    }

    func assertYAMLRefused(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        let (value, error) = NodeFiles.parseYAML(text, path: "/var/lib/kubelet/config.yaml")
        XCTAssertNil(value, file: file, line: line)
        XCTAssertEqual(error, "cannot parse /var/lib/kubelet/config.yaml: \(expected)", file: file, line: line)
        XCTAssertThrowsError(try CrictlConfig.parse(text, path: "/etc/crictl.yaml"), file: file, line: line) { error in
            XCTAssertEqual("\(error)", "cannot parse /etc/crictl.yaml: \(expected) (hint: fix the YAML or pass --address to bypass it)",
                           file: file, line: line)
        }
    }

    /// Found by `make fuzz` (yaml target): Yams recursed until the stack overflowed (SIGSEGV).
    func testDeeplyNestedYAMLIsAnErrorNotACrash() {
        assertYAMLRefused(String(repeating: "[", count: 100_000), "line 1 nests more than 64 levels deep")
        assertYAMLRefused("a: " + String(repeating: "{b: ", count: 100_000), "line 1 nests more than 64 levels deep")
        assertYAMLRefused(String(repeating: "- ", count: 100_000) + "x", "line 1 nests more than 64 levels deep")
        var indented = ""
        for i in 0..<100 { indented += String(repeating: " ", count: i) + "a:\n" }
        // Line n holds a mapping at depth n and its key "a" at depth n + 1.
        assertYAMLRefused(indented, "line 64 nests more than 64 levels deep")
    }

    /// The depth used to be estimated from the text, which took a quote inside a plain scalar for the
    /// start of a string and so did not count the brackets after it: 100,000 of them crashed kctr
    /// (SIGSEGV) on every command, since every command reads crictl.yaml. The depth is now libyaml's.
    func testAQuoteInAPlainScalarDoesNotHideNesting() {
        let deep = String(repeating: "[", count: 100_000)
        assertYAMLRefused("a: x \"y\nb: " + deep + "\n", "line 2 nests more than 64 levels deep")
        assertYAMLRefused("a: x 'y\nb: " + deep + "\n", "line 2 nests more than 64 levels deep")
        assertYAMLRefused("a: it's\nb: " + String(repeating: "{c: ", count: 100_000) + "\n", "line 2 nests more than 64 levels deep")
        assertYAMLRefused("# a \"comment\n" + String(repeating: "- ", count: 100_000) + "x\n", "line 2 nests more than 64 levels deep")
        // Brackets after a quoted scalar on its line are a syntax error, reported without the
        // 100,000 brackets of the line.
        let (value, error) = NodeFiles.parseYAML("a: \"x\" " + deep + "\n", path: "/etc/crictl.yaml")
        XCTAssertNil(value)
        XCTAssertTrue(error?.hasPrefix("cannot parse /etc/crictl.yaml: 1:8: error: parser: ") == true, error ?? "")
        XCTAssertTrue(error?.contains("did not find expected key") == true, error ?? "")
        XCTAssertLessThan(error?.count ?? 0, 1_000, error ?? "")
        // In a plain scalar the brackets are text.
        let (scalar, none) = NodeFiles.parseYAML("a: it's " + deep + "\n", path: "/etc/crictl.yaml")
        XCTAssertNil(none)
        XCTAssertEqual(scalar?["a"]?.string, "it's " + deep)
    }

    /// Each alias nests the previous one: depth without brackets or indentation in the text.
    func testYAMLAliasChainIsRefused() {
        var text = "a0: &a0 x\n"
        for i in 1..<200 { text += "a\(i): &a\(i) [*a\(i - 1)]\n" }
        assertYAMLRefused(text, "the document nests more than 64 levels deep (through aliases)")
    }

    /// "Billion laughs": nine levels of nine aliases, 387 million nodes once expanded.
    func testYAMLAliasBombIsRefused() {
        var text = "l0: &l0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<10 { text += "l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        assertYAMLRefused(text, "the document expands to more than 1000000 nodes (through aliases)")
    }

    /// Found by `make fuzz` (yaml target, 12 minutes): Yams force-unwraps a mapping key's string,
    /// so a sequence or mapping as a key crashed kctr (SIGILL).
    func testYAMLKeyThatIsACollectionIsRefused() {
        assertYAMLRefused("? [a]\n: b\n", "line 1: a mapping key is a sequence or mapping; kctr reads only plain keys")
        assertYAMLRefused("x: {[a]: b}\n", "line 1: a mapping key is a sequence or mapping; kctr reads only plain keys")
        assertYAMLRefused("x: !!set {? {a: 1}}\n", "line 1: a mapping key is a sequence or mapping; kctr reads only plain keys")
    }

    /// At the limits, on a thread of Swift concurrency's pool (smaller stacks than the main thread).
    func testYAMLAtTheLimitsParses() async throws {
        let flow = String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
        var indented = ""
        for i in 0..<60 { indented += String(repeating: " ", count: i) + "a:\n" }
        let compact = String(repeating: "- ", count: 60) + "x"
        // 64 collections, the innermost empty; 63 and a scalar at depth 64.
        let deepest = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        let deepestScalar = String(repeating: "[", count: 63) + "x" + String(repeating: "]", count: 63)
        for text in [flow, indented, compact, deepest, deepestScalar] {
            let result = await Task.detached { NodeFiles.parseYAML(text, path: "deep.yaml") }.value
            XCTAssertNotNil(result.0, result.1 ?? "")
        }
        let tooDeep = String(repeating: "[", count: 64) + "x" + String(repeating: "]", count: 64)
        XCTAssertEqual(NodeFiles.parseYAML(tooDeep, path: "deep.yaml").1, "cannot parse deep.yaml: line 1 nests more than 64 levels deep")
        // Block and flow nesting add up: 60 + 64.
        let both = indented + String(repeating: " ", count: 60) + "b: " + flow
        let result = await Task.detached { NodeFiles.parseYAML(both, path: "deep.yaml") }.value
        XCTAssertEqual(result.1, "cannot parse deep.yaml: line 61 nests more than 64 levels deep")
        // Strings, comments and plain scalars with brackets are not nesting.
        let (value, error) = NodeFiles.parseYAML("a: \"[[[[\"\nb: '{{{{'  # [[[[\nc: x[0]\n", path: "ok.yaml")
        XCTAssertNil(error)
        XCTAssertEqual(value?["a"]?.string, "[[[[")
    }
}

/// A small deterministic generator for property tests (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(bound))
    }
}

extension HostileInputTests {
    /// A key of 100,000 parts made 100,000 nested tables: converting and freeing them overflowed
    /// the stack (SIGSEGV).
    func testTOMLDeepDottedKeysAreRefused() {
        let key = Array(repeating: "a", count: 100_000).joined(separator: ".")
        for text in [key + " = 1", "[" + key + "]\nx = 1", "[[" + key + "]]\nx = 1", "x = {" + key + " = 1}"] {
            XCTAssertThrowsError(try TOML.parse(text)) { error in
                XCTAssertTrue("\(error)".hasSuffix("key a.a.a... has more than 32 dotted parts"), "\(error)")
            }
        }
        // Inline tables whose keys have many parts: the parts count as nesting.
        let part = Array(repeating: "b", count: 30).joined(separator: ".")
        XCTAssertThrowsError(try TOML.parse("x = " + String(repeating: "{\(part) = ", count: 1000))) { error in
            XCTAssertTrue("\(error)".contains("more than 64 deep"), "\(error)")
        }
        XCTAssertNoThrow(try TOML.parse("[" + Array(repeating: "c", count: 32).joined(separator: ".") + "]\n" + part + " = 1"))
    }
}
