import Foundation
import KctrRPC

/// Checks that read files (containerd's config.toml and imports, crictl.yaml, the kubelet's
/// config, /proc and /sys): the `config`, `crictl`, `kernel` groups and the kubelet side of `cgroup`.
public enum FileChecks {}

/// containerd's config.toml with its imports merged as containerd merges them.
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
    /// Why kctr stopped before reading every import (more than `FileChecks.maxConfigFiles` files):
    /// the files may be fine for containerd, but kctr did not merge them.
    public var limit: String?

    public struct Document: Sendable, Equatable {
        public var path: String
        public var value: JSONValue
    }

    /// The last file (in merge order) that sets `key` (a path of table names), or the main file.
    public func source(of key: [String]) -> String {
        documents.last(where: { FileChecks.lookup($0.value, key) != nil })?.path ?? path
    }
}

extension FileChecks {
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
    public static func loadContainerdConfig(path: String) -> ContainerdConfigFile {
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

    /// `plugins."io.containerd.grpc.v1.cri".containerd` as TOML writes it.
    static func tomlPath(_ parts: [String]) -> String {
        parts.map { part in
            let bare = !part.isEmpty && part.unicodeScalars.allSatisfy {
                ($0.value < 128) && (CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-")
            }
            return bare ? part : "\"\(part)\""
        }.joined(separator: ".")
    }

    static func describe(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.rounded() == n && abs(n) < 9e15 ? String(Int64(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(describe).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\($0) = \(describe(o[$0]!))" }.joined(separator: ", ") + "}"
        }
    }

    static let restart = "systemctl restart containerd"

    static let criV2 = ["plugins", "io.containerd.grpc.v1.cri"]
    static let criV1 = ["plugins", "cri"]
    static let criV3Runtime = ["plugins", "io.containerd.cri.v1.runtime"]
    static let criV3Images = ["plugins", "io.containerd.cri.v1.images"]

    /// The config format version as containerd reads it (absent -> 1).
    static func configVersion(_ doc: JSONValue) -> Int? {
        guard let v = doc["version"] else { return 1 }
        if case .number(let n) = v, n.rounded() == n { return Int(n) }
        return nil
    }

    /// Where the CRI runtime settings live for this config version: [plugins.cri] (1),
    /// [plugins."io.containerd.grpc.v1.cri"] (2), [plugins."io.containerd.cri.v1.runtime"] (3).
    static func criTable(version: Int) -> [String] {
        switch version {
        case 1: return criV1
        case 3: return criV3Runtime
        default: return criV2
        }
    }

    // MARK: - The config group

    /// The `config` group: config.parse, config.version, config.disabled-plugins,
    /// config.systemd-cgroup-placement, config.unknown-keys, config.drift (in that order).
    public static func configChecks(_ ctx: VerifyContext) -> [CheckResult] {
        configChecks(ctx, file: loadContainerdConfig(path: ctx.paths.containerdConfig))
    }

    /// The same, from an already loaded file (so that the runner loads it once).
    public static func configChecks(_ ctx: VerifyContext, file: ContainerdConfigFile) -> [CheckResult] {
        let path = file.path
        var results: [CheckResult] = []
        func skipRest(_ why: String) {
            let rest: [(String, String)] = [
                ("config.version", "config.toml format version"),
                ("config.disabled-plugins", "CRI is not disabled"),
                ("config.systemd-cgroup-placement", "SystemdCgroup is where containerd reads it"),
                ("config.unknown-keys", "no keys containerd ignores"),
                ("config.drift", "running CRI config matches the file"),
            ]
            for (id, title) in rest {
                results.append(CheckResult(id: id, group: .config, title: title, status: .skip, found: why, evidence: path))
            }
        }
        /// config.parse warns with `found` and `fix`; the other checks skip because of `why`.
        func warnAndSkipRest(_ found: String, fix: String, why: String) -> [CheckResult] {
            results.append(CheckResult(id: "config.parse", group: .config, title: "config.toml parses", status: .warn,
                                       found: found, evidence: path, fix: fix))
            skipRest(why)
            return results
        }
        if file.missing {
            return warnAndSkipRest(
                "\(path) does not exist: containerd runs with built-in defaults (SystemdCgroup = false, sandbox image of its release)",
                fix: "mkdir -p \((path as NSString).deletingLastPathComponent) && containerd config default > \(path), set SystemdCgroup = true under [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options] when the kubelet uses the systemd cgroup driver, then \(restart)",
                why: "\(path) does not exist")
        }
        if let limit = file.limit {
            return warnAndSkipRest(
                "\(limit): the files were not merged, so the config checks are skipped",
                fix: "look at the imports of \(path) and the files they name: a glob may match more than meant (containerd reads every match); fold drop-ins into fewer files, then run verify-runtime again",
                why: "kctr did not read all the imports of \(path)")
        }
        guard let doc = file.merged, file.error == nil else {
            let err = file.error ?? "\(path): cannot be parsed"
            results.append(CheckResult(
                id: "config.parse", group: .config, title: "config.toml parses", status: .fail,
                found: "\(err); containerd refuses to start with it (or keeps running the old config until it restarts)",
                evidence: err.components(separatedBy: ": line ").first ?? path,
                fix: "fix the TOML at the line shown (`containerd config dump` shows what containerd makes of it), then \(restart)"))
            skipRest("\(path) does not parse")
            return results
        }
        let importNote = file.imports.isEmpty ? "no imports" :
            "\(file.imports.count) import\(file.imports.count == 1 ? "" : "s"): " + file.imports.joined(separator: ", ")
        results.append(CheckResult(
            id: "config.parse", group: .config, title: "config.toml parses", status: .pass,
            found: "parsed \(path) (\(importNote))", evidence: path))
        results.append(versionCheck(ctx, file: file, doc: doc))
        results.append(disabledPluginsCheck(file: file, doc: doc))
        results.append(systemdCgroupPlacementCheck(file: file, doc: doc))
        results.append(unknownKeysCheck(file: file, doc: doc))
        results.append(driftCheck(ctx, file: file, doc: doc))
        return results
    }

    static func versionCheck(_ ctx: VerifyContext, file: ContainerdConfigFile, doc: JSONValue) -> CheckResult {
        let id = "config.version", title = "config.toml format version"
        let evidence = "\(file.source(of: ["version"])): version"
        let daemon = ctx.version?.version
        let daemonMajor = daemon.flatMap { v -> Int? in
            let s = v.hasPrefix("v") ? String(v.dropFirst()) : v
            return Int(s.prefix(while: \.isNumber))
        }
        switch doc["version"] {
        case nil:
            return CheckResult(id: id, group: .config, title: title, status: .warn,
                               found: "no version key: containerd reads the file as version 1 (deprecated), with the CRI settings under [plugins.cri], and ignores [plugins.\"io.containerd.grpc.v1.cri\"] tables",
                               evidence: evidence,
                               fix: "add `version = 2` as the first line and write CRI settings under [plugins.\"io.containerd.grpc.v1.cri\"] (see `containerd config default`), then \(restart)")
        case .number(1)?:
            return CheckResult(id: id, group: .config, title: title, status: .warn,
                               found: "version = 1 (deprecated): the CRI settings are read from [plugins.cri]",
                               evidence: evidence,
                               fix: "set `version = 2` and move [plugins.cri...] tables to [plugins.\"io.containerd.grpc.v1.cri\"...] (see `containerd config default`), then \(restart)")
        case .number(2)?:
            return CheckResult(id: id, group: .config, title: title, status: .pass,
                               found: "version = 2", evidence: evidence)
        case .number(3)?:
            if daemonMajor == 2 {
                return CheckResult(id: id, group: .config, title: title, status: .pass,
                                   found: "version = 3, read by containerd \(daemon ?? "2.x")", evidence: evidence)
            }
            if let daemon {
                return CheckResult(id: id, group: .config, title: title, status: .fail,
                                   found: "version = 3 is the containerd 2.x format but the daemon is containerd \(daemon), which does not read it",
                                   evidence: evidence,
                                   fix: "write a version 2 file (`containerd config default > \(file.path)` on this containerd), or upgrade containerd to 2.x; then \(restart)")
            }
            return CheckResult(id: id, group: .config, title: title, status: .warn,
                               found: "version = 3 needs containerd 2.x; the daemon's version is unknown",
                               evidence: evidence,
                               fix: "check `containerd --version`: with 1.x, write a version 2 file (`containerd config default > \(file.path)`)")
        case let v?:
            return CheckResult(id: id, group: .config, title: title, status: .fail,
                               found: "version = \(describe(v)) is not a version containerd knows (1, 2, or 3 for containerd 2.x)",
                               evidence: evidence,
                               fix: "set `version = 2` (containerd 1.6/1.7) or `version = 3` (containerd 2.x), then \(restart)")
        }
    }

    static let criPluginNames: Set<String> = ["cri", "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.runtime",
                                              "io.containerd.cri.v1.images"]

    static func disabledPluginsCheck(file: ContainerdConfigFile, doc: JSONValue) -> CheckResult {
        let id = "config.disabled-plugins", title = "CRI is not disabled"
        let list: [String]
        if case .array(let items)? = doc["disabled_plugins"] { list = items.compactMap(\.string) } else { list = [] }
        let hits = list.filter { criPluginNames.contains($0) }
        if hits.isEmpty {
            let shown = list.isEmpty ? "disabled_plugins is empty" : "disabled_plugins = \(describe(.array(list.map(JSONValue.string)))) leaves CRI enabled"
            return CheckResult(id: id, group: .config, title: title, status: .pass, found: shown,
                               evidence: "\(file.source(of: ["disabled_plugins"])): disabled_plugins")
        }
        let sources = file.documents.filter { d in
            (d.value["disabled_plugins"].flatMap { v -> [String]? in
                if case .array(let a) = v { return a.compactMap(\.string) } else { return nil }
            } ?? []).contains(where: hits.contains)
        }.map(\.path)
        let where_ = (sources.isEmpty ? [file.path] : sources).map { "\($0): disabled_plugins" }.joined(separator: ", ")
        return CheckResult(id: id, group: .config, title: title, status: .fail,
                           found: "disabled_plugins contains \(hits.map { "\"\($0)\"" }.joined(separator: ", ")): the CRI plugin is off, so the kubelet cannot use containerd (the default file of the containerd.io package does this)",
                           evidence: where_,
                           fix: "remove \(hits.map { "\"\($0)\"" }.joined(separator: ", ")) from disabled_plugins in \(sources.first ?? file.path) (e.g. `disabled_plugins = []`) and restart containerd: \(restart)")
    }

    // MARK: SystemdCgroup placement

    /// Every table path holding the key `name`, in the merged document.
    static func paths(of name: String, in value: JSONValue, prefix: [String] = []) -> [[String]] {
        var out: [[String]] = []
        switch value {
        case .object(let o):
            for key in o.keys.sorted() {
                if key == name { out.append(prefix + [key]) }
                out += paths(of: name, in: o[key]!, prefix: prefix + [key])
            }
        case .array(let a):
            for (i, item) in a.enumerated() { out += paths(of: name, in: item, prefix: prefix + ["[\(i)]"]) }
        default:
            break
        }
        return out
    }

    /// plugins.<cri>.containerd.{runtimes.<name>,default_runtime,untrusted_workload_runtime}.options.SystemdCgroup
    static func isRuntimeOptionsPath(_ p: [String], cri: [String]) -> Bool {
        guard p.count >= cri.count + 4, Array(p.prefix(cri.count)) == cri else { return false }
        let rest = Array(p.dropFirst(cri.count))
        if rest.count == 5, rest[0] == "containerd", rest[1] == "runtimes", rest[3] == "options" { return true }
        if rest.count == 4, rest[0] == "containerd", ["default_runtime", "untrusted_workload_runtime"].contains(rest[1]),
           rest[2] == "options" { return true }
        return false
    }

    static func systemdCgroupPlacementCheck(file: ContainerdConfigFile, doc: JSONValue) -> CheckResult {
        let id = "config.systemd-cgroup-placement", title = "SystemdCgroup is where containerd reads it"
        let version = configVersion(doc) ?? 2
        let cri = criTable(version: version)
        var fails: [String] = [], warns: [String] = [], passes: [String] = []
        var fixes: [String] = [], evidence: [String] = []

        for p in paths(of: "SystemdCgroup", in: doc) {
            let where_ = "\(file.source(of: p)): \(tomlPath(p))"
            let value = lookup(doc, p) ?? .null
            let table = tomlPath(Array(p.dropLast()))
            if isRuntimeOptionsPath(p, cri: cri) {
                if case .bool = value {
                    passes.append("SystemdCgroup = \(describe(value)) in [\(table)]")
                } else {
                    fails.append("SystemdCgroup = \(describe(value)) in [\(table)] is not a boolean")
                    fixes.append("write `SystemdCgroup = true` (or false) without quotes in [\(table)]")
                }
                evidence.append(where_)
                continue
            }
            // Which runtime was meant: the name after "runtimes", else runc.
            var runtime = "runc"
            if let i = p.firstIndex(of: "runtimes"), i + 1 < p.count - 1 { runtime = p[i + 1] }
            let right = tomlPath(cri + ["containerd", "runtimes", runtime, "options"])
            var why = "containerd ignores it there"
            var fix = "move `SystemdCgroup = \(describe(value))` to [\(right)], then \(restart)"
            let otherCRI = [criV1, criV2, criV3Runtime].filter { $0 != cri }
            if let other = otherCRI.first(where: { isRuntimeOptionsPath(p, cri: $0) }) {
                if version == 1 && other == criV2 {
                    why = "this file has no `version = 2`, so containerd reads it as version 1 and ignores [plugins.\"io.containerd.grpc.v1.cri\"]"
                    fix = "add `version = 2` as the first line of \(file.path), then \(restart)"
                } else {
                    why = "[\(tomlPath(other))] is the CRI table of a version \(other == criV1 ? 1 : other == criV2 ? 2 : 3) file, but this file has version = \(version)"
                }
            }
            fails.append("SystemdCgroup is set in [\(table)]: \(why)")
            fixes.append(fix)
            evidence.append(where_)
        }

        // The legacy CRI-level systemd_cgroup (runtime v1 only).
        let legacyPath = cri + ["systemd_cgroup"]
        if let legacy = lookup(doc, legacyPath), legacy.bool == true {
            let where_ = "\(file.source(of: legacyPath)): \(tomlPath(legacyPath))"
            let containerd = lookup(doc, cri + ["containerd"])
            let defaultName = containerd?["default_runtime_name"]?.string ?? "runc"
            let type = containerd?["runtimes"]?[defaultName]?["runtime_type"]?.string ?? "io.containerd.runc.v2"
            let right = tomlPath(cri + ["containerd", "runtimes", defaultName, "options"])
            if type == "io.containerd.runtime.v1.linux" {
                warns.append("systemd_cgroup = true in [\(tomlPath(cri))] is deprecated (it only works with the io.containerd.runtime.v1.linux runtime)")
                fixes.append("switch to runtime_type = \"io.containerd.runc.v2\" and set SystemdCgroup = true in [\(right)] instead")
            } else {
                fails.append("systemd_cgroup = true in [\(tomlPath(cri))] only works for runtime io.containerd.runtime.v1.linux; with the default runtime \"\(defaultName)\" (\(type)) the CRI plugin fails to load")
                fixes.append("delete systemd_cgroup from [\(tomlPath(cri))] and set `SystemdCgroup = true` in [\(right)], then \(restart)")
            }
            evidence.append(where_)
        }

        if !fails.isEmpty || !warns.isEmpty {
            return CheckResult(id: id, group: .config, title: title, status: fails.isEmpty ? .warn : .fail,
                               found: (fails + warns).joined(separator: "; "),
                               evidence: evidence.joined(separator: ", "), fix: fixes.joined(separator: "; "))
        }
        if passes.isEmpty {
            return CheckResult(id: id, group: .config, title: title, status: .pass,
                               found: "SystemdCgroup is not set: runc uses the cgroupfs driver",
                               evidence: "\(file.path): \(tomlPath(cri + ["containerd", "runtimes", "runc", "options", "SystemdCgroup"])) (absent)")
        }
        return CheckResult(id: id, group: .config, title: title, status: .pass,
                           found: passes.joined(separator: "; "), evidence: evidence.joined(separator: ", "))
    }

    // MARK: Unknown keys

    /// Keys containerd 1.6/1.7 read under the CRI plugin's table (pkg/cri/config PluginConfig toml tags).
    static let knownCRIKeys: Set<String> = [
        "containerd", "cni", "registry", "image_decryption", "x509_key_pair_streaming",
        "disable_tcp_service", "stream_server_address", "stream_server_port", "stream_idle_timeout",
        "enable_selinux", "selinux_category_range", "sandbox_image", "stats_collect_period", "systemd_cgroup",
        "enable_tls_streaming", "max_container_log_line_size", "disable_cgroup", "disable_apparmor",
        "restrict_oom_score_adj", "max_concurrent_downloads", "disable_proc_mount", "unset_seccomp_profile",
        "tolerate_missing_hugetlb_controller", "disable_hugetlb_controller", "device_ownership_from_security_context",
        "ignore_image_defined_volumes", "netns_mounts_under_state_dir", "enable_unprivileged_ports",
        "enable_unprivileged_icmp", "enable_cdi", "cdi_spec_dirs", "image_pull_progress_timeout",
        "drain_exec_sync_io_timeout", "ignore_deprecation_warnings", "image_pull_with_sync_fs",
    ]
    /// `[...cri.containerd]` (ContainerdConfig).
    static let knownContainerdKeys: Set<String> = [
        "snapshotter", "default_runtime_name", "default_runtime", "untrusted_workload_runtime", "runtimes",
        "no_pivot", "disable_snapshot_annotations", "discard_unpacked_layers", "ignore_rdt_not_enabled_errors",
        "ignore_blockio_not_enabled_errors",
    ]
    /// `[...cri.cni]` (CniConfig).
    static let knownCNIKeys: Set<String> = [
        "bin_dir", "conf_dir", "max_conf_num", "conf_template", "ip_pref", "setup_serially",
    ]
    /// `[...cri.registry]` (Registry).
    static let knownRegistryKeys: Set<String> = ["config_path", "mirrors", "configs", "auths", "headers"]
    /// `[...cri.containerd.runtimes.<name>]` (Runtime).
    static let knownRuntimeKeys: Set<String> = [
        "runtime_type", "runtime_path", "runtime_engine", "runtime_root", "pod_annotations", "container_annotations",
        "options", "privileged_without_host_devices", "privileged_without_host_devices_all_devices_allowed",
        "base_runtime_spec", "cni_conf_dir", "cni_max_conf_num", "snapshotter", "sandbox_mode",
    ]

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }

    /// "did you mean x?" for a key not in `known`.
    static func suggestion(_ key: String, known: Set<String>, section: [String], cri: [String]) -> String? {
        let normalized = key.replacing("-", with: "_")
        // camelCase -> snake_case
        var snake = ""
        for c in normalized {
            if c.isUppercase, !snake.isEmpty { snake += "_" }
            snake += c.lowercased()
        }
        if known.contains(snake) { return snake }
        let others: [([String], Set<String>)] = [
            (["containerd"], knownContainerdKeys), (["cni"], knownCNIKeys), (["registry"], knownRegistryKeys), ([], knownCRIKeys),
        ]
        for (sub, keys) in others where sub != section && keys.contains(snake) {
            return "it belongs in [\(tomlPath(cri + sub))] as \(snake)"
        }
        var best: (name: String, distance: Int)?
        for name in known.sorted() {
            let d = editDistance(key, name)
            if d <= 2, best == nil || d < best!.distance { best = (name, d) }
        }
        return best?.name
    }

    static func unknownKeysCheck(file: ContainerdConfigFile, doc: JSONValue) -> CheckResult {
        let id = "config.unknown-keys", title = "no keys containerd ignores"
        guard let version = configVersion(doc), version == 1 || version == 2 else {
            return CheckResult(id: id, group: .config, title: title, status: .skip,
                               found: "the known-key list covers containerd 1.6/1.7 files (version 1 and 2)",
                               evidence: "\(file.path): version")
        }
        let cri = criTable(version: version)
        var unknown: [(path: [String], hint: String?)] = []

        func scan(_ section: [String], known: Set<String>) {
            guard let table = lookup(doc, cri + section)?.object else { return }
            for key in table.keys.sorted() where !known.contains(key) {
                unknown.append((cri + section + [key], suggestion(key, known: known, section: section, cri: cri)))
            }
        }
        scan([], known: knownCRIKeys)
        scan(["containerd"], known: knownContainerdKeys)
        scan(["cni"], known: knownCNIKeys)
        scan(["registry"], known: knownRegistryKeys)
        var runtimeTables: [[String]] = [["containerd", "default_runtime"], ["containerd", "untrusted_workload_runtime"]]
        for name in (lookup(doc, cri + ["containerd", "runtimes"])?.object ?? [:]).keys.sorted() {
            runtimeTables.append(["containerd", "runtimes", name])
        }
        for t in runtimeTables {
            guard let table = lookup(doc, cri + t)?.object else { continue }
            // A misplaced SystemdCgroup is config.systemd-cgroup-placement's finding.
            for key in table.keys.sorted() where !knownRuntimeKeys.contains(key) && key != "SystemdCgroup" {
                unknown.append((cri + t + [key], suggestion(key, known: knownRuntimeKeys, section: t, cri: cri)))
            }
        }
        // A whole CRI table under the other version's name is ignored too.
        let otherCRI = version == 1 ? criV2 : criV1
        var ignoredTable: String?
        if lookup(doc, otherCRI) != nil {
            ignoredTable = "[\(tomlPath(otherCRI))] (the CRI table of a version \(version == 1 ? 2 : 1) file; this file is version \(version))"
        }

        if unknown.isEmpty && ignoredTable == nil {
            return CheckResult(id: id, group: .config, title: title, status: .pass,
                               found: "every key under [\(tomlPath(cri))] and its containerd, cni, registry and runtime tables is known to containerd 1.6/1.7",
                               evidence: "\(file.path): \(tomlPath(cri))")
        }
        var items = unknown.map { u in
            tomlPath(u.path) + (u.hint.map { h in h.hasPrefix("it belongs") ? " (\(h))" : " (did you mean \(h)?)" } ?? "")
        }
        if let ignoredTable { items.append(ignoredTable) }
        let sources = Set(unknown.map { file.source(of: $0.path) } + (ignoredTable != nil ? [file.source(of: otherCRI)] : []))
        return CheckResult(id: id, group: .config, title: title, status: .warn,
                           found: "\(items.count) key\(items.count == 1 ? "" : "s") containerd ignores (typo?): " + items.joined(separator: ", "),
                           evidence: sources.sorted().map { "\($0): \(tomlPath(cri))" }.joined(separator: ", "),
                           fix: "rename or remove \(items.count == 1 ? "it" : "them") (compare with `containerd config default`), then \(restart)")
    }

    // MARK: Drift

    static func driftCheck(_ ctx: VerifyContext, file: ContainerdConfigFile, doc: JSONValue) -> CheckResult {
        let id = "config.drift", title = "running CRI config matches the file"
        guard let running = ctx.running else {
            return CheckResult(id: id, group: .config, title: title, status: .skip,
                               found: "the daemon's running CRI config is not available (CRI status not reachable)",
                               evidence: "CRI Status(verbose).info.config")
        }
        let version = configVersion(doc) ?? 2
        let cri = criTable(version: version)
        let sandboxPath = version == 3 ? criV3Images + ["pinned_images", "sandbox"] : cri + ["sandbox_image"]
        let snapshotterPath = version == 3 ? criV3Images + ["snapshotter"] : cri + ["containerd", "snapshotter"]
        var diffs: [String] = [], compared: [String] = [], evidence: [String] = []

        func compare(_ path: [String], _ fileValue: String?, _ runningValue: String?) {
            guard let fileValue else { return }
            compared.append(path.last!)
            if fileValue != runningValue {
                diffs.append("\(tomlPath(path)) is \"\(fileValue)\" in the file but containerd runs with \(runningValue.map { "\"\($0)\"" } ?? "none")")
                evidence.append("\(file.source(of: path)): \(tomlPath(path))")
            }
        }
        compare(sandboxPath, lookup(doc, sandboxPath)?.string, running.sandboxImage)
        compare(snapshotterPath, lookup(doc, snapshotterPath)?.string, running.snapshotter)

        let runtimes = lookup(doc, cri + ["containerd", "runtimes"])?.object ?? [:]
        for name in runtimes.keys.sorted() {
            let optPath = cri + ["containerd", "runtimes", name, "options", "SystemdCgroup"]
            guard let fileValue = lookup(doc, optPath)?.bool else { continue }
            compared.append("SystemdCgroup of \(name)")
            guard let live = running.runtimes.first(where: { $0.name == name }) else {
                diffs.append("runtime \"\(name)\" (SystemdCgroup = \(fileValue)) is in the file but not in the running config")
                evidence.append("\(file.source(of: optPath)): \(tomlPath(optPath))")
                continue
            }
            let liveValue = live.systemdCgroup ?? false
            if liveValue != fileValue {
                diffs.append("\(tomlPath(optPath)) is \(fileValue) in the file but containerd runs with \(liveValue)")
                evidence.append("\(file.source(of: optPath)): \(tomlPath(optPath))")
            }
        }
        if diffs.isEmpty {
            return CheckResult(id: id, group: .config, title: title, status: .pass,
                               found: compared.isEmpty ? "the file sets none of sandbox_image, snapshotter, SystemdCgroup: nothing to compare"
                                   : "containerd runs with what the file says (\(compared.joined(separator: ", ")))",
                               evidence: "\(file.path) vs CRI Status(verbose).info.config")
        }
        return CheckResult(id: id, group: .config, title: title, status: .warn,
                           found: "the file was edited but containerd was not restarted: " + diffs.joined(separator: "; "),
                           evidence: (evidence + ["CRI Status(verbose).info.config"]).joined(separator: ", "),
                           fix: "\(restart) (running containers keep running), then check again with `kctr info`")
    }
}
