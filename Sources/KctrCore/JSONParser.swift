/// RFC 8259 JSON text -> `JSONValue`, for the untyped documents the daemon hands over (CRI's verbose
/// info and status maps).
///
/// Written out rather than going through JSONSerialization: that builds NSDictionary/NSNumber objects
/// whose keys hash through CoreFoundation and whose values then need a dynamic cast each, ~6.4 M
/// instructions of `kctr info` (a fifth of the command) against ~0.5 M here. Top-level scalars are
/// accepted (JSONSerialization's `.fragmentsAllowed`), so is a trailing comma (as JSONSerialization
/// does); a repeated key keeps its last value, numbers are Doubles, and nesting deeper than `maxDepth`
/// is refused rather than recursed into.
struct JSONParser {
    static let maxDepth = 512

    private let b: [UInt8]
    private var i = 0

    private init(_ bytes: [UInt8]) { b = bytes }

    /// The document, or nil when `text` is not one JSON value (with optional surrounding whitespace).
    static func parse(_ text: String) -> JSONValue? {
        var p = JSONParser(Array(text.utf8))
        p.skipSpace()
        guard let v = p.value(depth: 0) else { return nil }
        p.skipSpace()
        return p.i == p.b.count ? v : nil
    }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func value(depth: Int) -> JSONValue? {
        guard i < b.count, depth < Self.maxDepth else { return nil }
        switch b[i] {
        case 0x7B: return object(depth: depth)
        case 0x5B: return array(depth: depth)
        case 0x22: return string().map { .string($0) }
        case 0x74: return literal("true", .bool(true))
        case 0x66: return literal("false", .bool(false))
        case 0x6E: return literal("null", .null)
        default: return number()
        }
    }

    private mutating func literal(_ word: StaticString, _ v: JSONValue) -> JSONValue? {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { return nil }
        let matches = word.withUTF8Buffer { w in (0..<n).allSatisfy { b[i + $0] == w[$0] } }
        guard matches else { return nil }
        i += n
        return v
    }

    private mutating func object(depth: Int) -> JSONValue? {
        i += 1
        var out: [String: JSONValue] = [:]
        skipSpace()
        if i < b.count, b[i] == 0x7D { i += 1; return .object(out) }
        while true {
            skipSpace()
            if i < b.count, b[i] == 0x7D, !out.isEmpty { i += 1; return .object(out) }  // a trailing comma
            guard i < b.count, b[i] == 0x22, let key = string() else { return nil }
            skipSpace()
            guard i < b.count, b[i] == 0x3A else { return nil }
            i += 1
            skipSpace()
            guard let v = value(depth: depth + 1) else { return nil }
            out[key] = v
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == 0x2C { i += 1; continue }
            if b[i] == 0x7D { i += 1; return .object(out) }
            return nil
        }
    }

    private mutating func array(depth: Int) -> JSONValue? {
        i += 1
        var out: [JSONValue] = []
        skipSpace()
        if i < b.count, b[i] == 0x5D { i += 1; return .array(out) }
        while true {
            skipSpace()
            if i < b.count, b[i] == 0x5D, !out.isEmpty { i += 1; return .array(out) }  // a trailing comma
            guard let v = value(depth: depth + 1) else { return nil }
            out.append(v)
            skipSpace()
            guard i < b.count else { return nil }
            if b[i] == 0x2C { i += 1; continue }
            if b[i] == 0x5D { i += 1; return .array(out) }
            return nil
        }
    }

    /// A string starting at the opening quote.
    private mutating func string() -> String? {
        i += 1
        let start = i
        // The common case: no escapes, so the bytes are the string (already valid UTF-8).
        while i < b.count, b[i] != 0x22, b[i] != 0x5C, b[i] >= 0x20 { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == 0x22 {
            defer { i += 1 }
            return String(decoding: b[start..<i], as: UTF8.self)
        }
        var out = Array(b[start..<i])
        while i < b.count {
            let c = b[i]
            if c == 0x22 { i += 1; return String(decoding: out, as: UTF8.self) }
            if c < 0x20 { return nil }
            if c != 0x5C { out.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { return nil }
            let e = b[i]
            i += 1
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                guard var scalar = hex4() else { return nil }
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard i + 1 < b.count, b[i] == 0x5C, b[i + 1] == 0x75 else { return nil }
                    i += 2
                    guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let u = Unicode.Scalar(scalar) else { return nil }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                return nil
            }
        }
        return nil
    }

    private mutating func hex4() -> UInt32? {
        guard i + 4 <= b.count else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case 0x41...0x46: d = c - 0x41 + 10
            case 0x61...0x66: d = c - 0x61 + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    private mutating func number() -> JSONValue? {
        let start = i
        func digits() -> Int {
            let s = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 { i += 1 }
            return i - s
        }
        if i < b.count, b[i] == 0x2D { i += 1 }
        guard i < b.count else { return nil }
        if b[i] == 0x30 {
            i += 1
        } else if digits() == 0 {
            return nil
        }
        if i < b.count, b[i] == 0x2E {
            i += 1
            guard digits() > 0 else { return nil }
        }
        if i < b.count, b[i] == 0x65 || b[i] == 0x45 {
            i += 1
            if i < b.count, b[i] == 0x2B || b[i] == 0x2D { i += 1 }
            guard digits() > 0 else { return nil }
        }
        guard let d = Double(String(decoding: b[start..<i], as: UTF8.self)), d.isFinite else { return nil }
        return .number(d)
    }
}
