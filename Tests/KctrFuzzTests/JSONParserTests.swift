import Foundation
import XCTest
import KctrCore
import KctrFuzz

/// JSONValue.parse against JSONSerialization, the reader it replaced (the `json` fuzz target makes the
/// same comparison on every input).
final class JSONParserTests: XCTestCase {
    func testSameAsJSONSerializationOnCRIDocuments() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("KctrCoreTests/Fixtures")
        var checked = 0
        for name in ["cri-status-info-1.6.json", "cri-config-systemd-cgroup.json"] {
            let text = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            let parsed = JSONValue.parse(text)
            XCTAssertNotEqual(parsed, .string(text), "\(name) is JSON")
            XCTAssertEqual(parsed, FuzzTargets.viaFoundation(text), name)
            // CRI puts JSON documents inside string values (the "info" map): those too.
            if case .object(let o) = parsed {
                for case .string(let inner) in o.values {
                    XCTAssertEqual(JSONValue.parse(inner), FuzzTargets.viaFoundation(inner))
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 0)
    }

    func testSameAsJSONSerializationOnEdgeCases() {
        let cases = [
            #"{"a":[1,true,null,"s",2.5],"b":{"c":"d"}}"#, "  [ ]  ", "{}", "0", "-0", "-12.5e+3", "1E2", "123456789012345678",
            #""\u00e9\ud83d\ude00 \" \\ \/ \b \f \n \r \t""#, #"{"k":1,"k":2}"#, "\"caf\u{e9} \u{1F600}\"", "[1,[2,[3,[4]]]]",
            // Not JSON: kept as text.
            "[1,]", "{\"a\":1,}",
            "", " ", "not json", "[,]", "{,}", "[1,,]", "01", "1.", ".5", "+1", "1e", "--1", "[1 2]", "{\"a\" 1}", "{a:1}",
            "'x'", "\"unterminated", "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00""#, "tru", "nul",
            "[1]]", "{}{}", "NaN", "Infinity",
        ]
        for text in cases {
            XCTAssertEqual(JSONValue.parse(text), FuzzTargets.viaFoundation(text), text)
        }
    }

    /// The one known difference: JSONSerialization stops at a NUL byte, JSON has none outside strings.
    func testNULAfterTheValueIsNotJSON() {
        XCTAssertEqual(JSONValue.parse("1\u{0}"), .string("1\u{0}"))
        XCTAssertEqual(FuzzTargets.viaFoundation("1\u{0}"), .number(1))
    }

    /// Past 17 significant digits both read the number, JSONSerialization a few units in the last place off.
    func testLongNumbersAreReadToDoublePrecision() {
        let text = String(repeating: "3", count: 53) + "1"
        XCTAssertEqual(JSONValue.parse(text), .number(Double(text) ?? 0))
        XCTAssertTrue(FuzzTargets.sameDocument(JSONValue.parse(text), FuzzTargets.viaFoundation(text)))
        XCTAssertFalse(FuzzTargets.sameDocument(.number(1), .number(1.001)))
    }

    func testDeepNestingIsRefusedNotRecursedInto() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        XCTAssertEqual(JSONValue.parse(deep), .string(deep))
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        XCTAssertNotEqual(JSONValue.parse(ok), .string(ok))
    }
}
