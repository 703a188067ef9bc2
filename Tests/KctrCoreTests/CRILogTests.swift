import Foundation
import XCTest
@testable import KctrCore

final class CRILogTests: XCTestCase {
    func testJoinsPartialLinesPerStream() {
        var p = CRILogParser()
        let lines = p.feed(Data("""
        2026-01-01T00:00:00.000000001Z stdout P hel
        2026-01-01T00:00:00.5Z stderr F oops
        2026-01-01T00:00:01Z stdout F lo
        2026-01-01T00:00:02Z stdout F \n
        """.utf8))
        XCTAssertEqual(lines, [
            CRILogLine(time: "2026-01-01T00:00:00.5Z", stream: "stderr", text: "oops"),
            CRILogLine(time: "2026-01-01T00:00:00.000000001Z", stream: "stdout", text: "hello"),
            CRILogLine(time: "2026-01-01T00:00:02Z", stream: "stdout", text: ""),
        ])
    }

    func testBytesSplitAcrossFeeds() {
        var p = CRILogParser()
        XCTAssertEqual(p.feed(Data("2026-01-01T00:00:00Z stdout F ab".utf8)), [])
        XCTAssertEqual(p.feed(Data("c\n".utf8)), [CRILogLine(time: "2026-01-01T00:00:00Z", stream: "stdout", text: "abc")])
    }

    func testStreamAndSinceFilters() {
        var p = CRILogParser(stream: "stdout", since: CRILogParser.seconds("2026-01-01T00:00:01Z"))
        let lines = p.feed(Data("""
        2026-01-01T00:00:00Z stdout F early
        2026-01-01T00:00:01.250Z stderr F err
        2026-01-01T00:00:02Z stdout F late\n
        """.utf8))
        XCTAssertEqual(lines.map(\.text), ["late"])
    }

    func testTimeParsing() {
        XCTAssertEqual(CRILogParser.seconds("1970-01-01T00:00:01Z"), 1)
        XCTAssertEqual(CRILogParser.seconds("1970-01-01T00:00:01.123456789Z") ?? 0, 1.123, accuracy: 0.0005)
        XCTAssertEqual(CRILogParser.seconds("1970-01-01T01:00:00+01:00"), 0)
        XCTAssertNil(CRILogParser.seconds("yesterday"))
        XCTAssertEqual(CRILogParser.since("10s", now: 100), 90)
        XCTAssertEqual(CRILogParser.since("1970-01-01T00:01:00Z", now: 1000), 60)
        XCTAssertNil(CRILogParser.since("soon", now: 1000))
    }

    func testMalformedLinesAreSkipped() {
        var p = CRILogParser()
        XCTAssertEqual(p.feed(Data("garbage\n2026-01-01T00:00:00Z stdout F ok\n".utf8)).map(\.text), ["ok"])
    }
}
