import Foundation
import KctrYAML
import Yams

/// Yams with bounds, for the YAML files kctr reads from the node (kubelet config, crictl.yaml).
///
/// Yams composes and constructs recursively, without a depth limit: 100,000 '[' crash it with a
/// stack overflow (found by `make fuzz`), and so does a chain of aliases each nesting the previous
/// one. Aliases are also expanded on construction: ten lines of "b: &b [*a, *a, ...]" make a
/// billion nodes. So, before Yams sees the text, libyaml's events are walked (`YAMLDepth`: the
/// parser Yams itself runs, so the depth is exact, whatever quotes, comments or plain scalars the
/// text holds); after composing, the tree is walked with aliases expanded, counting nodes and depth
/// and refusing keys Yams cannot construct, before anything is constructed.
///
/// An earlier version estimated the depth from the text: a quote inside a plain scalar (`a: x "y`)
/// made it read the rest of the file as a string, and brackets after it crashed kctr.
public enum BoundedYAML {
    /// Deepest nesting accepted: kubelet configs nest five or six levels.
    public static let maxDepth = 64
    /// Nodes after alias expansion.
    public static let maxNodes = 1_000_000

    public static func load(_ text: String) throws -> Any? {
        if let deep = YAMLDepth.check(text, maxDepth: maxDepth) {
            throw KctrError("line \(deep.line) nests more than \(maxDepth) levels deep")
        }
        // UTF-8 as YAMLDepth read it (Yams' default can be changed by an environment variable).
        let root: Node?
        do {
            root = try Yams.Parser(yaml: text, encoding: .utf8).singleRoot()
        } catch let error as YamlError {
            throw KctrError(shortened("\(error)"))
        }
        guard let node = root else { return nil }
        var count = 0
        if let why = walk(node, depth: 1, count: &count) { throw KctrError(why) }
        return node.any
    }

    /// Yams quotes the offending line whole: cut each line of its message, so that a line of a
    /// megabyte does not end up in the error.
    static func shortened(_ message: String, width: Int = 200) -> String {
        message.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.count > width ? $0.prefix(width) + "..." : String($0) }
            .joined(separator: "\n")
    }

    /// Why the composed tree is too deep or too large once aliases are expanded, or nil.
    static func walk(_ node: Node, depth: Int, count: inout Int) -> String? {
        count += 1
        if count > maxNodes { return "the document expands to more than \(maxNodes) nodes (through aliases)" }
        if depth > maxDepth { return "the document nests more than \(maxDepth) levels deep (through aliases)" }
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
