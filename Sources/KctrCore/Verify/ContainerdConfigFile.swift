import Foundation
import KctrRPC

/// containerd's config.toml with its imports merged as containerd merges them: loading only; the
/// `config` group (ConfigGroup) checks what this found.
public struct ContainerdConfigFile: Sendable, Equatable {
    /// The main file.
    public var path: String
    /// The merged document; nil when the main file is missing or a file does not parse.
    public var merged: JSONValue?
    /// Every file read after the main one, in merge order (later ones override).
    public var imports: [String] = []
    /// Each file's own document, main file first, in merge order.
    public var documents: [Document] = []
    /// The main file does not exist (containerd then runs with built-in defaults).
    public var missing = false
    /// "<file>: line N: expected ..." when a file cannot be read or parsed.
    public var error: String?
    /// Why kctr stopped before reading every import (more than `maxConfigFiles` files):
    /// the files may be fine for containerd, but kctr did not merge them.
    public var limit: String?

    public struct Document: Sendable, Equatable {
        public var path: String
        public var value: JSONValue
    }

    /// The merged value at `key` (a path of table names).
    public func value(at key: [String]) -> JSONValue? { ContainerdConfigFile.lookup(merged, key) }

    /// The last file (in merge order) that sets `key` (a path of table names), or the main file.
    public func source(of key: [String]) -> String {
        documents.last(where: { ContainerdConfigFile.lookup($0.value, key) != nil })?.path ?? path
    }
}

extension ContainerdConfigFile {
    // MARK: - Loading config.toml and its imports

    /// Files kctr reads for one config.toml, the main file and its imports: containerd sets no limit,
    /// but a few are usual (conf.d drop-ins), and a glob over a large directory should not be read whole.
    public static let maxConfigFiles = 64

    /// Reads `path` and follows its top-level `imports` (paths and `*` globs, relative to the file that
    /// names them), breadth first and once each, as containerd does: paths are cleaned first (Go's
    /// filepath.Clean), so that two directories importing each other with "../" are each read once;
    /// at most `maxConfigFiles` files. Merging follows containerd's
    /// `mergeConfig`: each table under `plugins`, `proxy_plugins` and `stream_processors` is replaced
    /// whole by a later file's; elsewhere tables merge key by key, arrays are appended to, and a later
    /// value overrides unless it is empty (false, 0, "", []).
    public static func load(path: String) -> ContainerdConfigFile {
        var result = ContainerdConfigFile(path: path)
        guard FileManager.default.fileExists(atPath: path) else {
            result.missing = true
            return result
        }
        var pending = [path]
        var loaded = Set<String>()
        var merged: [String: JSONValue] = [:]
        while !pending.isEmpty {
            let file = pending.removeFirst()
            // Cleaned, so that an import cycle ends here.
            if loaded.contains(cleanPath(file)) { continue }
            guard loaded.count < maxConfigFiles else {
                result.limit = "\(path) and its imports name more than \(maxConfigFiles) files, the most kctr reads; it stopped before \(file)"
                return result
            }
            let read: String?
            do {
                read = try SmallFile.text(file)
            } catch {
                result.error = "\(error)"
                return result
            }
            guard let text = read else {
                result.error = file == path ? "\(file): cannot read the file"
                    : "\(file): cannot read this import (containerd fails to start: a file named in imports must exist)"
                return result
            }
            let doc: JSONValue
            do {
                doc = try TOML.parse(text)
            } catch let e as KctrError {
                result.error = "\(file): \(e.message)"
                return result
            } catch {
                result.error = "\(file): \(error)"
                return result
            }
            loaded.insert(cleanPath(file))
            if file != path { result.imports.append(file) }
            result.documents.append(.init(path: file, value: doc))
            mergeTop(&merged, doc.object ?? [:])
            var names: [String] = []
            if case .array(let list)? = doc["imports"] {
                for item in list {
                    guard let s = item.string else {
                        result.error = "\(file): imports must be a list of strings"
                        return result
                    }
                    names.append(s)
                }
            } else if doc["imports"] != nil {
                result.error = "\(file): imports must be a list of strings"
                return result
            }
            pending.append(contentsOf: resolveImports(names, parent: file))
        }
        result.merged = .object(merged)
        return result
    }

    /// containerd's resolveImports: each path is cleaned; a relative one is joined to the importing
    /// file's directory; a path with `*` is then a glob (sorted matches).
    static func resolveImports(_ imports: [String], parent: String) -> [String] {
        let dir = (parent as NSString).deletingLastPathComponent
        var out: [String] = []
        for name in imports {
            let full = name.hasPrefix("/") ? cleanPath(name) : cleanPath((dir.isEmpty ? "." : dir) + "/" + name)
            if full.contains("*") {
                out.append(contentsOf: glob(full).map(cleanPath))
            } else {
                out.append(full)
            }
        }
        return out
    }

    /// Go's filepath.Clean: "." and empty components dropped, ".." takes the previous component away
    /// (at the root it stays at the root); no file system access, symlinks are not followed.
    static func cleanPath(_ path: String) -> String {
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".":
                continue
            case "..":
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append(part)
                }
            default:
                parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// Paths matching `pattern` (`*`, `?`, `[...]` within one path component), sorted.
    static func glob(_ pattern: String) -> [String] {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var current = [pattern.hasPrefix("/") ? "/" : "."]
        for part in parts {
            var next: [String] = []
            let isPattern = part.contains(where: { "*?[".contains($0) })
            for base in current {
                if isPattern {
                    let names = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).sorted()
                    for name in names where !name.hasPrefix(".") || part.hasPrefix(".") {
                        if fnmatch(Array(part), Array(name)) { next.append((base as NSString).appendingPathComponent(name)) }
                    }
                } else {
                    let candidate = (base as NSString).appendingPathComponent(part)
                    if FileManager.default.fileExists(atPath: candidate) { next.append(candidate) }
                }
            }
            current = next
        }
        return current.sorted()
    }

    /// Shell-style matching of one path component.
    static func fnmatch(_ p: [Character], _ s: [Character]) -> Bool {
        var pi = 0, si = 0
        var starP = -1, starS = 0
        while si < s.count {
            if pi < p.count {
                switch p[pi] {
                case "*":
                    starP = pi; starS = si; pi += 1
                    continue
                case "?":
                    pi += 1; si += 1
                    continue
                case "[":
                    if let close = p[(pi + 1)...].firstIndex(of: "]"), close > pi + 1 {
                        var set = Array(p[(pi + 1)..<close])
                        let negate = set.first == "^" || set.first == "!"
                        if negate { set.removeFirst() }
                        var matched = false
                        var i = 0
                        while i < set.count {
                            if i + 2 < set.count, set[i + 1] == "-" {
                                if set[i] <= s[si] && s[si] <= set[i + 2] { matched = true }
                                i += 3
                            } else {
                                if set[i] == s[si] { matched = true }
                                i += 1
                            }
                        }
                        if matched != negate {
                            pi = close + 1; si += 1
                            continue
                        }
                    } else if s[si] == "[" {
                        pi += 1; si += 1
                        continue
                    }
                default:
                    if p[pi] == s[si] {
                        pi += 1; si += 1
                        continue
                    }
                }
            }
            guard starP >= 0 else { return false }
            pi = starP + 1
            starS += 1
            si = starS
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }

    static let replacedWhole: Set<String> = ["plugins", "proxy_plugins", "stream_processors"]

    static func mergeTop(_ into: inout [String: JSONValue], _ from: [String: JSONValue]) {
        for (key, value) in from {
            if replacedWhole.contains(key), case .object(let sections)? = into[key], case .object(let newSections) = value {
                var merged = sections
                for (name, section) in newSections { merged[name] = section }
                into[key] = .object(merged)
            } else if let existing = into[key] {
                into[key] = mergeValue(existing, value)
            } else {
                into[key] = value
            }
        }
    }

    static func mergeValue(_ old: JSONValue, _ new: JSONValue) -> JSONValue {
        switch (old, new) {
        case (.object(var a), .object(let b)):
            for (k, v) in b { a[k] = a[k].map { mergeValue($0, v) } ?? v }
            return .object(a)
        case (.array(let a), .array(let b)):
            return .array(a + b)
        default:
            return isEmpty(new) ? old : new
        }
    }

    static func isEmpty(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return true
        case .bool(let b): return !b
        case .number(let n): return n == 0
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        case .object: return false
        }
    }

    // MARK: - Helpers

    static func lookup(_ value: JSONValue?, _ path: [String]) -> JSONValue? {
        var v = value
        for key in path { v = v?[key] }
        return v
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.rounded() == n && abs(n) < 9e15 ? String(Int64(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(describe).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.sorted { $0.key < $1.key }.map { "\($0.key) = \(describe($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// The format version as containerd reads it: absent -> 1; nil when it is not a whole number.
    static func formatVersion(_ doc: JSONValue) -> Int? {
        guard let v = doc["version"] else { return 1 }
        if case .number(let n) = v, n.rounded() == n, abs(n) < 1e9 { return Int(n) }
        return nil
    }
}
