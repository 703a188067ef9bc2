import Foundation
@testable import KctrCore
import XCTest

/// `kctr logs` reading the CRI log file: only a regular file, never blocked by a FIFO, and `--tail` from
/// the end of the file, giving exactly what a parse of the whole file gives.
final class LogFileTests: ScratchDirectoryTestCase {
    static let container = "0123456789abcdef0123456789abcdef"

    static func message(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    // MARK: what is at the path

    /// A FIFO at the log path: open(2) would wait for a writer forever; kctr refuses it at once.
    func testFIFOIsRefusedWithoutBlocking() throws {
        let path = dir + "/0.log"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result = ""
        Thread {
            result = Self.message { _ = try LogFile(path: path, container: Self.container) }
            done.signal()
        }.start()
        if done.wait(timeout: .now() + 30) == .timedOut {
            // Release the blocked open(2) with a writer, so that the test ends.
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            done.wait()
            if writer >= 0 { close(writer) }
            XCTFail("opening a FIFO log path blocked")
        }
        XCTAssertEqual(result, "cannot read the log of container 0123456789abc at \(path): it is a FIFO (named pipe), and kctr reads "
            + "only regular log files (hint: the runtime writes the log there as a regular file; check what replaced it with "
            + "`ls -l \(path)`, and `kctr inspect 0123456789abc`)")
    }

    func testSymlinkAndDirectoryAreRefused() throws {
        let target = dir + "/real.log"
        try "2026-01-01T00:00:00Z stdout F x\n".write(toFile: target, atomically: false, encoding: .utf8)
        let link = dir + "/0.log"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        XCTAssertEqual(Self.message { _ = try LogFile(path: link, container: Self.container) },
                       "cannot read the log of container 0123456789abc at \(link): it is a symbolic link, and kctr reads only "
                       + "regular log files (it does not follow links there) (hint: the runtime writes the log at that path itself; "
                       + "check what replaced it: ls -l \(link))")
        let sub = dir + "/1.log"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        XCTAssertTrue(Self.message { _ = try LogFile(path: sub, container: Self.container) }
            .hasPrefix("cannot read the log of container 0123456789abc at \(sub): it is a directory, and kctr reads only regular log files"))
        // The regular file itself reads, and blocking: readToEnd gets it all.
        let file = try LogFile(path: target, container: Self.container)
        var parser = CRILogParser()
        var lines: [CRILogLine] = []
        try file.readToEnd { lines += parser.feed($0) }
        XCTAssertEqual(lines.map(\.text), ["x"])
    }

    // MARK: --tail

    /// Parses all of `data`: the lines, and the parser for what comes next.
    func parseAll(_ data: [UInt8], stream: String? = nil, since: Double? = nil) -> ([CRILogLine], CRILogParser) {
        var p = CRILogParser(stream: stream, since: since)
        return (p.feed(Data(data)), p)
    }

    /// CRILogTail's start, then a parse from there.
    func parseTail(_ data: [UInt8], _ n: Int, stream: String? = nil, since: Double? = nil, chunk: Int) throws -> ([CRILogLine], CRILogParser, Int64) {
        let start = try CRILogTail.start(size: Int64(data.count), want: n, stream: stream, since: since, chunk: chunk) { offset, count in
            Array(data[Int(offset)..<(Int(offset) + count)])
        }
        var p = CRILogParser(stream: stream, since: since)
        return (Array(p.feed(Data(data[Int(start)...])).suffix(n)), p, start)
    }

    /// A deterministic log: both streams interleaved, lines split in P pieces, empty texts, texts with
    /// spaces, damaged records, and (sometimes) a record cut short at the end of the file.
    static func randomLog(seed: UInt64, records: Int) -> [UInt8] {
        var state = seed
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        var out = ""
        for i in 0..<records {
            let time = String(format: "2026-01-01T00:%02d:%02d.%03dZ", i / 600 % 60, i / 10 % 60, i % 10 * 100)
            switch next(20) {
            case 0: out += "garbage-without-fields\n"
            case 1: out += "\(time) stdin F not a stream\n"
            default:
                let stream = next(3) == 0 ? "stderr" : "stdout"
                let tag = next(5) < 2 ? "P" : "F"
                let text = String(repeating: String("ab c".prefix(1 + next(4))), count: next(4))
                out += next(10) == 0 ? "\(time) \(stream) \(tag)\n" : "\(time) \(stream) \(tag) \(text)\(i)\n"
            }
        }
        if seed % 3 == 0 { out += "2026-01-01T01:00:00Z stdout F cut sho" }
        return Array(out.utf8)
    }

    /// Over many logs, every N, both --stream values, with and without --since, and chunks from tiny to
    /// larger than the file: the tail is the last N lines of a whole parse, and the parser goes on as that one does.
    func testTailMatchesAWholeParse() throws {
        for seed in UInt64(0)..<40 {
            let log = Self.randomLog(seed: seed, records: 60)
            let extra = Array("2026-01-01T02:00:00Z stdout F more\n2026-01-01T02:00:01Z stderr F more-err\n".utf8)
            for stream in [nil, "stdout", "stderr"] {
                for since in [nil, CRILogParser.seconds("2026-01-01T00:00:03Z")] {
                    var (all, whole) = parseAll(log, stream: stream, since: since)
                    let after = whole.feed(Data(extra))
                    for n in [0, 1, 2, 3, 5, 8, 13, 100] {
                        for chunk in [1, 7, 64, 100_000] {
                            var (lines, tailed, _) = try parseTail(log, n, stream: stream, since: since, chunk: chunk)
                            let context = "seed \(seed), stream \(stream ?? "both"), since \(since.map { "\($0)" } ?? "-"), n \(n), chunk \(chunk)"
                            XCTAssertEqual(lines, Array(all.suffix(n)), context)
                            XCTAssertEqual(tailed.feed(Data(extra)), after, "then --follow: \(context)")
                        }
                    }
                }
            }
        }
    }

    /// Lines far longer than a chunk: 16 KiB P pieces as the runtime writes them, joined; a single record of
    /// 150 KiB; a dangling P piece at the end that the next record completes.
    func testTailJoinsPiecesAcrossChunks() throws {
        func piece(_ stream: String, _ tag: String, _ text: String, _ second: Int) -> String {
            "2026-01-01T00:00:\(String(format: "%02d", second))Z \(stream) \(tag) \(text)\n"
        }
        let long = String(repeating: "x", count: 16 << 10)
        var log = ""
        for i in 0..<5 {
            for _ in 0..<6 { log += piece("stdout", "P", long, i) + piece("stderr", "F", "err-\(i)", i) }
            log += piece("stdout", "F", "end-\(i)", i)
        }
        log += piece("stderr", "F", String(repeating: "y", count: 150 << 10), 30)
        log += piece("stdout", "P", "dangling-", 31)
        let bytes = Array(log.utf8)
        let (all, whole) = parseAll(bytes)
        for n in 0..<12 {
            var (lines, tailed, start) = try parseTail(bytes, n, chunk: CRILogTail.chunk)
            XCTAssertEqual(lines, Array(all.suffix(n)), "n \(n)")
            if n == 1 { XCTAssertEqual(start, Int64(bytes.count - (150 << 10) - 71), "one line back: the 150 KiB record and what follows") }
            var w = whole
            XCTAssertEqual(tailed.feed(Data(piece("stdout", "F", "done", 32).utf8)), w.feed(Data(piece("stdout", "F", "done", 32).utf8)))
        }
        let (stdout, _, _) = try parseTail(bytes, 2, stream: "stdout", chunk: CRILogTail.chunk)
        XCTAssertEqual(stdout.map(\.text), [String(repeating: long, count: 6) + "end-3", String(repeating: long, count: 6) + "end-4"])
        XCTAssertEqual(stdout.map(\.time), ["2026-01-01T00:00:03Z", "2026-01-01T00:00:04Z"], "a joined line has its first piece's time")
    }

    /// A log of 24 MiB: the last lines come from the last chunks read, whatever the size of the file.
    func testTailOfABigFileReadsItsEndOnly() throws {
        let path = dir + "/0.log"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        var line = 0
        var block = ""
        for _ in 0..<24 {
            block = ""
            while block.utf8.count < (1 << 20) - 100 {
                block += "2026-01-01T00:00:00.\(String(format: "%09d", line))Z \(line % 7 == 0 ? "stderr" : "stdout") F line \(line)\n"
                line += 1
            }
            handle.write(Data(block.utf8))
        }
        try handle.close()
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).intValue
        XCTAssertGreaterThan(size, 23 << 20)

        let file = try LogFile(path: path, container: Self.container)
        var parser = CRILogParser(stream: "stdout")
        let lines = try file.tail(3, parser: &parser)
        let last = (line - 4..<line).filter { $0 % 7 != 0 }.suffix(3)
        XCTAssertEqual(lines.map(\.text), last.map { "line \($0)" })
        XCTAssertLessThanOrEqual(file.bytesRead, Int64(2 * CRILogTail.chunk), "read \(file.bytesRead) of \(size) bytes for 3 lines")
        // At the end, ready to follow: nothing more to read.
        XCTAssertEqual(try file.readToEnd { _ in }, 0)
    }
}
