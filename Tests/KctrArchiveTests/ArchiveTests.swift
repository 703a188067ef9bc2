import Foundation
import KctrArchive
import XCTest

final class ArchiveRoundTripTests: ArchiveTestCase {
    let big = pseudoRandomBytes(3 << 20, seed: 42)

    /// Writes dirs, small files, an empty file, a non-ASCII name and a 3 MiB file in odd-sized chunks.
    func writeSample(to p: String) throws {
        let writer = try ArchiveWriter(path: p)
        try writer.addDirectory("layer")
        try writer.addDirectory("layer/etc/")
        try writer.addFile("layer/etc/hostname", bytes: Array("node-1\n".utf8))
        try writer.addFile("layer/empty", bytes: [])
        try writer.addFile("layer/ünïcødé name.txt", bytes: [1, 2, 3])
        try writer.addFile("layer/big.bin", size: Int64(big.count)) { write in
            try big.withUnsafeBytes { all in
                var offset = 0
                var chunk = 1
                while offset < all.count {
                    let n = min(chunk, all.count - offset)
                    try write(UnsafeRawBufferPointer(rebasing: all[offset..<offset + n]))
                    offset += n
                    chunk = chunk * 3 + 7  // 1, 10, 37, ... odd, growing sizes
                    if chunk > 200_003 { chunk = 4093 }
                }
            }
        }
        try writer.finish()
    }

    func testWriteThenReadBack() throws {
        let p = path("sample.tar")
        try writeSample(to: p)

        let reader = try ArchiveReader(path: p)
        var entries: [ArchiveEntryInfo] = []
        var contents: [String: [UInt8]] = [:]
        while let info = try reader.next() {
            entries.append(info)
            if info.path == "layer/big.bin" {
                // Streaming, with at least one chunk boundary.
                var data: [UInt8] = []
                var chunks = 0
                try reader.readData { chunk in
                    chunks += 1
                    data.append(contentsOf: chunk)
                }
                XCTAssertGreaterThan(chunks, 1)
                contents[info.path] = data
            } else {
                contents[info.path] = try reader.readAll(limit: 1024)
            }
        }
        XCTAssertEqual(reader.compression, "none")
        XCTAssertEqual(entries, [
            ArchiveEntryInfo(path: "layer/", type: .directory, size: 0),
            ArchiveEntryInfo(path: "layer/etc/", type: .directory, size: 0),
            ArchiveEntryInfo(path: "layer/etc/hostname", type: .file, size: 7),
            ArchiveEntryInfo(path: "layer/empty", type: .file, size: 0),
            ArchiveEntryInfo(path: "layer/ünïcødé name.txt", type: .file, size: 3),
            ArchiveEntryInfo(path: "layer/big.bin", type: .file, size: 3 << 20),
        ])
        XCTAssertEqual(contents["layer/etc/hostname"], Array("node-1\n".utf8))
        XCTAssertEqual(contents["layer/empty"], [])
        XCTAssertEqual(contents["layer/ünïcødé name.txt"], [1, 2, 3])
        XCTAssertEqual(contents["layer/big.bin"]?.count, big.count)
        XCTAssertTrue(contents["layer/big.bin"] == big, "3 MiB content differs")
        XCTAssertNil(try reader.next(), "next() after the end stays nil")
    }

    func testSystemTarReadsWriterOutputWithFixedMetadata() throws {
        let p = path("sample.tar")
        try writeSample(to: p)
        let listing = try run(["tar", "--numeric-owner", "-tvf", p])
        let lines = listing.split(separator: "\n")
        XCTAssertEqual(lines.count, 6, listing)
        XCTAssertTrue(lines[0].hasPrefix("drwxr-xr-x 0/0"), String(lines[0]))
        XCTAssertTrue(lines[2].hasPrefix("-rw-r--r-- 0/0"), String(lines[2]))
        XCTAssertTrue(lines.allSatisfy { $0.contains("1970-01-01") }, listing)
        try run(["tar", "-xf", p])
        XCTAssertEqual(try readFile(path("layer/big.bin")), big)
        XCTAssertEqual(try readFile(path("layer/ünïcødé name.txt")), [1, 2, 3])
    }

    func testOutputIsDeterministic() throws {
        try writeSample(to: path("one.tar"))
        try writeSample(to: path("two.tar"))
        let one = try readFile(path("one.tar"))
        XCTAssertGreaterThan(one.count, 3 << 20)
        XCTAssertTrue(one == (try readFile(path("two.tar"))), "two runs produced different bytes")
    }

    func testReaderAndWriterOnCallerOwnedDescriptors() throws {
        let p = path("fd.tar")
        let writeFD = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(writeFD, 0)
        defer { close(writeFD) }
        do {
            let writer = try ArchiveWriter(fileDescriptor: writeFD)
            try writer.addFile("a.txt", bytes: Array("hello".utf8))
            try writer.finish()
        }
        XCTAssertNotEqual(fcntl(writeFD, F_GETFD), -1, "writer closed a descriptor it does not own")

        let readFD = open(p, O_RDONLY)
        XCTAssertGreaterThanOrEqual(readFD, 0)
        defer { close(readFD) }
        do {
            let reader = try ArchiveReader(fileDescriptor: readFD, blockSize: 512)
            let entries = try readEverything(reader)
            XCTAssertEqual(entries.map(\.0.path), ["a.txt"])
            XCTAssertEqual(entries.first?.1, Array("hello".utf8))
        }
        XCTAssertNotEqual(fcntl(readFD, F_GETFD), -1, "reader closed a descriptor it does not own")
    }
}

final class SystemTarTests: ArchiveTestCase {
    let payload = pseudoRandomBytes(200_000, seed: 7)

    override func setUpWithError() throws {
        try super.setUpWithError()
        try FileManager.default.createDirectory(atPath: path("src/sub"), withIntermediateDirectories: true)
        _ = try write(payload, to: "src/sub/data.bin")
        _ = try write(Array("hi\n".utf8), to: "src/hi.txt")
    }

    func checkContents(_ p: String, compression: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let reader = try ArchiveReader(path: p)
        let entries = try readEverything(reader)
        XCTAssertEqual(reader.compression, compression, file: file, line: line)
        let byPath = Dictionary(entries.map { ($0.0.path, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(Set(byPath.keys), ["src/", "src/sub/", "src/sub/data.bin", "src/hi.txt"], file: file, line: line)
        XCTAssertEqual(byPath["src/"]?.0.type, .directory, file: file, line: line)
        XCTAssertEqual(byPath["src/sub/data.bin"]?.0, ArchiveEntryInfo(path: "src/sub/data.bin", type: .file, size: 200_000, sparse: false), file: file, line: line)
        XCTAssertTrue(byPath["src/sub/data.bin"]?.1 == payload, "content differs", file: file, line: line)
        XCTAssertEqual(byPath["src/hi.txt"]?.1, Array("hi\n".utf8), file: file, line: line)
    }

    func testPlain() throws {
        try run(["tar", "-cf", "plain.tar", "src"])
        try checkContents(path("plain.tar"), compression: "none")
    }

    func testGzip() throws {
        try run(["tar", "-czf", "gz.tar.gz", "src"])
        try checkContents(path("gz.tar.gz"), compression: "gzip")
    }

    func testZstd() throws {
        try run(["tar", "-cf", "z.tar", "src"])
        try run(["zstd", "-q", "z.tar", "-o", "z.tar.zst"])
        try checkContents(path("z.tar.zst"), compression: "zstd")
    }

    func testXzAndBzip2() throws {
        try run(["tar", "-cJf", "x.tar.xz", "src"])
        try checkContents(path("x.tar.xz"), compression: "xz")
        try run(["tar", "-cjf", "b.tar.bz2", "src"])
        try checkContents(path("b.tar.bz2"), compression: "bzip2")
    }

    func testCompressionIsNamedBeforeFirstHeader() throws {
        try run(["tar", "-czf", "gz.tar.gz", "src"])
        XCTAssertEqual(try ArchiveReader(path: path("gz.tar.gz")).compression, "gzip")
    }

    func testSymlinkAndHardlink() throws {
        try FileManager.default.createSymbolicLink(atPath: path("src/link"), withDestinationPath: "sub/data.bin")
        try FileManager.default.createSymbolicLink(atPath: path("src/abs-link"), withDestinationPath: "/etc/os-release")
        try FileManager.default.linkItem(atPath: path("src/hi.txt"), toPath: path("src/hard.txt"))
        try run(["tar", "-cf", "links.tar", "src"])

        let reader = try ArchiveReader(path: path("links.tar"))
        var byPath: [String: ArchiveEntryInfo] = [:]
        while let info = try reader.next() { byPath[info.path] = info }

        XCTAssertEqual(byPath["src/link"], ArchiveEntryInfo(path: "src/link", type: .symlink, size: 0, linkTarget: "sub/data.bin"))
        XCTAssertEqual(byPath["src/abs-link"]?.linkTarget, "/etc/os-release", "absolute symlink targets are allowed")
        // GNU tar stores whichever of the two names it meets first as the file, the other as the link.
        let linked = [byPath["src/hi.txt"], byPath["src/hard.txt"]].compactMap { $0 }
        XCTAssertEqual(linked.count, 2)
        XCTAssertEqual(linked.filter { $0.type == .file }.count, 1)
        let hard = linked.first { $0.type == .hardlink }
        XCTAssertNotNil(hard)
        XCTAssertEqual(hard?.size, 0)
        XCTAssertEqual(hard?.linkTarget, linked.first { $0.type == .file }?.path)
    }

    func testNonASCIINamesFromOtherWriters() throws {
        // GNU tar stores the raw bytes in the ustar header; Python's PAX writer a UTF-8 `path` record.
        // Both must come back as the same Swift string although the test process runs in the C locale.
        _ = try write([5], to: "src/grüße-日本.txt")
        try run(["tar", "--format=ustar", "-cf", "gnu.tar", "src/grüße-日本.txt"])
        let gnu = try ArchiveReader(path: path("gnu.tar"))
        XCTAssertEqual(try gnu.next()?.path, "src/grüße-日本.txt")
        XCTAssertEqual(try gnu.readAll(limit: 1), [5])

        let p = try makeTarWithPython("py.tar", members: [("grüße-日本.txt", nil)])
        let py = try ArchiveReader(path: p)
        XCTAssertEqual(try py.next()?.path, "grüße-日本.txt")
        XCTAssertEqual(try py.readAll(limit: 1), Array("x".utf8))
    }

    func testSparseFileHolesAreZeroFilled() throws {
        // 3 MiB sparse file: a hole, data at 1 MiB, a hole, data at the very end.
        let script = """
        import sys
        with open(sys.argv[1], "wb") as f:
            f.seek(1 << 20); f.write(b"middle" * 1000)
            f.seek((3 << 20) - 3); f.write(b"end")
        """
        try run(["python3", "-c", script, path("sparse.img")])
        try run(["tar", "--sparse", "--format=gnu", "-cf", "sparse.tar", "sparse.img"])
        let expected = try readFile(path("sparse.img"))
        XCTAssertEqual(expected.count, 3 << 20)

        let reader = try ArchiveReader(path: path("sparse.tar"))
        let info = try XCTUnwrap(try reader.next())
        XCTAssertEqual(info, ArchiveEntryInfo(path: "sparse.img", type: .file, size: 3 << 20, sparse: true))
        var data: [UInt8] = []
        try reader.readData { data.append(contentsOf: $0) }
        XCTAssertEqual(data.count, expected.count)
        XCTAssertTrue(data == expected, "sparse content differs")
        // The tar really is sparse (far smaller than the file), so holes were filled by the reader.
        XCTAssertLessThan(try readFile(path("sparse.tar")).count, 1 << 20)
    }
}

final class HostileArchiveTests: ArchiveTestCase {
    func testParentTraversalIsRejected() throws {
        let p = try makeTarWithPython("evil.tar", members: [("ok.txt", nil), ("../evil", nil), ("after.txt", nil)])
        let reader = try ArchiveReader(path: p)
        XCTAssertEqual(try reader.next()?.path, "ok.txt")
        assertArchiveError(["'../evil'", ".."]) { try reader.next() }
        assertArchiveError(["no current entry"]) { try reader.readAll(limit: 10) }
        // The rejected entry can be skipped.
        XCTAssertEqual(try reader.next()?.path, "after.txt")
    }

    func testNestedParentTraversalIsRejected() throws {
        let p = try makeTarWithPython("evil.tar", members: [("a/b/../../../evil", nil)])
        assertArchiveError(["a/b/../../../evil"]) { try ArchiveReader(path: p).next() }
    }

    func testDotsInNamesAreFine() throws {
        let p = try makeTarWithPython("dots.tar", members: [("./a/..b/c..", nil), ("...", nil)])
        let reader = try ArchiveReader(path: p)
        XCTAssertEqual(try reader.next()?.path, "./a/..b/c..")
        XCTAssertEqual(try reader.next()?.path, "...")
        XCTAssertNil(try reader.next())
    }

    func testAbsolutePathIsRejected() throws {
        let p = try makeTarWithPython("abs.tar", members: [("/abs", nil)])
        let reader = try ArchiveReader(path: p)
        assertArchiveError(["'/abs'", "absolute"]) { try reader.next() }
    }

    func testHardlinkTargetTraversalIsRejected() throws {
        let p = try makeTarWithPython("hard.tar", members: [("innocent", "../../etc/shadow")])
        assertArchiveError(["hardlink target", "../../etc/shadow"]) { try ArchiveReader(path: p).next() }
    }

    func testAbsurdSizeIsRejected() throws {
        // A pax "size" record overrides the ustar size field; 2 TiB > 1 TiB limit.
        let script = """
        import sys, tarfile
        info = tarfile.TarInfo("huge.bin")
        info.pax_headers = {"size": str(2 << 40)}
        with open(sys.argv[1], "wb") as f:
            f.write(info.tobuf(format=tarfile.PAX_FORMAT))
            f.write(b"\\0" * 4096)
        """
        try run(["python3", "-c", script, path("huge.tar")])
        assertArchiveError(["huge.bin", "absurd"]) { try ArchiveReader(path: path("huge.tar")).next() }
    }

    func testTruncatedArchiveThrows() throws {
        let writer = try ArchiveWriter(path: path("full.tar"))
        try writer.addFile("first.txt", bytes: [1, 2, 3])
        try writer.addFile("big.bin", bytes: pseudoRandomBytes(1 << 20, seed: 3))
        try writer.addFile("last.txt", bytes: [4])
        try writer.finish()
        let full = try readFile(path("full.tar"))
        let truncated = try write(Array(full[..<(full.count / 2)]), to: "half.tar")

        let reader = try ArchiveReader(path: truncated)
        XCTAssertEqual(try reader.next()?.path, "first.txt")
        XCTAssertEqual(try reader.readAll(limit: 10), [1, 2, 3])
        XCTAssertEqual(try reader.next()?.path, "big.bin")
        assertArchiveError(["big.bin", "runcated"]) { try reader.readAll(limit: 2 << 20) }
        assertArchiveError([]) { try reader.next() }  // Stays failed, no crash.
    }

    func testTruncatedInsideHeaderThrows() throws {
        let writer = try ArchiveWriter(path: path("full.tar"))
        try writer.addFile("first.txt", bytes: [1, 2, 3])
        try writer.addFile("second.txt", bytes: [4])
        try writer.finish()
        let full = try readFile(path("full.tar"))
        // Header (512) + data block (512) of the first entry, then half of the second header.
        let truncated = try write(Array(full[..<(1024 + 256)]), to: "cut.tar")
        let reader = try ArchiveReader(path: truncated)
        XCTAssertEqual(try reader.next()?.path, "first.txt")
        assertArchiveError(["header"]) { try reader.next() }
    }

    func testRandomBytesAreNotAnArchive() throws {
        let p = try write(pseudoRandomBytes(10_000, seed: 99), to: "random.bin")
        assertArchiveError(["Unrecognized archive format"]) { try ArchiveReader(path: p).next() }
    }

    func testEmptyFileIsNotAnArchive() throws {
        let p = try write([], to: "empty.tar")
        assertArchiveError(["Unrecognized archive format"]) { try ArchiveReader(path: p).next() }
    }

    func testEmptyTarIsFine() throws {
        // Just the two zero end-of-archive blocks.
        let p = try write([UInt8](repeating: 0, count: 10240), to: "empty.tar")
        XCTAssertNil(try ArchiveReader(path: p).next())
    }

    func testMissingFile() throws {
        assertArchiveError(["open", "no-such.tar"]) { try ArchiveReader(path: path("no-such.tar")) }
    }

    func testGzipThatIsNotTarInside() throws {
        _ = try write(Array("just text, no tar here\n".utf8), to: "text")
        try run(["gzip", "text"])
        // libarchive bids for the format when opening, so this fails in init.
        assertArchiveError(["text.gz", "Unrecognized archive format"]) { try ArchiveReader(path: path("text.gz")).next() }
    }
}

final class ReaderLimitsAndMisuseTests: ArchiveTestCase {
    func makeArchive(_ files: [(String, [UInt8])]) throws -> String {
        let p = path("a.tar")
        let writer = try ArchiveWriter(path: p)
        for (name, bytes) in files { try writer.addFile(name, bytes: bytes) }
        try writer.finish()
        return p
    }

    func testReadAllOverLimitThrowsBeforeReading() throws {
        let content = pseudoRandomBytes(1000, seed: 5)
        let reader = try ArchiveReader(path: try makeArchive([("f", content)]))
        XCTAssertNotNil(try reader.next())
        assertArchiveError(["'f'", "1000", "limit of 999"]) { try reader.readAll(limit: 999) }
        // Nothing was consumed by the refusal: the entry is still fully readable.
        XCTAssertEqual(try reader.readAll(limit: 1000), content)
    }

    func testReadAllWithNegativeLimitThrows() throws {
        let reader = try ArchiveReader(path: try makeArchive([("f", [])]))
        XCTAssertNotNil(try reader.next())
        assertArchiveError(["limit"]) { try reader.readAll(limit: -1) }
        XCTAssertEqual(try reader.readAll(limit: 0), [])
    }

    func testDataIsReadableOncePerEntry() throws {
        let reader = try ArchiveReader(path: try makeArchive([("f", [1]), ("g", [2])]))
        assertArchiveError(["call next() first"]) { try reader.readAll(limit: 10) }
        XCTAssertNotNil(try reader.next())
        XCTAssertEqual(try reader.readAll(limit: 10), [1])
        assertArchiveError(["already read"]) { try reader.readAll(limit: 10) }
        XCTAssertEqual(try reader.next()?.path, "g")
        XCTAssertEqual(try reader.readAll(limit: 10), [2])
        XCTAssertNil(try reader.next())
        assertArchiveError(["end of archive"]) { try reader.readAll(limit: 10) }
    }

    struct Stop: Error {}

    func testClosureCanAbortAndNextSkipsTheRest() throws {
        let reader = try ArchiveReader(path: try makeArchive([("big", pseudoRandomBytes(2 << 20, seed: 1)), ("small", [9])]), blockSize: 4096)
        XCTAssertNotNil(try reader.next())
        var seen = 0
        XCTAssertThrowsError(try reader.readData { chunk in
            seen += chunk.count
            throw Stop()
        }) { XCTAssertTrue($0 is Stop, "\($0)") }
        XCTAssertGreaterThan(seen, 0)
        XCTAssertLessThan(seen, 2 << 20)
        XCTAssertEqual(try reader.next()?.path, "small")
        XCTAssertEqual(try reader.readAll(limit: 1), [9])
    }
}

final class WriterTests: ArchiveTestCase {
    func testRefusesSymlinkAtPath() throws {
        let target = try write(Array("precious".utf8), to: "target")
        try FileManager.default.createSymbolicLink(atPath: path("link.tar"), withDestinationPath: target)
        assertArchiveError(["link.tar", "symlink"]) { try ArchiveWriter(path: path("link.tar")) }
        XCTAssertEqual(try readFile(target), Array("precious".utf8), "target was modified through the symlink")
    }

    func testRefusesDanglingSymlinkAtPath() throws {
        try FileManager.default.createSymbolicLink(atPath: path("link.tar"), withDestinationPath: path("nowhere"))
        assertArchiveError(["link.tar"]) { try ArchiveWriter(path: path("link.tar")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("nowhere")))
    }

    func testCreatesWithMode0644AndTruncates() throws {
        let p = try write(pseudoRandomBytes(100_000, seed: 1), to: "out.tar")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: p)
        try FileManager.default.removeItem(atPath: p)
        let writer = try ArchiveWriter(path: p)
        try writer.addFile("x", bytes: [1])
        try writer.finish()
        let attributes = try FileManager.default.attributesOfItem(atPath: p)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
        XCTAssertEqual(mode & ~0o022, 0o644 & ~0o022)  // Modulo umask.
        XCTAssertEqual(try readEverything(try ArchiveReader(path: p)).map(\.1), [[1]])

        // Overwriting a longer file truncates it.
        _ = try write(pseudoRandomBytes(100_000, seed: 2), to: "out.tar")
        let again = try ArchiveWriter(path: p)
        try again.addFile("y", bytes: [2])
        try again.finish()
        XCTAssertLessThan(try readFile(p).count, 100_000)
        XCTAssertEqual(try readEverything(try ArchiveReader(path: p)).map(\.0.path), ["y"])
    }

    func testShortFileThrowsAndPoisonsWriter() throws {
        let writer = try ArchiveWriter(path: path("bad.tar"))
        assertArchiveError(["'short'", "3 bytes written", "10"]) {
            try writer.addFile("short", size: 10) { write in
                try [UInt8](repeating: 7, count: 3).withUnsafeBytes { try write($0) }
            }
        }
        assertArchiveError(["unusable"]) { try writer.addFile("next", bytes: [1]) }
        assertArchiveError(["unusable"]) { try writer.finish() }
    }

    func testOverlongFileThrowsAtTheOffendingWrite() throws {
        let writer = try ArchiveWriter(path: path("bad.tar"))
        var writes = 0
        assertArchiveError(["'long'", "exceeds", "4"]) {
            try writer.addFile("long", size: 4) { write in
                for _ in 0..<3 {
                    try [UInt8](repeating: 1, count: 2).withUnsafeBytes { try write($0) }
                    writes += 1
                }
            }
        }
        XCTAssertEqual(writes, 2)
    }

    struct ProducerFailed: Error {}

    func testProducerErrorPropagatesAndPoisonsWriter() throws {
        let writer = try ArchiveWriter(path: path("bad.tar"))
        XCTAssertThrowsError(try writer.addFile("f", size: 5) { _ in throw ProducerFailed() }) {
            XCTAssertTrue($0 is ProducerFailed, "\($0)")
        }
        assertArchiveError(["unusable"]) { try writer.addDirectory("d") }
    }

    func testRejectsUnsafePathsAndSizesWithoutPoisoning() throws {
        let p = path("ok.tar")
        let writer = try ArchiveWriter(path: p)
        assertArchiveError(["'../x'"]) { try writer.addFile("../x", bytes: [1]) }
        assertArchiveError(["'/x'", "absolute"]) { try writer.addDirectory("/x") }
        assertArchiveError(["empty"]) { try writer.addFile("", bytes: []) }
        assertArchiveError(["negative"]) { try writer.addFile("n", size: -1) { _ in } }
        assertArchiveError(["absurd"]) { try writer.addFile("n", size: 1 << 41) { _ in } }
        try writer.addFile("fine", bytes: [1])
        try writer.finish()
        XCTAssertEqual(try readEverything(try ArchiveReader(path: p)).map(\.0.path), ["fine"])
    }

    func testFinishTwiceThrows() throws {
        let writer = try ArchiveWriter(path: path("a.tar"))
        try writer.finish()
        assertArchiveError(["already finished"]) { try writer.finish() }
        assertArchiveError(["already finished"]) { try writer.addFile("x", bytes: []) }
        XCTAssertNil(try ArchiveReader(path: path("a.tar")).next(), "an empty archive is valid")
    }

    func testDeinitWithoutFinishDoesNotCompleteTheArchive() throws {
        let p = path("partial.tar")
        do {
            let writer = try ArchiveWriter(path: p)
            try writer.addFile("x", bytes: [1, 2, 3])
        }
        // If deinit had closed (rather than failed) the archive, this would be a valid archive.
        assertArchiveError([]) { try readEverything(try ArchiveReader(path: p)) }
    }

    func testLongAndNonASCIINamesRoundTrip() throws {
        let long = (0..<30).map { "component-\($0)" }.joined(separator: "/") + "/file.txt"  // > 255 bytes: needs pax
        XCTAssertGreaterThan(long.utf8.count, 255)
        let p = path("long.tar")
        let writer = try ArchiveWriter(path: p)
        try writer.addFile(long, bytes: [1])
        try writer.addFile("日本語/файл", bytes: [2])
        try writer.finish()
        let entries = try readEverything(try ArchiveReader(path: p))
        XCTAssertEqual(entries.map(\.0.path), [long, "日本語/файл"])
        XCTAssertEqual(entries.map(\.1), [[1], [2]])
        // Other readers agree (the non-ASCII name is stored as raw UTF-8 bytes, see ArchiveWriter).
        let names = try run(["python3", "-c", "import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))", p])
        XCTAssertEqual(names, long + "\n日本語/файл\n")
    }
}
