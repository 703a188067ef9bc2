import Foundation
import XCTest
@testable import KctrCore

final class RenderTests: XCTestCase {
    func testTableAlignment() {
        let text = Render.table(["NAME", "SIZE", "DIGEST"], [
            ["docker.io/library/busybox:1.36", "4.3 MiB", "ca978112ca1b"],
            ["a", "1 B", "3e23e8160039"],
        ])
        let expected = """
        NAME                             SIZE      DIGEST
        docker.io/library/busybox:1.36   4.3 MiB   ca978112ca1b
        a                                1 B       3e23e8160039

        """
        XCTAssertEqual(text, expected)
    }

    func testTableHeaderWiderThanCellsAndLastColumnUnpadded() {
        let text = Render.table(["NAMESPACE", "LABELS"], [["k8s.io", ""], ["default", "a=b,c=d"]])
        XCTAssertEqual(text, "NAMESPACE   LABELS\nk8s.io      \ndefault     a=b,c=d\n")
    }

    func testTableWithoutRows() {
        XCTAssertEqual(Render.table(["NAME", "SIZE"], []), "NAME   SIZE\n")
        XCTAssertEqual(Render.table(["ONE"], [["x"], ["longer"]]), "ONE\nx\nlonger\n")
    }

    func testTableShortRow() {
        // A row with fewer cells than headers: the cells it has are aligned, the last is not padded.
        XCTAssertEqual(Render.table(["A", "B", "C"], [["xx"]]), "A    B   C\nxx\n")
    }

    /// The integer rounding is printf's "%.1f" of bytes / 1024^n, halves included (1280 B is 1.25 KiB: "1.2").
    func testSizeRoundsAsPrintf() {
        var values: [Int64] = [1280, 1281, 3328, 1_310_720, 1024 * 1024 - 1, (1 << 40) * 3 / 2, Int64.max]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 { values.append(Int64.random(in: 1024...(1 << 50), using: &rng)) }
        for _ in 0..<2_000 { values.append(Int64(1 << Int.random(in: 10...48)) / 20 * Int64.random(in: 20...40)) }
        for v in values {
            var value = Double(v), unit = 0
            while value >= 1024 && unit < 4 { value /= 1024; unit += 1 }
            let expected = unit == 0 ? "\(v) B" : String(format: "%.1f", value) + " " + ["B", "KiB", "MiB", "GiB", "TiB"][unit]
            XCTAssertEqual(Render.size(v), expected, "\(v)")
            if Render.size(v) != expected { break }
        }
        XCTAssertEqual(Render.size(1280), "1.2 KiB")
        XCTAssertEqual(Render.size(-5), "-5 B")
    }

    func testSize() {
        XCTAssertEqual(Render.size(0), "0 B")
        XCTAssertEqual(Render.size(1), "1 B")
        XCTAssertEqual(Render.size(1023), "1023 B")
        XCTAssertEqual(Render.size(1024), "1.0 KiB")
        XCTAssertEqual(Render.size(1536), "1.5 KiB")
        XCTAssertEqual(Render.size(1_572_864), "1.5 MiB")
        XCTAssertEqual(Render.size(1 << 30), "1.0 GiB")
        XCTAssertEqual(Render.size(5 << 40), "5.0 TiB")
        XCTAssertEqual(Render.size(2048 << 40), "2048.0 TiB")
    }

    /// Render.size's one-decimal formatting is Foundation's String(format: "%.1f") without it.
    func testSizeMatchesStringFormat() {
        for bytes: Int64 in [1024, 1075, 1076, 1127, 1177, 1178, 10_239, 999_999, 4_404_019, 123_456_789_012, 1 << 50] {
            var value = Double(bytes), unit = 0
            while value >= 1024 && unit < 4 { value /= 1024; unit += 1 }
            let units = ["B", "KiB", "MiB", "GiB", "TiB"]
            XCTAssertEqual(Render.size(bytes), String(format: "%.1f %@", value, units[unit]), "\(bytes)")
        }
    }


    struct Sample: Encodable {
        var zeta = "https://registry.k8s.io/v2/pause"
        var alpha = 1
        var nested = ["b": true, "a": false]
        var list = ["x/y"]
    }

    func testJSONHasSortedKeysAndNoEscapedSlashes() throws {
        let text = try Render.json(Sample())
        let expected = """
        {
          "alpha" : 1,
          "list" : [
            "x/y"
          ],
          "nested" : {
            "a" : false,
            "b" : true
          },
          "zeta" : "https://registry.k8s.io/v2/pause"
        }

        """
        XCTAssertEqual(text, expected)
        XCTAssertFalse(text.contains("\\/"))
    }

    func testJSONLine() throws {
        XCTAssertEqual(try Render.jsonLine(Sample()),
                       #"{"alpha":1,"list":["x/y"],"nested":{"a":false,"b":true},"zeta":"https://registry.k8s.io/v2/pause"}"# + "\n")
    }

    func testYAMLHasSortedKeys() throws {
        let expected = """
        alpha: 1
        list:
        - x/y
        nested:
          a: false
          b: true
        zeta: https://registry.k8s.io/v2/pause

        """
        XCTAssertEqual(try Render.yaml(Sample()), expected)
    }

    func testDocument() throws {
        XCTAssertNil(try Render.document(Sample(), as: .table))
        XCTAssertEqual(try Render.document(Sample(), as: .json), try Render.json(Sample()))
        XCTAssertEqual(try Render.document(Sample(), as: .yaml), try Render.yaml(Sample()))
        XCTAssertEqual(OutputFormat(rawValue: "yaml"), .yaml)
        XCTAssertNil(OutputFormat(rawValue: "wide"))
    }
}

final class JSONValueTests: XCTestCase {
    func testParse() {
        XCTAssertEqual(JSONValue.parse(#"{"a":[1,true,null,"s",2.5],"b":{"c":"d"}}"#),
                       .object(["a": .array([.number(1), .bool(true), .null, .string("s"), .number(2.5)]),
                                "b": .object(["c": .string("d")])]))
        XCTAssertEqual(JSONValue.parse("not json"), .string("not json"))
        XCTAssertEqual(JSONValue.parse(""), .string(""))
        XCTAssertEqual(JSONValue.parse("true"), .bool(true))
        XCTAssertEqual(JSONValue.parse("\"x\""), .string("x"))
    }

    func testNumbersAreNotBools() {
        // 0 and 1 must stay numbers (e.g. "maxConfNum": 1 in the CRI config).
        XCTAssertEqual(JSONValue.parse("1"), .number(1))
        XCTAssertEqual(JSONValue.parse("0"), .number(0))
        XCTAssertEqual(JSONValue.parse(#"{"n":1}"#)["n"], .number(1))
    }

    func testEncodeWritesIntegersWithoutFraction() throws {
        let v = JSONValue.object(["i": .number(3), "f": .number(2.5), "n": .null, "s": .string("a/b"), "b": .bool(false)])
        XCTAssertEqual(try Render.jsonLine(v), #"{"b":false,"f":2.5,"i":3,"n":null,"s":"a/b"}"# + "\n")
    }

    func testAccessors() {
        let v = JSONValue.parse(#"{"s":"x","b":true,"o":{"k":1}}"#)
        XCTAssertEqual(v["s"]?.string, "x")
        XCTAssertNil(v["s"]?.bool)
        XCTAssertEqual(v["b"]?.bool, true)
        XCTAssertNil(v["b"]?.string)
        XCTAssertEqual(v["o"]?.object, ["k": .number(1)])
        XCTAssertNil(v["missing"])
        XCTAssertNil(JSONValue.string("x")["k"])
        XCTAssertNil(v.string)
    }
}

/// JSONValue.parse (JSONSerialization) gives what decoding JSONValue with JSONDecoder gives.
final class JSONValueParseTests: XCTestCase {
    func testParseAgreesWithDecodableOnRealDocuments() throws {
        for name in ["cri-status-info-1.6", "cri-config-systemd-cgroup"] {
            let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
            let data = try Data(contentsOf: url)
            let decoded = try JSONDecoder().decode(JSONValue.self, from: data)
            XCTAssertEqual(JSONValue.parse(String(decoding: data, as: UTF8.self)), decoded, name)
        }
    }

    func testScalarsBooleansAndNonJSON() {
        XCTAssertEqual(JSONValue.parse(#"{"t":true,"f":false,"one":1,"zero":0,"x":1.5,"s":"é\u00e9","n":null,"a":[true,2]}"#),
                       .object(["t": .bool(true), "f": .bool(false), "one": .number(1), "zero": .number(0), "x": .number(1.5),
                                "s": .string("éé"), "n": .null, "a": .array([.bool(true), .number(2)])]))
        XCTAssertEqual(JSONValue.parse("12"), .number(12))
        XCTAssertEqual(JSONValue.parse("not json {"), .string("not json {"))
        XCTAssertEqual(JSONValue.parse(""), .string(""))
    }
}
