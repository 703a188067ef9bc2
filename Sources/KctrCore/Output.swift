import Foundation
import Yams

public enum OutputFormat: String, CaseIterable, Sendable {
    case table, json, yaml
}

/// Rendering to strings: deterministic (sorted keys), never printing.
public enum Render {
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One line of JSON, for streams.
    public static func jsonLine<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    public static func yaml<T: Encodable>(_ value: T) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(value)
    }

    /// The payload in json or yaml; `table` is the caller's to render.
    public static func document<T: Encodable>(_ value: T, as format: OutputFormat) throws -> String? {
        switch format {
        case .json: return try json(value)
        case .yaml: return try yaml(value)
        case .table: return nil
        }
    }

    /// `text` with spaces after it up to `width` characters (never cut). Unlike NSString's
    /// padding(toLength:), which counts UTF-16 units and bridges through CoreFoundation, it counts
    /// characters, as the column widths are counted.
    public static func pad(_ text: String, _ width: Int) -> String {
        let n = characters(text)
        return n >= width ? text : text + String(repeating: " ", count: width - n)
    }

    /// The characters `text` takes on a line: its UTF-8 length when it is ASCII without a CR (then
    /// each byte is one character), else its grapheme count. Counting graphemes of every cell was a
    /// fifth of `images ls` with 5,000 names.
    static func characters(_ text: String) -> Int {
        // A small string (up to 15 bytes: most cells) has no contiguous storage to lend: walk its bytes.
        let ascii = text.utf8.withContiguousStorageIfAvailable { !$0.contains { $0 >= 0x80 || $0 == 0x0D } }
            ?? !text.utf8.contains { $0 >= 0x80 || $0 == 0x0D }
        return ascii ? text.utf8.count : text.count
    }

    /// Left-aligned columns separated by three spaces.
    public static func table(_ headers: [String], _ rows: [[String]]) -> String {
        var widths = headers.map(characters)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], characters(cell))
            }
        }
        // One buffer for the whole table: appending to a String cell by cell cost more than the rest.
        var text: [UInt8] = []
        text.reserveCapacity((rows.count + 1) * (widths.reduce(0, +) + 3 * widths.count + 1))
        func line(_ cells: [String]) {
            for (i, cell) in cells.enumerated() {
                text.append(contentsOf: cell.utf8)
                if i < cells.count - 1 {
                    let n = characters(cell)
                    let width = i < widths.count ? widths[i] : n
                    text.append(contentsOf: repeatElement(0x20, count: max(0, width - n) + 3))
                }
            }
            text.append(0x0A)
        }
        line(headers)
        for row in rows { line(row) }
        return String(decoding: text, as: UTF8.self)
    }

    /// 1536 -> "1.5 KiB", as ctr prints sizes.
    ///
    /// The tenths in integers, rounded half to even as printf's "%.1f" rounds bytes / 1024^n (exact in
    /// binary): formatting a Double through withVaList/vsnprintf cost ~1.5 M instructions of a one-image
    /// `images ls` (boxing the CVarArg and looking up its conformances the first time).
    public static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        let m = bytes.magnitude
        var unit = 0
        while unit < units.count - 1, m >> UInt64(10 * (unit + 1)) > 0 { unit += 1 }
        guard bytes > 0, unit > 0 else { return "\(bytes) B" }
        let shift = UInt64(10 * unit)
        let mask: UInt64 = (1 << shift) - 1
        let scaled = (m & mask) * 10
        var tenths = (m >> shift) * 10 + (scaled >> shift)
        let rest = scaled & mask, half: UInt64 = 1 << (shift - 1)
        if rest > half || (rest == half && tenths & 1 == 1) { tenths += 1 }
        return "\(tenths / 10).\(tenths % 10) \(units[unit])"
    }

    /// printf's "%.2f" (or any precision) without String(format:), which sets up a locale (ICU) first.
    public static func fixed(_ value: Double, digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let n = withVaList([Int32(digits), value]) { vsnprintf(&buffer, buffer.count, "%.*f", $0) }
        guard n > 0, n < buffer.count else { return "\(value)" }
        return String(cString: buffer)
    }
}
