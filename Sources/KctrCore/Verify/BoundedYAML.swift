import Foundation
import Yams

/// Yams with bounds, for the YAML files kctr reads from the node (kubelet config, crictl.yaml).
///
/// Yams composes and constructs recursively, without a depth limit: 100,000 '[' crash it with a
/// stack overflow (found by `make fuzz`), and so does a chain of aliases each nesting the previous
/// one. Aliases are also expanded on construction: ten lines of "b: &b [*a, *a, ...]" make a
/// billion nodes. So, before Yams sees the text, nesting is estimated from it (indentation, compact
/// "- - -" entries, flow brackets); after composing, the tree is walked with aliases expanded,
/// counting nodes and depth and refusing keys Yams cannot construct, before anything is constructed.
public enum BoundedYAML {
    /// Deepest nesting accepted: kubelet configs nest five or six levels.
    public static let maxDepth = 64
    /// Columns of indentation accepted (each level of block nesting takes at least one).
    public static let maxIndent = 64
    /// Nodes after alias expansion.
    public static let maxNodes = 1_000_000

    public static func load(_ text: String) throws -> Any? {
        if let why = nesting(text) { throw KctrError(why) }
        guard let node = try Yams.Parser(yaml: text).singleRoot() else { return nil }
        var count = 0
        if let why = walk(node, depth: 1, count: &count) { throw KctrError(why) }
        return node.any
    }

    /// Why the text nests too deep to hand to Yams, or nil. An estimate that errs on the deep side:
    /// brackets inside plain scalars count too.
    static func nesting(_ text: String) -> String? {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var flow = 0
        var inSingle = false, inDouble = false
        var lineNumber = 0
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = Array(line)
            var i = 0
            if flow == 0 && !inSingle && !inDouble {
                while i < bytes.count && bytes[i] == space { i += 1 }
                let indent = i
                if i > maxIndent && i < bytes.count && bytes[i] != UInt8(ascii: "#") && bytes[i] != UInt8(ascii: "\r") {
                    return "line \(lineNumber) is indented \(i) columns, more than the \(maxIndent) kctr reads"
                }
                // Compact nesting: "- - - x", "? - x".
                var compact = 0
                while i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "?"),
                      i + 1 == bytes.count || bytes[i + 1] == space || bytes[i + 1] == tab {
                    compact += 1
                    i += 1
                    while i < bytes.count && (bytes[i] == space || bytes[i] == tab) { i += 1 }
                }
                if indent / 2 + compact > maxDepth {
                    return "line \(lineNumber) nests more than \(maxDepth) levels deep"
                }
            }
            var previous: UInt8 = space
            while i < bytes.count {
                let b = bytes[i]
                if inDouble {
                    if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { inDouble = false }
                } else if inSingle {
                    if b == UInt8(ascii: "'") {
                        if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "'") { i += 1 } else { inSingle = false }
                    }
                } else {
                    let atTokenStart = previous == space || previous == tab || previous == UInt8(ascii: "[")
                        || previous == UInt8(ascii: "{") || previous == UInt8(ascii: ",")
                    switch b {
                    case UInt8(ascii: "#") where previous == space || previous == tab:
                        i = bytes.count
                        continue
                    case UInt8(ascii: "\"") where atTokenStart: inDouble = true
                    case UInt8(ascii: "'") where atTokenStart: inSingle = true
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        flow += 1
                        if flow > maxDepth { return "line \(lineNumber) nests brackets more than \(maxDepth) deep" }
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        flow = max(0, flow - 1)
                    default: break
                    }
                }
                previous = b
                i += 1
            }
        }
        return nil
    }

    /// Why the composed tree is too deep or too large once aliases are expanded, or nil.
    static func walk(_ node: Node, depth: Int, count: inout Int) -> String? {
        count += 1
        if count > maxNodes { return "the document expands to more than \(maxNodes) nodes (through aliases)" }
        if depth > maxDepth { return "the document nests more than \(maxDepth) levels deep" }
        switch node {
        case .scalar:
            return nil
        case .sequence(let items):
            for item in items {
                if let why = walk(item, depth: depth + 1, count: &count) { return why }
            }
        case .mapping(let pairs):
            for pair in pairs {
                // Yams constructs keys with a force unwrap of their string: a sequence or mapping as
                // a key ("? [a]: b", "{[a]: b}") crashed it (found by `make fuzz`, yaml target).
                guard pair.key.scalar != nil else {
                    return "line \(pair.key.mark?.line ?? 0): a mapping key is a sequence or mapping; kctr reads only plain keys"
                }
                if let why = walk(pair.key, depth: depth + 1, count: &count) { return why }
                if let why = walk(pair.value, depth: depth + 1, count: &count) { return why }
            }
        }
        return nil
    }
}
