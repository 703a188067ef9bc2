import Foundation
import KctrCore
import KctrFuzz
import KctrRPC
import XCTest

/// Replays the committed seed corpus and crash reproducers (Corpus/<target>/, written by
/// scripts/fuzz-seeds and by `make fuzz` when it finds a crash) through the fuzz targets: a
/// regression that crashes a parser on one of them fails the whole test run.
final class CorpusReplayTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")

    func testEveryTargetHasSeedsAndReplaysThem() throws {
        for target in FuzzTargets.names {
            let dir = Self.corpus.appendingPathComponent(target)
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            XCTAssertFalse(files.isEmpty, "no seeds for fuzz target \(target) in \(dir.path): run scripts/fuzz-seeds")
            for file in files {
                let data = try Data(contentsOf: dir.appendingPathComponent(file))
                XCTAssertTrue(FuzzTargets.run(target, Array(data)), "\(target) is not a fuzz target")
            }
        }
    }

    /// The archive seeds are real, importable archives, so that fuzzing starts deep in the plan.
    func testArchiveSeedsMakeAPlan() throws {
        let dir = Self.corpus.appendingPathComponent("archive")
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
            let path = dir.appendingPathComponent(file).path
            let plan = try ImportPlan.make(try ArchiveCatalog.scan(path: path), source: path, platforms: .all)
            XCTAssertFalse(plan.images.isEmpty, file)
            XCTAssertFalse(plan.images.flatMap(\.manifests).isEmpty, file)
        }
    }

    /// The reply seeds are real replies of types kctr decodes, and decode whole (no refusal, no codec error).
    func testReplySeedsNameReplyTypesAndDecode() throws {
        let dir = Self.corpus.appendingPathComponent("reply")
        var types = Set<String>()
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() {
            let data = Array(try Data(contentsOf: dir.appendingPathComponent(file)))
            let newline = try XCTUnwrap(data.firstIndex(of: 0x0a), file)
            let name = String(decoding: data[..<newline], as: UTF8.self)
            XCTAssertTrue(ReplyFuzzing.typeNames.contains(name), "\(file): \(name) is not a reply type")
            XCTAssertEqual(ReplyFuzzing.decode(name, Array(data[(newline + 1)...])), .decoded, "\(file) does not decode as \(name)")
            types.insert(name)
        }
        XCTAssertGreaterThanOrEqual(types.count, 10, "run scripts/fuzz-seeds with containerd installed for the real replies")
    }

    func testUnknownTargetIsRefused() {
        XCTAssertFalse(FuzzTargets.run("nope", []))
    }

    func testJSONDocumentsAreSplitOnDashLines() {
        XCTAssertEqual(FuzzTargets.split(Array("a\n--\nb\n--\n".utf8)), [Array("a".utf8), Array("b".utf8), []])
    }
}
