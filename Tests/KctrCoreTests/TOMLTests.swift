import Foundation
import XCTest
@testable import KctrCore

final class TOMLTests: XCTestCase {
    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        try TOML.parse(text)
    }

    /// The parse fails with a KctrError whose message starts with "line N:" and contains `contains`.
    private func assertError(_ text: String, line expectedLine: Int, _ contains: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try TOML.parse(text)
            XCTFail("expected an error, parsed \(v)", file: file, line: line)
        } catch let e as KctrError {
            XCTAssertTrue(e.message.hasPrefix("line \(expectedLine): "), "wrong line: \(e.message)", file: file, line: line)
            XCTAssertTrue(e.message.contains(contains), "\(e.message) does not contain \(contains)", file: file, line: line)
        } catch {
            XCTFail("expected a KctrError, got \(error)", file: file, line: line)
        }
    }

    private func fixture(_ name: String) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/verify/\(name)", withExtension: nil),
                                "fixture verify/\(name) is not in the test bundle")
        return try String(contentsOf: url, encoding: .utf8)
    }

    // MARK: - containerd 1.6's default config

    /// `containerd config default` of containerd 1.6.20 (Debian 12), parsed to expected values.
    func testContainerd16DefaultConfig() throws {
        let doc = try parse(try fixture("defaults/config-default-1.6.20.toml"))
        XCTAssertEqual(Set(doc.object?.keys.map { $0 } ?? []),
                       ["disabled_plugins", "imports", "oom_score", "plugin_dir", "required_plugins", "root", "state", "temp",
                        "version", "cgroup", "debug", "grpc", "metrics", "plugins", "proxy_plugins", "stream_processors",
                        "timeouts", "ttrpc"])
        XCTAssertEqual(doc["version"], .number(2))
        XCTAssertEqual(doc["disabled_plugins"], .array([]))
        XCTAssertEqual(doc["root"], .string("/var/lib/containerd"))
        XCTAssertEqual(doc["oom_score"], .number(0))
        XCTAssertEqual(doc["grpc"]?["address"], .string("/run/containerd/containerd.sock"))
        XCTAssertEqual(doc["grpc"]?["max_recv_message_size"], .number(16_777_216))
        XCTAssertEqual(doc["proxy_plugins"], .object([:]))
        XCTAssertEqual(doc["timeouts"]?["io.containerd.timeout.shim.cleanup"], .string("5s"))
        XCTAssertEqual(doc["timeouts"]?.object?.count, 5)

        let plugins = try XCTUnwrap(doc["plugins"])
        XCTAssertEqual(plugins["io.containerd.gc.v1.scheduler"]?["pause_threshold"], .number(0.02))
        let cri = try XCTUnwrap(plugins["io.containerd.grpc.v1.cri"])
        XCTAssertEqual(cri["sandbox_image"], .string("registry.k8s.io/pause:3.6"))
        XCTAssertEqual(cri["systemd_cgroup"], .bool(false))
        XCTAssertEqual(cri["max_container_log_line_size"], .number(16384))
        XCTAssertEqual(cri["stream_server_port"], .string("0"))
        XCTAssertEqual(cri["cni"]?["bin_dir"], .string("/opt/cni/bin"))
        XCTAssertEqual(cri["containerd"]?["snapshotter"], .string("overlayfs"))
        XCTAssertEqual(cri["containerd"]?["default_runtime_name"], .string("runc"))
        XCTAssertEqual(cri["containerd"]?["default_runtime"]?["options"], .object([:]))
        let runc = try XCTUnwrap(cri["containerd"]?["runtimes"]?["runc"])
        XCTAssertEqual(runc["runtime_type"], .string("io.containerd.runc.v2"))
        XCTAssertEqual(runc["pod_annotations"], .array([]))
        XCTAssertEqual(runc["options"]?["SystemdCgroup"], .bool(false))
        XCTAssertEqual(runc["options"]?["IoUid"], .number(0))
        XCTAssertEqual(runc["options"]?.object?.count, 11)
        XCTAssertEqual(cri["registry"]?["mirrors"], .object([:]))
        XCTAssertEqual(cri["image_decryption"]?["key_model"], .string("node"))
        XCTAssertEqual(plugins["io.containerd.runtime.v2.task"]?["platforms"], .array([.string("linux/amd64")]))
        let tar = try XCTUnwrap(doc["stream_processors"]?["io.containerd.ocicrypt.decoder.v1.tar"])
        XCTAssertEqual(tar["args"], .array([.string("--decryption-keys-path"), .string("/etc/containerd/ocicrypt/keys")]))
        XCTAssertEqual(tar["path"], .string("ctd-decoder"))
        XCTAssertEqual(doc["stream_processors"]?.object?.count, 2)
    }

    // MARK: - Valid documents

    func testCommentsAndBlankLines() throws {
        let doc = try parse("# a comment\n\n  \t\na = 1 # trailing\n# last\n")
        XCTAssertEqual(doc, .object(["a": .number(1)]))
        XCTAssertEqual(try parse(""), .object([:]))
        XCTAssertEqual(try parse("a = \"# not a comment\""), .object(["a": .string("# not a comment")]))
    }

    func testKeys() throws {
        let doc = try parse("""
        bare_key-1 = 1
        "quoted key" = 2
        'literal.key' = 3
        "" = 4
        a . b . "c.d" = 5
        a.e = 6
        1234 = 7
        "\\u00e9t\\u00e9" = 8
        """)
        XCTAssertEqual(doc["bare_key-1"], .number(1))
        XCTAssertEqual(doc["quoted key"], .number(2))
        XCTAssertEqual(doc["literal.key"], .number(3))
        XCTAssertEqual(doc[""], .number(4))
        XCTAssertEqual(doc["a"], .object(["b": .object(["c.d": .number(5)]), "e": .number(6)]))
        XCTAssertEqual(doc["1234"], .number(7))
        XCTAssertEqual(doc["été"], .number(8))
    }

    func testTablesAndContainerdStyleHeaders() throws {
        let doc = try parse("""
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = true
        [ plugins . "io.containerd.grpc.v1.cri" ]
        sandbox_image = "registry.k8s.io/pause:3.9"
        [a.b.c]
        [a]
        x = 1
        [fruit]
        apple.color = "red"
        apple.taste.sweet = true
        [fruit.apple.texture]
        smooth = true
        """)
        let cri = doc["plugins"]?["io.containerd.grpc.v1.cri"]
        XCTAssertEqual(cri?["containerd"]?["runtimes"]?["runc"]?["options"]?["SystemdCgroup"], .bool(true))
        XCTAssertEqual(cri?["sandbox_image"], .string("registry.k8s.io/pause:3.9"))
        XCTAssertEqual(doc["a"], .object(["x": .number(1), "b": .object(["c": .object([:])])]))
        XCTAssertEqual(doc["fruit"]?["apple"]?["taste"]?["sweet"], .bool(true))
        XCTAssertEqual(doc["fruit"]?["apple"]?["texture"]?["smooth"], .bool(true))
    }

    func testArraysOfTables() throws {
        let doc = try parse("""
        [[fruits]]
        name = "apple"
        [fruits.physical]
        color = "red"
        [[fruits.varieties]]
        name = "red delicious"
        [[fruits.varieties]]
        name = "granny smith"
        [[fruits]]
        name = "banana"
        [[fruits.varieties]]
        name = "plantain"
        [[empty]]
        [[empty]]
        """)
        let fruits = try XCTUnwrap(doc["fruits"])
        guard case .array(let list) = fruits else { return XCTFail("not an array: \(fruits)") }
        XCTAssertEqual(list.count, 2)
        XCTAssertEqual(list[0]["name"], .string("apple"))
        XCTAssertEqual(list[0]["physical"]?["color"], .string("red"))
        XCTAssertEqual(list[0]["varieties"], .array([.object(["name": .string("red delicious")]),
                                                     .object(["name": .string("granny smith")])]))
        XCTAssertEqual(list[1]["varieties"], .array([.object(["name": .string("plantain")])]))
        XCTAssertEqual(doc["empty"], .array([.object([:]), .object([:])]))
    }

    func testBasicStringsAndEscapes() throws {
        let doc = try parse(#"""
        s = "tab\there \"q\" back\\slash \b\f\r\n"
        u = "\u00E9 \U0001F600"
        lit = 'C:\Users\nodejs\templates'
        lq = '<\i\c*\s*>'
        """#)
        XCTAssertEqual(doc["s"], .string("tab\there \"q\" back\\slash \u{08}\u{0C}\r\n"))
        XCTAssertEqual(doc["u"], .string("é 😀"))
        XCTAssertEqual(doc["lit"], .string(#"C:\Users\nodejs\templates"#))
        XCTAssertEqual(doc["lq"], .string(#"<\i\c*\s*>"#))
    }

    func testMultilineStrings() throws {
        let doc = try parse("""
        a = \"\"\"
        Roses are red
        Violets are blue\"\"\"
        b = \"\"\"\\
            The quick brown \\
            fox.\\
            \"\"\"
        c = \"\"\"Here are two quotation marks: "". Simple enough.\"\"\"
        d = \"\"\"ends in a quote: \"\"\"\"
        e = '''
        raw \\n text
        '''
        f = '''That's it: ''\'''
        g = \"\"\"with \\t escape\"\"\"
        """)
        XCTAssertEqual(doc["a"], .string("Roses are red\nViolets are blue"))
        XCTAssertEqual(doc["b"], .string("The quick brown fox."))
        XCTAssertEqual(doc["c"], .string("Here are two quotation marks: \"\". Simple enough."))
        XCTAssertEqual(doc["d"], .string("ends in a quote: \""))
        XCTAssertEqual(doc["e"], .string("raw \\n text\n"))
        XCTAssertEqual(doc["f"], .string("That's it: ''"))
        XCTAssertEqual(doc["g"], .string("with \t escape"))
    }

    func testIntegers() throws {
        let doc = try parse("""
        a = +99
        b = 42
        c = 0
        d = -17
        e = 1_000_000
        f = 0xDEAD_beef
        g = 0o755
        h = 0b1101_0110
        i = -0
        j = 9223372036854775807
        """)
        XCTAssertEqual(doc["a"], .number(99))
        XCTAssertEqual(doc["b"], .number(42))
        XCTAssertEqual(doc["c"], .number(0))
        XCTAssertEqual(doc["d"], .number(-17))
        XCTAssertEqual(doc["e"], .number(1_000_000))
        XCTAssertEqual(doc["f"], .number(Double(0xDEADBEEF)))
        XCTAssertEqual(doc["g"], .number(493))
        XCTAssertEqual(doc["h"], .number(214))
        XCTAssertEqual(doc["i"], .number(0))
        XCTAssertEqual(doc["j"], .number(Double(Int64.max)))
    }

    func testFloats() throws {
        let doc = try parse("""
        a = +1.0
        b = 3.1415
        c = -0.01
        d = 5e+22
        e = 1e06
        f = -2E-2
        g = 6.626e-34
        h = 224_617.445_991
        i = inf
        j = -inf
        k = nan
        l = +nan
        """)
        XCTAssertEqual(doc["a"], .number(1))
        XCTAssertEqual(doc["b"], .number(3.1415))
        XCTAssertEqual(doc["c"], .number(-0.01))
        XCTAssertEqual(doc["d"], .number(5e22))
        XCTAssertEqual(doc["e"], .number(1e6))
        XCTAssertEqual(doc["f"], .number(-0.02))
        XCTAssertEqual(doc["g"], .number(6.626e-34))
        XCTAssertEqual(doc["h"], .number(224617.445991))
        XCTAssertEqual(doc["i"], .number(.infinity))
        XCTAssertEqual(doc["j"], .number(-.infinity))
        guard case .number(let k)? = doc["k"], case .number(let l)? = doc["l"] else { return XCTFail("nan") }
        XCTAssertTrue(k.isNaN && l.isNaN)
    }

    func testBooleansAndDates() throws {
        let doc = try parse("""
        t = true
        f = false
        odt1 = 1979-05-27T07:32:00Z
        odt2 = 1979-05-27T00:32:00-07:00
        odt3 = 1979-05-27T00:32:00.999999+07:00
        odt4 = 1979-05-27 07:32:00Z
        ldt = 1979-05-27T07:32:00.5
        ld = 1979-05-27
        lt = 00:32:00.999999
        """)
        XCTAssertEqual(doc["t"], .bool(true))
        XCTAssertEqual(doc["f"], .bool(false))
        XCTAssertEqual(doc["odt1"], .string("1979-05-27T07:32:00Z"))
        XCTAssertEqual(doc["odt2"], .string("1979-05-27T00:32:00-07:00"))
        XCTAssertEqual(doc["odt3"], .string("1979-05-27T00:32:00.999999+07:00"))
        XCTAssertEqual(doc["odt4"], .string("1979-05-27 07:32:00Z"))
        XCTAssertEqual(doc["ldt"], .string("1979-05-27T07:32:00.5"))
        XCTAssertEqual(doc["ld"], .string("1979-05-27"))
        XCTAssertEqual(doc["lt"], .string("00:32:00.999999"))
    }

    func testArrays() throws {
        let doc = try parse("""
        empty = []
        ints = [ 1, 2, 3, ]
        nested = [ [ 1, 2 ], ["a", 'b'] ]
        mixed = [ 0.1, "x", true, { k = 1 } ]
        multi = [
          "one",   # first
          # a comment line
          "two"
          ,
        ]
        tables = [ { name = "a" }, { name = "b", x.y = 2 } ]
        """)
        XCTAssertEqual(doc["empty"], .array([]))
        XCTAssertEqual(doc["ints"], .array([.number(1), .number(2), .number(3)]))
        XCTAssertEqual(doc["nested"], .array([.array([.number(1), .number(2)]), .array([.string("a"), .string("b")])]))
        XCTAssertEqual(doc["mixed"], .array([.number(0.1), .string("x"), .bool(true), .object(["k": .number(1)])]))
        XCTAssertEqual(doc["multi"], .array([.string("one"), .string("two")]))
        XCTAssertEqual(doc["tables"], .array([.object(["name": .string("a")]),
                                              .object(["name": .string("b"), "x": .object(["y": .number(2)])])]))
    }

    func testInlineTables() throws {
        let doc = try parse("""
        name = { first = "Tom", last = "Preston-Werner" }
        point = {x=1,y=2}
        empty = {}
        animal = { type.name = "pug", type.size = "small" }
        nested = { a = { b = [1] } }
        """)
        XCTAssertEqual(doc["name"], .object(["first": .string("Tom"), "last": .string("Preston-Werner")]))
        XCTAssertEqual(doc["point"], .object(["x": .number(1), "y": .number(2)]))
        XCTAssertEqual(doc["empty"], .object([:]))
        XCTAssertEqual(doc["animal"], .object(["type": .object(["name": .string("pug"), "size": .string("small")])]))
        XCTAssertEqual(doc["nested"]?["a"]?["b"], .array([.number(1)]))
    }

    func testCRLFLineEndings() throws {
        let doc = try parse("version = 2\r\n[grpc]\r\naddress = \"/run/x.sock\" # c\r\ns = \"\"\"\r\na\r\nb\"\"\"\r\n")
        XCTAssertEqual(doc["version"], .number(2))
        XCTAssertEqual(doc["grpc"]?["address"], .string("/run/x.sock"))
        XCTAssertEqual(doc["grpc"]?["s"], .string("a\nb"))
    }

    // MARK: - Errors: statements and keys

    func testErrorMissingEquals() {
        assertError("a = 1\nsandbox_image \"x\"\n", line: 2, "expected '=' after key sandbox_image")
        assertError("[plugins]\n  SystemdCgroup true\n", line: 2, "expected '=' after key SystemdCgroup, found 't'")
        assertError("a.b\n", line: 1, "expected '=' after key a.b, found end of line")
    }

    func testErrorMissingValue() {
        assertError("a =\n", line: 1, "expected a value after '=' for key a")
        assertError("a = # nothing\n", line: 1, "expected a value after '='")
        assertError("a = ", line: 1, "found end of file")
    }

    func testErrorInvalidValue() {
        assertError("x = 1\ny = hello\n", line: 2, "expected a value for key y (a string, number, boolean, date, array or inline table), found 'hello'")
        assertError("y = True", line: 1, "found 'True'")
        assertError("y = @", line: 1, "found '@'")
    }

    func testErrorExpectedKey() {
        assertError("= 1\n", line: 1, "expected a key, found '='")
        assertError("a. = 1\n", line: 1, "expected a key, found '='")
        assertError("[]\n", line: 1, "expected a key, found ']'")
        assertError("\"\"\"k\"\"\" = 1", line: 1, "expected a key: a multi-line string cannot be a key")
        assertError("'''k''' = 1", line: 1, "expected a key: a multi-line string cannot be a key")
    }

    func testErrorTrailingGarbage() {
        assertError("a = 1 2\n", line: 1, "expected end of line after the value of a, found '2'")
        assertError("a = \"x\" b = 2\n", line: 1, "expected end of line after the value of a")
        assertError("[a] b = 1\n", line: 1, "expected end of line after [a], found 'b'")
        assertError("[[a]] x\n", line: 1, "expected end of line after [[a]]")
    }

    func testErrorHeaders() {
        assertError("\n[a\nb = 1", line: 2, "expected ']' after table name a, found end of line")
        assertError("[[a]\n", line: 1, "expected ']]' after array of tables name a")
        assertError("[plugins.\"io.containerd.grpc.v1.cri\"\n", line: 1, "expected ']' after table name plugins.\"io.containerd.grpc.v1.cri\"")
    }

    func testErrorBareCarriageReturnAndControlInComment() {
        assertError("a = 1\r", line: 1, "expected a newline after carriage return")
        assertError("a = 1 # \u{01}\n", line: 1, "control character U+0001 is not allowed in a comment")
    }

    // MARK: - Errors: duplicates

    func testErrorDuplicateKey() {
        assertError("a = 1\nb = 2\na = 3\n", line: 3, "duplicate key a")
        assertError("[t]\nx = 1\nx = 2\n", line: 3, "duplicate key x")
        assertError("a.b = 1\na.b = 2\n", line: 2, "duplicate key a.b")
        assertError("x = { a = 1, a = 2 }", line: 1, "duplicate key a")
    }

    func testErrorDuplicateTable() {
        assertError("[plugins.\"io.containerd.grpc.v1.cri\"]\na = 1\n\n[plugins.\"io.containerd.grpc.v1.cri\"]\nb = 2\n",
                    line: 4, "duplicate table [plugins.\"io.containerd.grpc.v1.cri\"]")
        assertError("[a]\n[a.b]\n[a]\n", line: 3, "duplicate table [a]")
        assertError("[fruit]\napple.color = \"red\"\n[fruit.apple]\n", line: 3, "duplicate table [fruit.apple]: already defined by dotted keys")
        assertError("[[a]]\n[a]\n", line: 2, "duplicate table [a]: already defined as an array of tables")
        assertError("a = 1\n[a]\n", line: 2, "duplicate key a: cannot redefine a value as table [a]")
        assertError("a = {}\n[a]\n", line: 2, "cannot redefine a value as table [a]")
    }

    func testErrorConflictingDefinitions() {
        assertError("[a]\n[[a]]\n", line: 2, "cannot define array of tables [[a]]: already defined as a table")
        assertError("a = [1]\n[[a]]\n", line: 2, "cannot define array of tables [[a]]: a already holds a value")
        assertError("a = 1\n[a.b]\n", line: 2, "cannot define table [a.b]: a already holds a value")
        assertError("a = { b = 1 }\n[a.c]\n", line: 2, "cannot define table [a.c]: a already holds a value")
        assertError("a = { b = 1 }\na.c = 2\n", line: 2, "cannot add key a.c: a already holds a value")
        assertError("[a.b]\nx = 1\n[a]\nb.y = 2\n", line: 4, "cannot add key b.y: table b is already defined elsewhere")
    }

    func testErrorDottedKeyIntoArrayOfTables() {
        assertError("[[a.b]]\n[a]\nb.c = 1\n", line: 3, "cannot add key b.c: b is an array of tables")
    }

    // MARK: - Errors: strings

    func testErrorUnterminatedStrings() {
        assertError("a = 1\nb = \"abc\nc = 2\n", line: 2, "expected '\"' to close the string started on line 2")
        assertError("b = 'abc\n", line: 1, "expected \"'\" to close the literal string started on line 1")
        assertError("a = 1\nb = \"\"\"abc\n\ndef\n", line: 2, "expected '\"\"\"' to close the multi-line string started on line 2")
        assertError("b = '''abc\n", line: 1, "expected \"'''\" to close the multi-line literal string started on line 1")
        assertError("\"key = 1\n", line: 1, "expected '\"' to close the string")
    }

    func testErrorEscapes() {
        assertError(#"a = "bad \q escape""#, line: 1, #"expected a valid escape sequence"#)
        assertError(#"a = "\u12""#, line: 1, #"expected 4 hex digits after '\u'"#)
        assertError(#"a = "\U0001F60""#, line: 1, #"expected 8 hex digits after '\U'"#)
        assertError(#"a = "\uD800""#, line: 1, "invalid unicode escape: U+D800 is not a Unicode scalar value")
        assertError("a = \"\"\"\nok\n\\x\"\"\"", line: 3, "expected a valid escape sequence")
    }

    func testErrorControlCharactersInStrings() {
        assertError("a = \"x\u{01}y\"", line: 1, "control character U+0001 must be escaped in a string")
        assertError("a = 'x\u{7F}y'", line: 1, "control character U+007F must be escaped in a literal string")
        assertError("a = \"\"\"x\u{00}\"\"\"", line: 1, "control character U+0000 must be escaped in a multi-line string")
        assertError("a = '''x\u{1B}'''", line: 1, "must be escaped in a multi-line literal string")
    }

    // MARK: - Errors: arrays and inline tables

    func testErrorArrays() {
        assertError("a = [1, 2\n\n", line: 3, "expected ']' to close the array of a opened on line 1")
        assertError("a = [1 2]", line: 1, "expected ',' or ']' in the array of a, found '2'")
        assertError("a = [,]", line: 1, "expected a value for key a")
        assertError("a = [1,,2]", line: 1, "expected a value for key a")
    }

    func testErrorInlineTables() {
        assertError("a = { b = 1, }", line: 1, "trailing commas are not allowed in inline tables")
        assertError("a = { b = 1,\n c = 2 }", line: 1, "inline tables must be on one line")
        assertError("a = { b = 1\n}", line: 1, "inline tables must be on one line")
        assertError("a = { b = 1 c = 2 }", line: 1, "expected ',' or '}' in inline table a, found 'c'")
        assertError("a = { b }", line: 1, "expected '=' after key b")
    }

    // MARK: - Errors: numbers and dates

    func testErrorNumbers() {
        for bad in ["01", "1__0", "_1", "1_", "+0x1", "0x", "0xG", "0o8", "0b2", "1.", ".5", "1e", "1.e5", "1e_5",
                    "00.1", "9223372036854775808", "1_.0", "+-1", "inf1"] {
            assertError("n = \(bad)", line: 1, "found '\(bad)'")
        }
    }

    func testErrorDates() {
        for bad in ["1979-13-01", "1979-05-32", "1979-05-27T25:00:00", "07:32", "1979-05-27T07:32:00+7:00", "1979-05-27X07:32:00",
                    "07:32:00Z"] {
            assertError("d = \(bad)", line: 1, "found '")
        }
    }

    func testErrorLineNumbersAfterMultilineConstructs() {
        let text = """
        a = \"\"\"
        one
        two\"\"\"
        b = [
          1,
          2,
        ]
        c = '''
        x
        '''
        d = oops
        """
        assertError(text, line: 11, "found 'oops'")
    }
}
