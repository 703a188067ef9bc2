import XCTest
@testable import KctrCore

final class TimestampsTests: XCTestCase {
    func testParsesRFC3339() {
        XCTAssertEqual(Timestamps.parse("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(Timestamps.parse("2023-11-14T22:13:20Z"), 1_700_000_000)
        XCTAssertEqual(Timestamps.parse("2023-11-14T23:13:20+01:00"), 1_700_000_000)
        XCTAssertEqual(Timestamps.parse("2023-11-14T21:43:20-00:30"), 1_700_000_000)
        XCTAssertEqual(Timestamps.parse("2024-02-29T12:00:00.5Z"), 1_709_208_000.5)
        XCTAssertEqual(Timestamps.parse("1970-01-01T00:00:01.123456789Z") ?? 0, 1.123456, accuracy: 1e-9)
    }

    func testRefusesWhatIsNotATime() {
        for text in ["", "yesterday", "2023-11-14", "2023-11-14T22:13:20", "2023-11-14T22:13:20ZZ",
                     "2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.Z",
                     "2023-11-14T22:13:20+0100", "２０２３-11-14T22:13:20Z"] {
            XCTAssertNil(Timestamps.parse(text), text)
        }
    }

    func testFormats() {
        XCTAssertEqual(Timestamps.utc(1_700_000_000.9994), "2023-11-14T22:13:20Z")
        XCTAssertEqual(Timestamps.utc(1_700_000_000.9996), "2023-11-14T22:13:21Z", "to the millisecond first, as ISO8601DateFormatter")
        XCTAssertEqual(Timestamps.utcMicros(1.25), "1970-01-01T00:00:01.250000Z")
        XCTAssertEqual(Timestamps.utcMicros(1.9999999), "1970-01-01T00:00:02.000000Z")
        XCTAssertEqual(Timestamps.utc(-1), "1969-12-31T23:59:59Z")
    }

    func testLocalDayIsTodaysDate() {
        let day = Timestamps.localDay(Date().timeIntervalSince1970)
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = .current
        XCTAssertEqual(day, f.string(from: Date()))
    }

    /// The same text as Foundation's formatter, which these replace (UTC, whole seconds), and read back.
    func testMatchesISO8601DateFormatter() {
        let iso = ISO8601DateFormatter()
        for seconds in [0, 1.9, 59.999, 951_782_400, 951_868_799.5, 1_700_000_000.999_9, 4_102_444_799, 4_102_444_800,
                        1_234_567_890.25, 1_234_567_890.5] {
            let text = iso.string(from: Date(timeIntervalSince1970: seconds))
            XCTAssertEqual(Timestamps.utc(seconds), text, "\(seconds)")
            XCTAssertEqual(Timestamps.parse(text), iso.date(from: text)?.timeIntervalSince1970, text)
        }
        XCTAssertEqual(Timestamps.utc(1_700_000_000), "2023-11-14T22:13:20Z")
    }
}
