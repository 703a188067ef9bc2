import Foundation
import KctrRPC

/// The `config` group: config.toml (with its imports, loaded by ContainerdConfigFile) parses, its format
/// version suits the daemon, CRI is not disabled, SystemdCgroup is where this version reads it, no key is
/// one containerd ignores, and the daemon runs with what the file says. Table names come from the
/// file's own `ConfigLayout`.
enum ConfigGroup {
    static let restart = DaemonGroup.restart

    static func results(_ f: VerifyFacts) -> [CheckResult] {
        let file = f.config
        let path = file.path
        let rest: [Check] = [.configVersion, .configDisabledPlugins, .configSystemdCgroupPlacement, .configUnknownKeys, .configDrift]
        func parseAndSkipRest(_ parse: CheckResult, because why: String) -> [CheckResult] {
            [parse] + rest.map { $0.skip(why, evidence: path) }
        }
        if file.missing {
            let layout = f.release?.layout ?? .v2
            return parseAndSkipRest(Check.configParse.warn(
                "\(path) does not exist: containerd runs with built-in defaults (SystemdCgroup = false, sandbox image of its release)",
                evidence: path,
                fix: "mkdir -p \((path as NSString).deletingLastPathComponent) && containerd config default > \(path), set \(layout.assignment(layout.systemdCgroup(runtime: "runc"), "true")) when the kubelet uses the systemd cgroup driver, then \(restart)"),
                because: "\(path) does not exist")
        }
        if let limit = file.limit {
            return parseAndSkipRest(Check.configParse.warn(
                "\(limit): the files were not merged, so the config checks are skipped", evidence: path,
                fix: "look at the imports of \(path) and the files they name: a glob may match more than meant (containerd reads every match); fold drop-ins into fewer files, then run verify-runtime again"),
                because: "kctr did not read all the imports of \(path)")
        }
        guard let doc = file.merged, file.error == nil else {
            let err = file.error ?? "\(path): cannot be parsed"
            return parseAndSkipRest(Check.configParse.fail(
                "\(err); containerd refuses to start with it (or keeps running the old config until it restarts)",
                evidence: err.components(separatedBy: ": line ").first ?? path,
                fix: "fix the TOML at the line shown (`containerd config dump` shows what containerd makes of it), then \(restart)"),
                because: "\(path) does not parse")
        }
        let importNote = file.imports.isEmpty ? "no imports" :
            "\(file.imports.count) import\(file.imports.count == 1 ? "" : "s"): " + file.imports.joined(separator: ", ")
        return [
            Check.configParse.pass("parsed \(path) (\(importNote))", evidence: path),
            version(f, doc),
            disabledPlugins(file, doc),
            systemdCgroupPlacement(f, doc),
            unknownKeys(f, doc),
            drift(f, doc),
        ]
    }

    // MARK: config.version

    static func version(_ f: VerifyFacts, _ doc: JSONValue) -> CheckResult {
        let check = Check.configVersion
        let file = f.config
        let evidence = "\(file.source(of: ["version"])): version"
        let release = f.release
        let daemon = f.daemon.version?.version
        let target = (release?.layout ?? .v2)
        let migrate = release.map { $0.major >= 2 ? "`containerd config migrate > \(file.path).new` writes it for you" : "see `containerd config default`" } ?? "see `containerd config default`"
        let raw = doc["version"]
        guard let n = ContainerdConfigFile.formatVersion(doc), let layout = ConfigLayout.of(version: n) else {
            return check.fail("version = \(raw.map(ContainerdConfigFile.describe) ?? "?") is not a version containerd knows (1 to 4)", evidence: evidence,
                              fix: "set `version = \(target.version)`\(daemon.map { " (containerd \($0) writes it)" } ?? " (containerd 1.x: 2, 2.0-2.2: 3, 2.3+: 4)") and the tables of that version (\(migrate)), then \(restart)")
        }
        if n == 1 {
            let why = raw == nil ? "no version key: containerd reads the file as version 1" : "version = 1"
            return check.warn("\(why) (deprecated), with the CRI settings under \(ConfigLayout.v1.table(ConfigLayout.v1.criRuntime)); containerd ignores \(ConfigLayout.v2.table(ConfigLayout.v2.criRuntime)) in it",
                              evidence: evidence,
                              fix: "write a version \(target.version) file: `version = \(target.version)` and the CRI settings under \(target.criTables.map(target.table).joined(separator: " and ")) (\(migrate)), then \(restart)")
        }
        guard let release, let daemon else {
            if n == 2 { return check.pass("version = 2", evidence: evidence) }
            return check.warn("version = \(n) needs containerd \(layout.oldestReader.line) or newer; the daemon's version is unknown", evidence: evidence,
                              fix: "check `containerd --version`: containerd older than \(layout.oldestReader.line) does not start with this file; write a version \(n - 1 >= 2 ? n - 1 : 2) file for it (`containerd config default > \(file.path)` on that containerd)")
        }
        if !release.isAtLeast(layout.oldestReader.major, layout.oldestReader.minor) {
            return check.fail("version = \(n) is the format of \(layout.writtenBy), but the daemon is containerd \(daemon), which reads versions up to \(release.configVersion) and does not start with this file",
                              evidence: evidence,
                              fix: "write a version \(release.configVersion) file (`containerd config default > \(file.path)` on this containerd), or upgrade containerd to \(layout.oldestReader.line) or newer; then \(restart)")
        }
        if n < release.configVersion {
            return check.pass("version = \(n), read by containerd \(daemon), which converts it to version \(release.configVersion) at each start (\(migrate))",
                              evidence: evidence)
        }
        return check.pass("version = \(n), containerd \(daemon)'s own format", evidence: evidence)
    }

    // MARK: config.disabled-plugins

    /// What disabled_plugins may name CRI's plugins by, in every release: "cri" and each full id.
    static let criPluginNames: Set<String> = Set(["cri"] + [ContainerdRelease(1, 7), ContainerdRelease(2, 0)]
        .flatMap { $0.criPlugins.map { "\($0.type).\($0.id)" } })

    static func disabledPlugins(_ file: ContainerdConfigFile, _ doc: JSONValue) -> CheckResult {
        let check = Check.configDisabledPlugins
        let list = doc["disabled_plugins"].map(DaemonGroup.stringList) ?? []
        let hits = list.filter { criPluginNames.contains($0) }
        if hits.isEmpty {
            let shown = list.isEmpty ? "disabled_plugins is empty" : "disabled_plugins = \(ContainerdConfigFile.describe(.array(list.map(JSONValue.string)))) leaves CRI enabled"
            return check.pass(shown, evidence: "\(file.source(of: ["disabled_plugins"])): disabled_plugins")
        }
        let sources = file.documents.filter { d in
            (d.value["disabled_plugins"].map(DaemonGroup.stringList) ?? []).contains(where: hits.contains)
        }.map(\.path)
        let quoted = hits.map { "\"\($0)\"" }.joined(separator: ", ")
        return check.fail("disabled_plugins contains \(quoted): the CRI plugin is off, so the kubelet cannot use containerd (the default file of the containerd.io package does this)",
                          evidence: (sources.isEmpty ? [file.path] : sources).map { "\($0): disabled_plugins" }.joined(separator: ", "),
                          fix: "remove \(quoted) from disabled_plugins in \(sources.first ?? file.path) (e.g. `disabled_plugins = []`) and restart containerd: \(restart)")
    }

    // MARK: config.systemd-cgroup-placement

    /// Every key path holding the key `name`.
    static func paths(of name: String, in value: JSONValue, prefix: [String] = []) -> [[String]] {
        var out: [[String]] = []
        switch value {
        case .object(let o):
            for (key, child) in o.sorted(by: { $0.key < $1.key }) {
                if key == name { out.append(prefix + [key]) }
                out += paths(of: name, in: child, prefix: prefix + [key])
            }
        case .array(let a):
            for (i, item) in a.enumerated() { out += paths(of: name, in: item, prefix: prefix + ["[\(i)]"]) }
        default:
            break
        }
        return out
    }

    /// The layout the file is checked against: its own version's, else (a version containerd does not
    /// know, reported by config.version) the daemon's.
    static func checkedLayout(_ f: VerifyFacts) -> ConfigLayout { f.fileLayout ?? f.layout }

    /// Why a key that belongs to another version's layout is ignored here, or nil.
    static func otherVersion(of keyPath: [String], in layout: ConfigLayout, doc: JSONValue,
                             matching: (ConfigLayout) -> Bool) -> String? {
        let others = ConfigLayout.all.filter { $0.criRuntime != layout.criRuntime && matching($0) }
        guard !others.isEmpty else { return nil }
        if layout.version == 1, doc["version"] == nil, others.contains(where: { $0.version == 2 }) {
            return "this file has no `version = 2`, so containerd reads it as version 1 and ignores \(layout.table(ConfigLayout.v2.criRuntime))"
        }
        let versions = orList(others.map { "\($0.version)" })
        return "\(layout.table(others[0].criRuntime)) is the CRI table of a version \(versions) file, but this file has version = \(layout.version)"
    }

    static func systemdCgroupPlacement(_ f: VerifyFacts, _ doc: JSONValue) -> CheckResult {
        let check = Check.configSystemdCgroupPlacement
        let file = f.config
        let layout = checkedLayout(f)
        var fails: [String] = [], warns: [String] = [], passes: [String] = []
        var fixes: [String] = [], evidence: [String] = []

        for p in paths(of: "SystemdCgroup", in: doc) {
            let table = Array(p.dropLast())
            let value = ContainerdConfigFile.lookup(doc, p) ?? .null
            evidence.append("\(file.source(of: p)): \(layout.toml(p))")
            if layout.isRuntimeOptions(table) {
                if case .bool = value {
                    passes.append("SystemdCgroup = \(ContainerdConfigFile.describe(value)) in \(layout.table(table))")
                } else {
                    fails.append("SystemdCgroup = \(ContainerdConfigFile.describe(value)) in \(layout.table(table)) is not a boolean")
                    fixes.append("write `SystemdCgroup = true` (or false) without quotes in \(layout.table(table))")
                }
                continue
            }
            // Which runtime was meant: the name after "runtimes", else runc.
            var runtime = "runc"
            if let i = p.firstIndex(of: "runtimes"), i + 1 < p.count - 1 { runtime = p[i + 1] }
            let right = layout.runtimeOptions(runtime)
            var why = "containerd ignores it there"
            var fix = "move `SystemdCgroup = \(ContainerdConfigFile.describe(value))` to \(layout.table(right)) of \(file.source(of: p)), then \(restart)"
            if let other = otherVersion(of: table, in: layout, doc: doc, matching: { $0.isRuntimeOptions(table) }) {
                why = other
                if other.hasPrefix("this file has no `version = 2`") {
                    fix = "add `version = 2` as the first line of \(file.path), then \(restart)"
                }
            }
            fails.append("SystemdCgroup is set in \(layout.table(table)): \(why)")
            fixes.append(fix)
        }

        // The CRI-level systemd_cgroup of versions 1-2 (the io.containerd.runtime.v1.linux runtime only).
        let legacyPath = layout.criRuntime + ["systemd_cgroup"]
        if layout.version <= 2, let legacy = ContainerdConfigFile.lookup(doc, legacyPath), legacy.bool == true {
            let containerd = ContainerdConfigFile.lookup(doc, layout.criRuntime + ["containerd"])
            let defaultName = containerd?["default_runtime_name"]?.string ?? "runc"
            let type = containerd?["runtimes"]?[defaultName]?["runtime_type"]?.string ?? "io.containerd.runc.v2"
            let right = layout.table(layout.runtimeOptions(defaultName))
            let cri = layout.table(layout.criRuntime)
            if type == "io.containerd.runtime.v1.linux" {
                warns.append("systemd_cgroup = true in \(cri) is deprecated (it only works with the io.containerd.runtime.v1.linux runtime)")
                fixes.append("switch to runtime_type = \"io.containerd.runc.v2\" and set SystemdCgroup = true in \(right) instead")
            } else {
                fails.append("systemd_cgroup = true in \(cri) only works for runtime io.containerd.runtime.v1.linux; with the default runtime \"\(defaultName)\" (\(type)) the CRI plugin fails to load")
                fixes.append("delete systemd_cgroup from \(cri) and set `SystemdCgroup = true` in \(right), then \(restart)")
            }
            evidence.append("\(file.source(of: legacyPath)): \(layout.toml(legacyPath))")
        }

        if !fails.isEmpty || !warns.isEmpty {
            return check.result(fails.isEmpty ? .warn : .fail, (fails + warns).joined(separator: "; "),
                                evidence: evidence.joined(separator: ", "), fix: fixes.joined(separator: "; "))
        }
        if passes.isEmpty {
            return check.pass("SystemdCgroup is not set: runc uses the cgroupfs driver",
                              evidence: "\(file.path): \(layout.toml(layout.systemdCgroup(runtime: "runc"))) (absent)")
        }
        return check.pass(passes.joined(separator: "; "), evidence: evidence.joined(separator: ", "))
    }

    // MARK: config.unknown-keys

    /// The keys of each CRI table a `version = N` file may hold, from `containerd config default`
    /// (ConfigKeys); version 1 files have version 2's keys under [plugins.cri].
    static func knownKeys(_ layout: ConfigLayout) -> [[String]: Set<String>] {
        guard layout.version >= 2 else {
            var out: [[String]: Set<String>] = [:]
            for (path, keys) in ConfigKeys.version2 { out[layout.criRuntime + Array(path.dropFirst(ConfigLayout.v2.criRuntime.count))] = keys }
            return out
        }
        return layout.version == 2 ? ConfigKeys.version2 : ConfigKeys.version4
    }

    /// A key kctr could not place: its path and a suggestion.
    struct UnknownKey {
        var path: [String]
        var hint: String?
    }

    static func unknownKeys(_ f: VerifyFacts, _ doc: JSONValue) -> CheckResult {
        let check = Check.configUnknownKeys
        let file = f.config
        guard let layout = f.fileLayout else {
            return check.skip("the file's version is not one containerd knows (see config.version)", evidence: "\(file.path): version")
        }
        let known = knownKeys(layout)
        var items: [(text: String, path: [String])] = []

        // 1. A setting where another version keeps it: ignored here.
        let moved = movedSettings(layout, doc)
        for m in moved { items.append((m.text, m.path)) }
        let movedPaths = moved.map(\.path)

        // 2. Keys of this version's CRI tables that `containerd config default` does not print.
        var unknown: [UnknownKey] = []
        func scan(_ real: [String], _ normalized: [String], runtimeType: String?) {
            guard let table = ContainerdConfigFile.lookup(doc, real)?.object, let keys = known[normalized] else { return }
            for (key, value) in table.sorted(by: { $0.key < $1.key }) {
                let path = real + [key]
                if movedPaths.contains(where: { path.starts(with: $0) || $0.starts(with: path) }) { continue }
                if key == "SystemdCgroup" { continue }  // config.systemd-cgroup-placement's finding
                guard keys.contains(key) else {
                    unknown.append(UnknownKey(path: path, hint: suggestion(key, table: normalized, known: known, layout: layout)))
                    continue
                }
                guard case .object(let child) = value else { continue }
                if key == "runtimes" {
                    for (name, runtime) in child.sorted(by: { $0.key < $1.key }) {
                        scan(path + [name], normalized + [key, "*"], runtimeType: runtime["runtime_type"]?.string ?? "")
                    }
                } else if key == "options", let type = runtimeType, !RuntimesGroup.isRuncLike(type) {
                    continue  // another runtime's options: not runc's keys
                } else {
                    scan(path, normalized + [key], runtimeType: runtimeType)
                }
            }
        }
        for table in layout.criTables { scan(table, table, runtimeType: nil) }
        for u in unknown {
            let hint = u.hint.map { h in h.hasPrefix("it belongs") ? " (\(h))" : " (did you mean \(h)?)" } ?? ""
            items.append((layout.toml(u.path) + hint, u.path))
        }

        // 3. A whole CRI table of another version, with nothing found in it above.
        for other in ConfigLayout.all where other.version != layout.version {
            for table in other.criTables where !layout.criTables.contains(table) && ContainerdConfigFile.lookup(doc, table) != nil {
                guard !items.contains(where: { $0.path.starts(with: table) }) else { continue }
                let versions = orList(ConfigLayout.all.filter { $0.criTables.contains(table) }.map { "\($0.version)" })
                items.append(("\(layout.table(table)) (a CRI table of a version \(versions) file; this file is version \(layout.version))", table))
            }
        }

        let tables = layout.criTables.map(layout.table).joined(separator: ", ")
        if items.isEmpty {
            return check.pass("every key under \(tables) is one containerd reads in a version \(layout.version) file", evidence: "\(file.path): \(tables)")
        }
        let sources = Set(items.map { file.source(of: $0.path) + ": " + layout.toml($0.path) })
        return check.warn("\(items.count) key\(items.count == 1 ? "" : "s") containerd ignores (typo, or another version's place?): " + items.map(\.text).joined(separator: ", "),
                          evidence: sources.sorted().joined(separator: ", "),
                          fix: "rename, move or remove \(items.count == 1 ? "it" : "them") (compare with `containerd config default` of this containerd), then \(restart)")
    }

    /// Settings written where another version's file keeps them (`sandbox_image` in a version 3 file,
    /// `[grpc]` in a version 4 file): each with where this version reads it.
    static func movedSettings(_ layout: ConfigLayout, _ doc: JSONValue) -> [(text: String, path: [String])] {
        var out: [(text: String, path: [String])] = []
        for setting in ConfigLayout.Setting.allCases {
            let here = layout.path(setting)
            var seen: [[String]] = []
            for other in ConfigLayout.all where other.version != layout.version {
                var candidates = [other.path(setting)]
                // Version 3 files of containerd 2.0 name the CNI directory bin_dir.
                if setting == .cniBinDirs, other.version >= 3 { candidates.append(other.criRuntime + ["cni", "bin_dir"]) }
                for there in candidates where there != here && !seen.contains(there) && !(setting == .cniBinDirs && there.dropLast() == here.dropLast()) {
                    seen.append(there)
                    guard ContainerdConfigFile.lookup(doc, there) != nil else { continue }
                    let versions = orList(ConfigLayout.all.filter { l in l.path(setting) == there || (setting == .cniBinDirs && l.criRuntime + ["cni", "bin_dir"] == there) }
                        .map { "\($0.version)" })
                    let this = layout.version == 1 && doc["version"] == nil ? "this file has no version key, so containerd reads it as version 1, from"
                        : "in a version \(layout.version) file containerd reads"
                    out.append(("\(layout.toml(there)) is where a version \(versions) file sets \(setting.rawValue); \(this) \(layout.key(setting))", there))
                }
            }
        }
        return out
    }

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

    /// "did you mean x?" for a key not in its table's list: the same key spelt snake_case, a key of
    /// another CRI table of this version ("it belongs in [...]"), or one a typo away.
    static func suggestion(_ key: String, table: [String], known: [[String]: Set<String>], layout: ConfigLayout) -> String? {
        let keys = known[table] ?? []
        var snake = ""
        for c in key.replacing("-", with: "_") {
            if c.isUppercase, !snake.isEmpty, snake.last != "_" { snake += "_" }
            snake += c.lowercased()
        }
        if keys.contains(snake) { return snake }
        for (other, otherKeys) in known.sorted(by: { $0.key.count < $1.key.count || ($0.key.count == $1.key.count && $0.key.lexicographicallyPrecedes($1.key)) })
            where other != table && !other.contains("*") && (otherKeys.contains(snake) || otherKeys.contains(key)) {
            return "it belongs in \(layout.table(other)) as \(otherKeys.contains(key) ? key : snake)"
        }
        var best: (name: String, distance: Int)?
        for name in keys.sorted() {
            let d = editDistance(key, name)
            if d <= 2, d < (best?.distance ?? 3) { best = (name, d) }
        }
        return best?.name
    }

    // MARK: config.drift

    /// Compares the file with what the daemon runs, only where the daemon reports it: the runtimes'
    /// SystemdCgroup, the CNI directories and the socket from CRI's status (every version); the sandbox
    /// image, snapshotter and registry hosts directory from the status on 1.x; on 2.x, which leaves the
    /// image half out of its status, the snapshotter from ImageFsInfo and the sandbox image from its pin.
    static func drift(_ f: VerifyFacts, _ doc: JSONValue) -> CheckResult {
        let check = Check.configDrift
        let file = f.config
        guard let running = f.daemon.running else {
            return check.skip("the daemon's running CRI config is not available (\(f.daemon.reachable ? "CRI status not reachable" : DaemonGroup.unreachable))",
                              evidence: "CRI Status(verbose).info.config")
        }
        let layout = checkedLayout(f)
        let daemon = f.daemon.version?.version ?? "?"
        var diffs: [String] = [], compared: [String] = [], notReported: [String] = [], evidence: [String] = []
        let statusEvidence = "runtime.v1.RuntimeService/Status verbose: config"

        func fileString(_ setting: ConfigLayout.Setting) -> (value: String, path: [String])? {
            let path = layout.path(setting)
            guard let v = ContainerdConfigFile.lookup(doc, path)?.string, !v.isEmpty else { return nil }
            return (v, path)
        }
        func compare(_ name: String, _ file: (value: String, path: [String])?, _ live: String?, source: String) {
            guard let file else { return }
            compared.append(name)
            if file.value != live {
                diffs.append("\(layout.key(file.path)) is \"\(file.value)\" in the file but containerd runs with \(live.map { "\"\($0)\"" } ?? "none") (\(source))")
                evidence.append("\(self.file(f, file.path)): \(layout.toml(file.path))")
            }
        }

        let release = f.release
        // The image half: reported by 1.x; 2.x through its own sources.
        if release?.reportsImageConfig ?? true {
            compare("sandbox image", fileString(.sandboxImage), running.sandboxImage, source: "config.sandboxImage")
            compare("snapshotter", fileString(.snapshotter), running.snapshotter, source: "config.containerd.snapshotter")
            compare("registry config_path", fileString(.registryConfigPath), running.registryConfigPath, source: "config.registry.configPath")
        } else {
            if let configured = fileString(.snapshotter) {
                if let names = f.imageFilesystemSnapshotters {
                    compared.append("snapshotter (ImageFsInfo)")
                    if !names.contains(configured.value) {
                        diffs.append("\(layout.key(configured.path)) is \"\(configured.value)\" in the file but containerd stores images for \(names.joined(separator: ", ")) (ImageFsInfo)")
                        evidence.append("\(self.file(f, configured.path)): \(layout.toml(configured.path))")
                    }
                } else {
                    notReported.append("the snapshotter (ImageFsInfo \(f.daemon.imageFilesystems.problem.map { "failed: \($0.message)" } ?? "named none"))")
                }
            }
            if let configured = fileString(.sandboxImage) {
                switch f.pause?.image.name == configured.value ? f.pause?.criImage : nil {
                case .known(let image?)?:
                    compared.append("sandbox image (pinned)")
                    if !image.pinned {
                        diffs.append("\(layout.key(configured.path)) is \"\(configured.value)\" in the file, but containerd \(daemon) does not pin that image, as it pins the sandbox image it runs with")
                        evidence.append("\(self.file(f, configured.path)): \(layout.toml(configured.path)); runtime.v1.ImageService/ImageStatus: pinned = false")
                    }
                default:
                    notReported.append("the sandbox image (compared through its pin once \(configured.value) is on the node)")
                }
            }
            if fileString(.registryConfigPath) != nil { notReported.append("the registry hosts directory") }
        }

        // The runtime half: every version reports it.
        let runtimes = ContainerdConfigFile.lookup(doc, layout.path(.runtimes))?.object ?? [:]
        for name in runtimes.keys.sorted() {
            let optPath = layout.systemdCgroup(runtime: name)
            guard let fileValue = ContainerdConfigFile.lookup(doc, optPath)?.bool else { continue }
            compared.append("SystemdCgroup of \(name)")
            guard let live = running.runtimes.first(where: { $0.name == name }) else {
                diffs.append("runtime \"\(name)\" (SystemdCgroup = \(fileValue)) is in the file but not in the running config")
                evidence.append("\(self.file(f, optPath)): \(layout.toml(optPath))")
                continue
            }
            let liveValue = live.systemdCgroup ?? false
            if liveValue != fileValue {
                diffs.append("\(layout.key(optPath)) is \(fileValue) in the file but containerd runs with \(liveValue)")
                evidence.append("\(self.file(f, optPath)): \(layout.toml(optPath))")
            }
        }
        compare("CNI conf_dir", fileString(.cniConfDir), running.cniConfDir, source: "config.cni.confDir")
        let binPath = layout.path(.cniBinDirs)
        let fileBins: [String]? = {
            switch ContainerdConfigFile.lookup(doc, binPath) {
            case .string(let s)?: return s.isEmpty ? nil : s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case .array(let a)?: return a.isEmpty ? nil : a.compactMap(\.string)
            default: return nil
            }
        }()
        if let fileBins {
            compared.append("CNI \(layout.cniBinKey)")
            if fileBins != running.cniBinDirs {
                diffs.append("\(layout.key(binPath)) is \(fileBins.joined(separator: ", ")) in the file but containerd runs with \(running.cniBinDirs.isEmpty ? "none" : running.cniBinDirs.joined(separator: ", "))")
                evidence.append("\(self.file(f, binPath)): \(layout.toml(binPath))")
            }
        }
        compare("the socket", fileString(.grpcAddress), running.containerdEndpoint, source: "config.containerdEndpoint")

        let unreported = notReported.isEmpty ? "" : "; containerd \(daemon) does not report \(notReported.joined(separator: ", ")): not compared"
        if diffs.isEmpty {
            let what = compared.isEmpty ? "the file sets nothing the daemon reports: nothing to compare" : "containerd runs with what the file says (\(compared.joined(separator: ", ")))"
            return check.pass(what + unreported, evidence: "\(file.path) vs \(statusEvidence)" + (release?.reportsImageConfig == false ? ", ImageFsInfo, ImageStatus" : ""))
        }
        return check.warn("the file was edited but containerd was not restarted: " + diffs.joined(separator: "; ") + unreported,
                          evidence: (evidence + [statusEvidence]).joined(separator: ", "),
                          fix: "\(restart) (running containers keep running), then check again with `kctr verify-runtime --check config`")
    }

    static func file(_ f: VerifyFacts, _ path: [String]) -> String { f.config.source(of: path) }

    /// "2", "3 or 4", "1, 2 or 3".
    static func orList(_ items: [String]) -> String {
        guard let last = items.last, items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " or " + last
    }
}
