import Foundation
import KctrArchive
import XCTest

/// A fresh temporary directory per test, removed afterwards.
class ArchiveTestCase: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("kctr-archive-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let dir {
            try? FileManager.default.removeItem(at: dir)
        }
    }

    func path(_ name: String) -> String {
        dir.appendingPathComponent(name).path
    }

    /// Runs a command (looked up in PATH) in `dir`; fails the test with its stderr on a non-zero exit.
    @discardableResult
    func run(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = dir
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))"
            XCTFail(message, file: file, line: line)
            throw ArchiveError(message: message)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes a tar with Python's tarfile module, which (unlike GNU tar) stores hostile names verbatim.
    /// Each member is (name, linkname?): a regular 1-byte file "x", or a hardlink when linkname is set.
    func makeTarWithPython(_ name: String, members: [(String, String?)]) throws -> String {
        let script = """
        import io, sys, tarfile
        args = sys.argv[2:]
        with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
            for name, link in zip(args[0::2], args[1::2]):
                info = tarfile.TarInfo(name)
                if link:
                    info.type = tarfile.LNKTYPE
                    info.linkname = link
                    t.addfile(info)
                else:
                    info.size = 1
                    t.addfile(info, io.BytesIO(b"x"))
        """
        let out = path(name)
        try run(["python3", "-c", script, out] + members.flatMap { [$0.0, $0.1 ?? ""] })
        return out
    }

    func write(_ bytes: [UInt8], to name: String) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func readFile(_ p: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
    }

    /// Reads every entry with readAll, keyed by path, in archive order.
    func readEverything(_ reader: ArchiveReader, limit: Int = 64 << 20) throws -> [(ArchiveEntryInfo, [UInt8])] {
        var result: [(ArchiveEntryInfo, [UInt8])] = []
        while let info = try reader.next() {
            result.append((info, try reader.readAll(limit: limit)))
        }
        return result
    }

    /// Asserts that `body` throws an ArchiveError whose message contains every one of `fragments`.
    func assertArchiveError<T>(
        _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
    ) {
        do {
            let value = try body()
            XCTFail("expected an ArchiveError containing \(fragments), got \(value)", file: file, line: line)
        } catch let error as ArchiveError {
            for fragment in fragments {
                XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' does not contain '\(fragment)'", file: file, line: line)
            }
        } catch {
            XCTFail("expected an ArchiveError, got \(type(of: error)): \(error)", file: file, line: line)
        }
    }
}

/// Deterministic pseudo-random bytes (xorshift64), so content mismatches are not hidden by patterns.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return bytes
}
