// A TOML 1.0 parser, enough for containerd's config.toml and the files it imports.
//
// Why our own: the TOMLKit package cannot be used here, because its dependency
// swift-checkit is not in this machine's package mirror (and containerd's files
// only need the plain TOML 1.0 data model, kept as JSONValue).
//
// Mapping: tables -> .object, arrays and arrays of tables -> .array, strings -> .string,
// integers and floats -> .number (Double: integers beyond 2^53 lose precision),
// booleans -> .bool, offset/local date-times, dates and times -> .string as written.
// Errors are KctrError "line N: expected ..." (or "line N: duplicate key ...").
import Foundation

public enum TOML {
    /// "U+000A": printf's "U+%04X" without String(format:).
    static func codePoint(_ v: UInt32) -> String {
        let hex = String(v, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// Parses a TOML 1.0 document into a `.object`.
    public static func parse(_ text: String) throws -> JSONValue {
        var parser = TOMLParser(bytes: Array(text.utf8))
        return try parser.document()
    }
}

// MARK: - Tree under construction

/// A table while parsing: how it came to be decides whether it may be reopened.
private final class TOMLTable {
    enum Origin {
        case implicit   // created as a parent by a [header] ("[a.b]" creates a)
        case header     // defined by its own [header] (or the root)
        case dotted     // created by a dotted key ("a.b = 1" creates a)
        case arrayItem  // one element of an array of tables
    }

    var origin: Origin
    var entries: [String: TOMLEntry] = [:]

    init(_ origin: Origin) { self.origin = origin }

    var json: JSONValue {
        .object(entries.mapValues { entry in
            switch entry {
            case .value(let v): return v
            case .table(let t): return t.json
            case .tableArray(let a): return .array(a.tables.map(\.json))
            }
        })
    }
}

private final class TOMLTableArray {
    var tables: [TOMLTable] = []
}

private enum TOMLEntry {
    /// A value, including arrays and inline tables (both closed for additions).
    case value(JSONValue)
    case table(TOMLTable)
    case tableArray(TOMLTableArray)
}

// MARK: - Parser

private struct TOMLParser {
    let bytes: [UInt8]
    var pos = 0
    var line = 1
    /// Arrays and inline tables open around the current value.
    var depth = 0
    /// Deeper nesting is refused: containerd's files nest values two or three deep, and each level
    /// is a recursive call (a file of 100,000 '[' would otherwise overflow the stack).
    static let maxDepth = 64
    /// Parts of one dotted key or table name: each makes a nested table, and a deep tree of them
    /// overflowed the stack when converted and freed (a key of 100,000 parts, found by review of the
    /// fuzz target). containerd's longest have six.
    static let maxKeyParts = 32

    init(bytes: [UInt8]) { self.bytes = bytes }

    // Byte constants.
    static let tab: UInt8 = 0x09, lf: UInt8 = 0x0A, cr: UInt8 = 0x0D, space: UInt8 = 0x20
    static let quote: UInt8 = 0x22, apostrophe: UInt8 = 0x27, hash: UInt8 = 0x23
    static let comma: UInt8 = 0x2C, dot: UInt8 = 0x2E, equals: UInt8 = 0x3D, backslash: UInt8 = 0x5C
    static let lbracket: UInt8 = 0x5B, rbracket: UInt8 = 0x5D, lbrace: UInt8 = 0x7B, rbrace: UInt8 = 0x7D

    func error(_ what: String, line: Int? = nil) -> KctrError {
        KctrError("line \(line ?? self.line): \(what)")
    }

    var atEnd: Bool { pos >= bytes.count }

    func peek(_ offset: Int = 0) -> UInt8? {
        let i = pos + offset
        return i < bytes.count ? bytes[i] : nil
    }

    func describeNext() -> String {
        guard let b = peek() else { return "end of file" }
        if b == Self.lf || (b == Self.cr && peek(1) == Self.lf) { return "end of line" }
        if b < 0x20 || b == 0x7F { return "control character " + TOML.codePoint(UInt32(b)) }
        // Show the next character (whole UTF-8 sequence).
        var end = pos + 1
        while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'" + String(decoding: bytes[pos..<end], as: UTF8.self) + "'"
    }

    static func isBare(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    // MARK: whitespace, comments, newlines

    mutating func skipSpaces() {
        while let b = peek(), b == Self.space || b == Self.tab { pos += 1 }
    }

    /// Consumes a newline (LF or CRLF); false when none is next.
    mutating func newline() throws -> Bool {
        if peek() == Self.lf {
            pos += 1; line += 1; return true
        }
        if peek() == Self.cr {
            guard peek(1) == Self.lf else { throw error("expected a newline after carriage return") }
            pos += 2; line += 1; return true
        }
        return false
    }

    mutating func comment() throws {
        guard peek() == Self.hash else { return }
        while let b = peek(), b != Self.lf {
            if b == Self.cr, peek(1) == Self.lf { break }
            if (b < 0x20 && b != Self.tab) || b == 0x7F {
                throw error("control character " + TOML.codePoint(UInt32(b)) + " is not allowed in a comment")
            }
            pos += 1
        }
    }

    /// Spaces, comments and newlines (between statements and inside arrays).
    mutating func skipBlank() throws {
        while true {
            skipSpaces()
            try comment()
            if try !newline() { return }
        }
    }

    /// After a statement: optional spaces and comment, then a newline or the end.
    mutating func endOfLine(after what: String) throws {
        skipSpaces()
        try comment()
        if atEnd { return }
        if try newline() { return }
        throw error("expected end of line after \(what), found \(describeNext())")
    }

    // MARK: document

    mutating func document() throws -> JSONValue {
        let root = TOMLTable(.header)
        var current = root
        while true {
            try skipBlank()
            if atEnd { break }
            if peek() == Self.lbracket {
                let startLine = line
                if peek(1) == Self.lbracket {
                    pos += 2
                    skipSpaces()
                    let key = try self.key()
                    skipSpaces()
                    guard peek() == Self.rbracket, peek(1) == Self.rbracket else {
                        throw error("expected ']]' after array of tables name \(Self.show(key)), found \(describeNext())")
                    }
                    pos += 2
                    current = try arrayTable(root, key, line: startLine)
                    try endOfLine(after: "[[\(Self.show(key))]]")
                } else {
                    pos += 1
                    skipSpaces()
                    let key = try self.key()
                    skipSpaces()
                    guard peek() == Self.rbracket else {
                        throw error("expected ']' after table name \(Self.show(key)), found \(describeNext())")
                    }
                    pos += 1
                    current = try table(root, key, line: startLine)
                    try endOfLine(after: "[\(Self.show(key))]")
                }
            } else {
                let startLine = line
                let (key, value) = try keyValue()
                try insert(key, value, into: current, line: startLine)
                try endOfLine(after: "the value of \(Self.show(key))")
            }
        }
        return root.json
    }

    /// `a."b.c".d` as written (for messages).
    static func show(_ key: [String]) -> String {
        key.map { part in
            !part.isEmpty && part.utf8.allSatisfy(isBare) ? part : "\"" + part.replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }.joined(separator: ".")
    }

    // MARK: tables

    /// Walks the parents of a [header] / [[header]], creating implicit tables.
    mutating func walkParents(_ root: TOMLTable, _ key: [String], line: Int) throws -> TOMLTable {
        var t = root
        for (i, part) in key.dropLast().enumerated() {
            switch t.entries[part] {
            case nil:
                let sub = TOMLTable(.implicit)
                t.entries[part] = .table(sub)
                t = sub
            case .table(let sub):
                t = sub
            case .tableArray(let array):
                t = array.tables[array.tables.count - 1]
            case .value:
                throw error("cannot define table [\(Self.show(key))]: \(Self.show(Array(key[...i]))) already holds a value",
                            line: line)
            }
        }
        return t
    }

    mutating func table(_ root: TOMLTable, _ key: [String], line: Int) throws -> TOMLTable {
        let parent = try walkParents(root, key, line: line)
        let name = key[key.count - 1]
        switch parent.entries[name] {
        case nil:
            let t = TOMLTable(.header)
            parent.entries[name] = .table(t)
            return t
        case .table(let t):
            switch t.origin {
            case .implicit:
                t.origin = .header
                return t
            case .dotted:
                throw error("duplicate table [\(Self.show(key))]: already defined by dotted keys", line: line)
            case .header, .arrayItem:
                throw error("duplicate table [\(Self.show(key))]", line: line)
            }
        case .tableArray:
            throw error("duplicate table [\(Self.show(key))]: already defined as an array of tables [[\(Self.show(key))]]",
                        line: line)
        case .value:
            throw error("duplicate key \(Self.show(key)): cannot redefine a value as table [\(Self.show(key))]", line: line)
        }
    }

    mutating func arrayTable(_ root: TOMLTable, _ key: [String], line: Int) throws -> TOMLTable {
        let parent = try walkParents(root, key, line: line)
        let name = key[key.count - 1]
        let item = TOMLTable(.arrayItem)
        switch parent.entries[name] {
        case nil:
            let array = TOMLTableArray()
            array.tables.append(item)
            parent.entries[name] = .tableArray(array)
        case .tableArray(let array):
            array.tables.append(item)
        case .table:
            throw error("cannot define array of tables [[\(Self.show(key))]]: already defined as a table", line: line)
        case .value:
            throw error("cannot define array of tables [[\(Self.show(key))]]: \(Self.show(key)) already holds a value",
                        line: line)
        }
        return item
    }

    /// `a.b.c = v` into `table`: a and b become (or must be) tables made by dotted keys.
    mutating func insert(_ key: [String], _ value: JSONValue, into table: TOMLTable, line: Int) throws {
        var t = table
        for (i, part) in key.dropLast().enumerated() {
            switch t.entries[part] {
            case nil:
                let sub = TOMLTable(.dotted)
                t.entries[part] = .table(sub)
                t = sub
            case .table(let sub) where sub.origin == .dotted:
                t = sub
            case .table:
                throw error("cannot add key \(Self.show(key)): table \(Self.show(Array(key[...i]))) is already defined elsewhere",
                            line: line)
            case .tableArray:
                throw error("cannot add key \(Self.show(key)): \(Self.show(Array(key[...i]))) is an array of tables",
                            line: line)
            case .value:
                throw error("cannot add key \(Self.show(key)): \(Self.show(Array(key[...i]))) already holds a value",
                            line: line)
            }
        }
        let name = key[key.count - 1]
        guard t.entries[name] == nil else { throw error("duplicate key \(Self.show(key))", line: line) }
        t.entries[name] = .value(value)
    }

    // MARK: keys

    mutating func key() throws -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            parts.append(try simpleKey())
            if parts.count > Self.maxKeyParts {
                throw error("key \(Self.show(Array(parts.prefix(3))))... has more than \(Self.maxKeyParts) dotted parts")
            }
            skipSpaces()
            if peek() == Self.dot {
                pos += 1
                continue
            }
            return parts
        }
    }

    mutating func simpleKey() throws -> String {
        guard let b = peek() else { throw error("expected a key, found end of file") }
        if b == Self.quote {
            if peek(1) == Self.quote, peek(2) == Self.quote {
                throw error("expected a key: a multi-line string cannot be a key")
            }
            return try basicString()
        }
        if b == Self.apostrophe {
            if peek(1) == Self.apostrophe, peek(2) == Self.apostrophe {
                throw error("expected a key: a multi-line string cannot be a key")
            }
            return try literalString()
        }
        let start = pos
        while let c = peek(), Self.isBare(c) { pos += 1 }
        guard pos > start else { throw error("expected a key, found \(describeNext())") }
        return String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    mutating func keyValue() throws -> ([String], JSONValue) {
        let key = try self.key()
        // Each dotted part nests the value one table deeper, as a bracket does.
        depth += key.count - 1
        defer { depth -= key.count - 1 }
        skipSpaces()
        guard peek() == Self.equals else {
            throw error("expected '=' after key \(Self.show(key)), found \(describeNext())")
        }
        pos += 1
        skipSpaces()
        let value = try self.value(for: key)
        return (key, value)
    }

    // MARK: values

    mutating func value(for key: [String]) throws -> JSONValue {
        guard let b = peek(), b != Self.lf, b != Self.cr, b != Self.hash else {
            throw error("expected a value after '=' for key \(Self.show(key)), found \(describeNext())")
        }
        if b == Self.lbracket || b == Self.lbrace {
            guard depth < Self.maxDepth else {
                throw error("the value of \(Self.show(key)) nests arrays or inline tables more than \(Self.maxDepth) deep")
            }
            depth += 1
        }
        defer { if b == Self.lbracket || b == Self.lbrace { depth -= 1 } }
        switch b {
        case Self.quote:
            if peek(1) == Self.quote, peek(2) == Self.quote { return .string(try multilineBasicString()) }
            return .string(try basicString())
        case Self.apostrophe:
            if peek(1) == Self.apostrophe, peek(2) == Self.apostrophe { return .string(try multilineLiteralString()) }
            return .string(try literalString())
        case Self.lbracket:
            return try array(for: key)
        case Self.lbrace:
            return try inlineTable(for: key)
        default:
            return try scalar(for: key)
        }
    }

    mutating func array(for key: [String]) throws -> JSONValue {
        let startLine = line
        pos += 1 // [
        var items: [JSONValue] = []
        while true {
            try skipBlank()
            if atEnd { throw error("expected ']' to close the array of \(Self.show(key)) opened on line \(startLine)") }
            if peek() == Self.rbracket { pos += 1; break }
            items.append(try value(for: key))
            try skipBlank()
            if peek() == Self.comma { pos += 1; continue }
            if peek() == Self.rbracket { pos += 1; break }
            if atEnd { throw error("expected ']' to close the array of \(Self.show(key)) opened on line \(startLine)") }
            throw error("expected ',' or ']' in the array of \(Self.show(key)), found \(describeNext())")
        }
        return .array(items)
    }

    mutating func inlineTable(for key: [String]) throws -> JSONValue {
        pos += 1 // {
        let table = TOMLTable(.header)
        skipSpaces()
        if peek() == Self.rbrace { pos += 1; return table.json }
        while true {
            skipSpaces()
            if peek() == Self.rbrace { throw error("expected a key after ',' in inline table \(Self.show(key)): trailing commas are not allowed in inline tables") }
            if peek() == Self.lf || peek() == Self.cr || atEnd {
                throw error("expected '}' to close inline table \(Self.show(key)): inline tables must be on one line")
            }
            let startLine = line
            let (k, v) = try keyValue()
            try insert(k, v, into: table, line: startLine)
            skipSpaces()
            if peek() == Self.comma { pos += 1; continue }
            if peek() == Self.rbrace { pos += 1; break }
            if peek() == Self.lf || peek() == Self.cr || atEnd {
                throw error("expected '}' to close inline table \(Self.show(key)): inline tables must be on one line")
            }
            throw error("expected ',' or '}' in inline table \(Self.show(key)), found \(describeNext())")
        }
        return table.json
    }

    // MARK: strings

    mutating func appendScalar(_ value: UInt32, to out: inout [UInt8]) throws {
        guard let scalar = Unicode.Scalar(value) else {
            throw error("invalid unicode escape: U+" + String(value, radix: 16, uppercase: true) + " is not a Unicode scalar value")
        }
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// After a backslash in a basic string.
    mutating func escape(into out: inout [UInt8]) throws {
        guard let b = peek() else { throw error("expected an escape sequence after '\\', found end of file") }
        pos += 1
        switch b {
        case 0x62: out.append(0x08)          // \b
        case 0x74: out.append(Self.tab)      // \t
        case 0x6E: out.append(Self.lf)       // \n
        case 0x66: out.append(0x0C)          // \f
        case 0x72: out.append(Self.cr)       // \r
        case Self.quote: out.append(Self.quote)
        case Self.backslash: out.append(Self.backslash)
        case 0x75, 0x55:                     // \uXXXX, \UXXXXXXXX
            let count = b == 0x75 ? 4 : 8
            guard pos + count <= bytes.count,
                  let hex = String(bytes: bytes[pos..<pos + count], encoding: .ascii),
                  hex.allSatisfy(\.isHexDigit), let value = UInt32(hex, radix: 16) else {
                throw error("expected \(count) hex digits after '\\\(b == 0x75 ? "u" : "U")'")
            }
            pos += count
            try appendScalar(value, to: &out)
        default:
            pos -= 1
            throw error("expected a valid escape sequence (\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX), found '\\\(String(decoding: [b], as: UTF8.self))'")
        }
    }

    func checkControl(_ b: UInt8, in what: String) throws {
        if (b < 0x20 && b != Self.tab) || b == 0x7F {
            throw error("control character " + TOML.codePoint(UInt32(b)) + " must be escaped in \(what)")
        }
    }

    mutating func basicString() throws -> String {
        let startLine = line
        pos += 1
        var out: [UInt8] = []
        while true {
            guard let b = peek(), b != Self.lf, !(b == Self.cr && peek(1) == Self.lf) else {
                throw error("expected '\"' to close the string started on line \(startLine)", line: startLine)
            }
            pos += 1
            if b == Self.quote { break }
            if b == Self.backslash { try escape(into: &out); continue }
            try checkControl(b, in: "a string")
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func literalString() throws -> String {
        let startLine = line
        pos += 1
        let start = pos
        while true {
            guard let b = peek(), b != Self.lf, !(b == Self.cr && peek(1) == Self.lf) else {
                throw error("expected \"'\" to close the literal string started on line \(startLine)", line: startLine)
            }
            if b == Self.apostrophe { break }
            try checkControl(b, in: "a literal string")
            pos += 1
        }
        let s = String(decoding: bytes[start..<pos], as: UTF8.self)
        pos += 1
        return s
    }

    /// Skips the newline right after an opening `"""` / `'''`.
    mutating func trimFirstNewline() throws {
        _ = try newline()
    }

    /// At a closing `"""` (or `'''`): consumes it and returns true. Up to two more
    /// quotes before it belong to the content (`"""a"""""` is `a""`).
    mutating func closesMultiline(_ q: UInt8, into out: inout [UInt8]) -> Bool {
        guard peek() == q, peek(1) == q, peek(2) == q else { return false }
        var extra = 0
        while extra < 2, peek(3 + extra) == q { extra += 1 }
        out.append(contentsOf: Array(repeating: q, count: extra))
        pos += 3 + extra
        return true
    }

    mutating func multilineBasicString() throws -> String {
        let startLine = line
        pos += 3
        try trimFirstNewline()
        var out: [UInt8] = []
        while true {
            guard let b = peek() else {
                throw error("expected '\"\"\"' to close the multi-line string started on line \(startLine)", line: startLine)
            }
            if closesMultiline(Self.quote, into: &out) { break }
            if try newline() { out.append(Self.lf); continue }
            if b == Self.backslash {
                // Line-ending backslash: trims whitespace and newlines up to the next content.
                var look = pos + 1
                while look < bytes.count, bytes[look] == Self.space || bytes[look] == Self.tab { look += 1 }
                if look < bytes.count, bytes[look] == Self.lf || (bytes[look] == Self.cr && look + 1 < bytes.count && bytes[look + 1] == Self.lf) {
                    pos = look
                    while true {
                        skipSpaces()
                        if try !newline() { break }
                    }
                    continue
                }
                pos += 1
                try escape(into: &out)
                continue
            }
            try checkControl(b, in: "a multi-line string")
            out.append(b)
            pos += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func multilineLiteralString() throws -> String {
        let startLine = line
        pos += 3
        try trimFirstNewline()
        var out: [UInt8] = []
        while true {
            guard let b = peek() else {
                throw error("expected \"'''\" to close the multi-line literal string started on line \(startLine)", line: startLine)
            }
            if closesMultiline(Self.apostrophe, into: &out) { break }
            if try newline() { out.append(Self.lf); continue }
            try checkControl(b, in: "a multi-line literal string")
            out.append(b)
            pos += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: booleans, numbers, dates

    mutating func scalar(for key: [String]) throws -> JSONValue {
        let start = pos
        func isTokenByte(_ c: UInt8) -> Bool {
            Self.isBare(c) || c == 0x2B || c == Self.dot || c == 0x3A // + . :
        }
        while let c = peek(), isTokenByte(c) { pos += 1 }
        // "1979-05-27 07:32:00": a date, a space, then a time.
        if pos - start == 10, Self.isDate(Array(bytes[start..<pos])), peek() == Self.space,
           let h1 = peek(1), let h2 = peek(2), Self.isDigit(h1), Self.isDigit(h2), peek(3) == 0x3A {
            pos += 1
            while let c = peek(), isTokenByte(c) { pos += 1 }
        }
        let token = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard !token.isEmpty else {
            throw error("expected a value for key \(Self.show(key)) (a string, number, boolean, date, array or inline table), found \(describeNext())")
        }
        if token == "true" { return .bool(true) }
        if token == "false" { return .bool(false) }
        if let v = Self.number(token) { return .number(v) }
        if Self.isDateTime(token) { return .string(token) }
        throw error("expected a value for key \(Self.show(key)) (a string, number, boolean, date, array or inline table), found '\(token)'",
                    line: line)
    }

    /// Digits with single underscores between digits; nil when malformed.
    static func digits(_ s: Substring, allowed: (Character) -> Bool) -> String? {
        guard let first = s.first, let last = s.last, first != "_", last != "_" else { return nil }
        var out = ""
        var previousUnderscore = false
        for c in s {
            if c == "_" {
                if previousUnderscore { return nil }
                previousUnderscore = true
                continue
            }
            guard allowed(c) else { return nil }
            previousUnderscore = false
            out.append(c)
        }
        return out
    }

    static func number(_ token: String) -> Double? {
        var s = Substring(token)
        var sign = ""
        if let f = s.first, f == "+" || f == "-" {
            sign = String(f)
            s = s.dropFirst()
        }
        if s == "inf" { return sign == "-" ? -.infinity : .infinity }
        if s == "nan" { return .nan }
        let isDecimal: (Character) -> Bool = { $0.isASCII && $0.isNumber }
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where s.hasPrefix(prefix) {
            guard sign.isEmpty,
                  let d = digits(s.dropFirst(2), allowed: { $0.isASCII && $0.isHexDigit && Int(String($0), radix: radix) != nil }),
                  let v = Int64(d, radix: radix) else { return nil }
            return Double(v)
        }
        // Decimal integer.
        if let d = digits(s, allowed: isDecimal) {
            if d.count > 1, d.hasPrefix("0") { return nil }
            guard let v = Int64(sign + d) else { return nil }
            return Double(v)
        }
        // Float: int ( "." frac )? ( [eE] [+-]? exp )?, with a fraction or an exponent.
        var mantissa = s
        var exponent: Substring?
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = s[s.startIndex..<e]
            exponent = s[s.index(after: e)...]
        }
        var intPart = mantissa
        var fracPart: Substring?
        if let dot = mantissa.firstIndex(of: ".") {
            intPart = mantissa[mantissa.startIndex..<dot]
            fracPart = mantissa[mantissa.index(after: dot)...]
        }
        guard fracPart != nil || exponent != nil,
              let i = digits(intPart, allowed: isDecimal), !(i.count > 1 && i.hasPrefix("0")) else { return nil }
        var text = sign + i
        if let fracPart {
            guard let f = digits(fracPart, allowed: isDecimal) else { return nil }
            text += "." + f
        }
        if var exponent {
            var expSign = ""
            if let f = exponent.first, f == "+" || f == "-" {
                expSign = String(f)
                exponent = exponent.dropFirst()
            }
            guard let x = digits(exponent, allowed: isDecimal) else { return nil }
            text += "e" + expSign + x
        }
        return Double(text)
    }

    static func isDate(_ b: [UInt8]) -> Bool {
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D,
              [0, 1, 2, 3, 5, 6, 8, 9].allSatisfy({ isDigit(b[$0]) }) else { return false }
        let month = Int(b[5] - 0x30) * 10 + Int(b[6] - 0x30)
        let day = Int(b[8] - 0x30) * 10 + Int(b[9] - 0x30)
        return (1...12).contains(month) && (1...31).contains(day)
    }

    /// HH:MM:SS(.frac)? with an optional offset (Z, +HH:MM) when `offset`.
    static func isTime(_ b: ArraySlice<UInt8>, offset allowOffset: Bool) -> Bool {
        let t = Array(b)
        guard t.count >= 8, t[2] == 0x3A, t[5] == 0x3A,
              [0, 1, 3, 4, 6, 7].allSatisfy({ isDigit(t[$0]) }) else { return false }
        let hour = Int(t[0] - 0x30) * 10 + Int(t[1] - 0x30)
        let minute = Int(t[3] - 0x30) * 10 + Int(t[4] - 0x30)
        let second = Int(t[6] - 0x30) * 10 + Int(t[7] - 0x30)
        guard hour < 24, minute < 60, second <= 60 else { return false }
        var i = 8
        if i < t.count, t[i] == dot {
            i += 1
            let start = i
            while i < t.count, isDigit(t[i]) { i += 1 }
            guard i > start else { return false }
        }
        if i == t.count { return true }
        guard allowOffset else { return false }
        if (t[i] == 0x5A || t[i] == 0x7A), i + 1 == t.count { return true } // Z z
        guard t[i] == 0x2B || t[i] == 0x2D, t.count - i == 6 else { return false }
        let o = Array(t[(i + 1)...])
        guard isDigit(o[0]), isDigit(o[1]), o[2] == 0x3A, isDigit(o[3]), isDigit(o[4]) else { return false }
        return Int(o[0] - 0x30) * 10 + Int(o[1] - 0x30) < 24 && Int(o[3] - 0x30) * 10 + Int(o[4] - 0x30) < 60
    }

    static func isDateTime(_ token: String) -> Bool {
        let b = Array(token.utf8)
        if b.count == 10 { return isDate(b) }
        if b.count > 10, isDate(Array(b[0..<10])) {
            guard b[10] == 0x54 || b[10] == 0x74 || b[10] == space else { return false } // T t ' '
            return isTime(b[11...], offset: true)
        }
        return isTime(b[...], offset: false)
    }
}
