import Foundation
import KctrRPC

/// The checks of `kctr verify-runtime` that ask the daemon (containerd's API
/// and CRI), plus the host facts they need (CNI files, filesystems, runtime
/// binaries). Each group function never throws: a fact it cannot get makes
/// its check skip or fail with the reason.
public enum DaemonChecks {
    /// Every check id of these groups, in order.
    public static let ids: [String] = [
        "daemon.socket", "daemon.version", "daemon.cri-plugin", "daemon.cri-serving",
        "cri.runtime-ready", "cri.network-ready", "cri.cni-config", "cri.cni-binaries",
        "cgroup.driver-match",
        "snapshotter.plugin", "snapshotter.filesystem",
        "pause.present", "pause.unpacked", "pause.pinned", "pause.in-use",
        "runtimes.default", "runtimes.type", "runtimes.binary",
    ]

    static let unreachable = "daemon not reachable (see daemon.socket)"

    // MARK: daemon

    public static func daemon(_ ctx: VerifyContext) async -> [CheckResult] {
        let g = VerifyGroup.daemon
        let where_ = "\(ctx.endpoint.path) (\(ctx.endpoint.source == "default" ? "the default" : "from \(ctx.endpoint.source)"))"
        guard let session = ctx.session, let version = ctx.version else {
            let (message, hint) = split(ctx.daemonError ?? "containerd did not answer")
            return [
                CheckResult(id: "daemon.socket", group: g, title: "containerd socket answers", status: .fail,
                            found: message, evidence: "socket \(where_); containerd.services.version.v1.Version",
                            fix: hint ?? "start containerd (systemctl start containerd) or pass --address with its socket"),
                skipped("daemon.version", g, "containerd version", evidence: "containerd.services.version.v1.Version"),
                skipped("daemon.cri-plugin", g, "CRI plugin loaded", evidence: "Introspection.Plugins"),
                skipped("daemon.cri-serving", g, "CRI answers", evidence: "runtime.v1.RuntimeService/Version"),
            ]
        }
        var out: [CheckResult] = []
        out.append(CheckResult(id: "daemon.socket", group: g, title: "containerd socket answers", status: .pass,
                               found: "containerd answers at \(where_)",
                               evidence: "socket \(ctx.endpoint.path); containerd.services.version.v1.Version"))

        let vEvidence = "containerd.services.version.v1.Version: version \(version.version), revision \(version.revision)"
        if let v = versionParts(version.version) {
            if v < (1, 6) {
                out.append(CheckResult(id: "daemon.version", group: g, title: "containerd version", status: .warn,
                                       found: "containerd \(version.version) is older than 1.6: it is end of life and Kubernetes >= 1.26 needs CRI v1 (containerd >= 1.6)",
                                       evidence: vEvidence, fix: "upgrade containerd to 1.7 or 2.x (apt-get install containerd, or the release tarball)"))
            } else {
                out.append(CheckResult(id: "daemon.version", group: g, title: "containerd version", status: .pass,
                                       found: "containerd \(version.version)", evidence: vEvidence))
            }
        } else {
            out.append(CheckResult(id: "daemon.version", group: g, title: "containerd version", status: .warn,
                                   found: "cannot parse the version \"\(version.version)\"", evidence: vEvidence,
                                   fix: "check that the socket is containerd's"))
        }

        out.append(criPlugin(ctx))

        do {
            let v = try await session.cri.version()
            out.append(CheckResult(id: "daemon.cri-serving", group: g, title: "CRI answers", status: .pass,
                                   found: "CRI \(v.runtimeApiVersion) answers: \(v.runtimeName) \(v.runtimeVersion)",
                                   evidence: "runtime.v1.RuntimeService/Version: runtime_api_version \(v.runtimeApiVersion)"))
        } catch {
            let (message, hint) = split("\(session.explain(error, doing: "CRI Version"))")
            out.append(CheckResult(id: "daemon.cri-serving", group: g, title: "CRI answers", status: .fail,
                                   found: message, evidence: "runtime.v1.RuntimeService/Version on \(ctx.endpoint.path)",
                                   fix: hint ?? "see daemon.cri-plugin; the kubelet cannot use this runtime until CRI answers"))
        }
        return out
    }

    static func criPlugin(_ ctx: VerifyContext) -> CheckResult {
        let g = VerifyGroup.daemon
        let title = "CRI plugin loaded"
        let config = ctx.paths.containerdConfig
        guard let plugin = ctx.plugins.first(where: { $0.type == "io.containerd.grpc.v1" && $0.id == "cri" }) else {
            if ctx.plugins.isEmpty {
                return CheckResult(id: "daemon.cri-plugin", group: g, title: title, status: .skip,
                                   found: "the daemon did not list its plugins", evidence: "containerd.services.introspection.v1.Introspection/Plugins")
            }
            let disabled = stringList(ctx.containerdConfig?["disabled_plugins"])
            let named = disabled.filter { $0 == "cri" || $0 == "io.containerd.grpc.v1.cri" }
            var found = "the CRI plugin io.containerd.grpc.v1.cri is not loaded"
            var evidence = "Introspection.Plugins: no io.containerd.grpc.v1.cri"
            if !named.isEmpty {
                found += ": \(config) lists \(named.map { "\"\($0)\"" }.joined(separator: ", ")) in disabled_plugins"
                evidence += "; \(config): disabled_plugins = [\(disabled.map { "\"\($0)\"" }.joined(separator: ", "))]"
            } else {
                found += " (disabled_plugins in the daemon's config, or a containerd built without CRI)"
            }
            return CheckResult(id: "daemon.cri-plugin", group: g, title: title, status: .fail, found: found, evidence: evidence,
                               fix: "remove \"cri\" / \"io.containerd.grpc.v1.cri\" from disabled_plugins in \(config) (Docker's containerd package ships it disabled) and run systemctl restart containerd")
        }
        if let err = plugin.initError {
            return CheckResult(id: "daemon.cri-plugin", group: g, title: title, status: .fail,
                               found: "the CRI plugin failed to initialise: \(err)",
                               evidence: "Introspection.Plugins: io.containerd.grpc.v1.cri init_err",
                               fix: "fix the [plugins.\"io.containerd.grpc.v1.cri\"] setting the error names in \(config), then systemctl restart containerd (journalctl -u containerd shows the details)")
        }
        return CheckResult(id: "daemon.cri-plugin", group: g, title: title, status: .pass,
                           found: "io.containerd.grpc.v1.cri is loaded (status ok)",
                           evidence: "Introspection.Plugins: io.containerd.grpc.v1.cri")
    }

    // MARK: cri

    public static func cri(_ ctx: VerifyContext) async -> [CheckResult] {
        let g = VerifyGroup.cri
        guard let status = ctx.criStatus else {
            let why = ctx.session == nil ? unreachable : "CRI is not serving (see daemon.cri-plugin)"
            return [
                skipped("cri.runtime-ready", g, "RuntimeReady", why: why, evidence: "runtime.v1.RuntimeService/Status"),
                skipped("cri.network-ready", g, "NetworkReady", why: why, evidence: "runtime.v1.RuntimeService/Status"),
                skipped("cri.cni-config", g, "CNI network config", why: why, evidence: "runtime.v1.RuntimeService/Status: config.cni.confDir"),
                skipped("cri.cni-binaries", g, "CNI plugin binaries", why: why, evidence: "runtime.v1.RuntimeService/Status: config.cni.binDir"),
            ]
        }
        var out: [CheckResult] = []
        for (type, id) in [("RuntimeReady", "cri.runtime-ready"), ("NetworkReady", "cri.network-ready")] {
            let evidence = "runtime.v1.RuntimeService/Status: conditions[type=\(type)]"
            guard let c = status.conditions.first(where: { $0.type == type }) else {
                out.append(CheckResult(id: id, group: g, title: type, status: .warn, found: "the runtime reports no \(type) condition",
                                       evidence: evidence, fix: "check that the socket is containerd's CRI (kctr info)"))
                continue
            }
            if c.status {
                out.append(CheckResult(id: id, group: g, title: type, status: .pass, found: "\(type) is true", evidence: evidence))
            } else {
                let detail = [c.reason, c.message].filter { !$0.isEmpty }.joined(separator: ": ")
                let fix = type == "NetworkReady"
                    ? "install a CNI network add-on (Calico, Cilium, Flannel...) so that a config appears in \(ctx.running?.cniConfDir ?? "/etc/cni/net.d") and its plugins in \(ctx.running?.cniBinDir ?? "/opt/cni/bin"); see cri.cni-config"
                    : "read containerd's log (journalctl -u containerd) for the runtime error and restart containerd once fixed"
                out.append(CheckResult(id: id, group: g, title: type, status: .fail,
                                       found: "\(type) is false" + (detail.isEmpty ? "" : " (\(detail))"), evidence: evidence, fix: fix))
            }
        }
        out += cni(ctx)
        return out
    }

    struct CNIFile {
        var name: String
        var network: String?
        var types: [String]
        var error: String?
    }

    static func cni(_ ctx: VerifyContext) -> [CheckResult] {
        let g = VerifyGroup.cri
        let confDir = ctx.running?.cniConfDir ?? "/etc/cni/net.d"
        let binDirs = (ctx.running?.cniBinDir ?? "/opt/cni/bin").split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let confEvidence = "runtime.v1.RuntimeService/Status: config.cni.confDir = \(confDir)"
        let addOn = "install a CNI plugin / network add-on (Calico, Cilium, Flannel, or a bridge + host-local conflist on a single node) that writes a .conflist into \(confDir); containerd picks it up without a restart"
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: confDir).sorted()
        } catch {
            let exists = FileManager.default.fileExists(atPath: confDir)
            return [
                CheckResult(id: "cri.cni-config", group: g, title: "CNI network config", status: .fail,
                            found: exists ? "cannot read the CNI config directory \(confDir)" : "the CNI config directory \(confDir) does not exist",
                            evidence: confEvidence, fix: addOn),
                skipped("cri.cni-binaries", g, "CNI plugin binaries", why: "no CNI config to read plugin types from", evidence: "runtime.v1.RuntimeService/Status: config.cni.binDir"),
            ]
        }
        let files: [CNIFile] = names.filter { $0.hasSuffix(".conf") || $0.hasSuffix(".conflist") || $0.hasSuffix(".json") }
            .map { readCNI(confDir + "/" + $0, name: $0) }
        guard let first = files.first else {
            return [
                CheckResult(id: "cri.cni-config", group: g, title: "CNI network config", status: .fail,
                            found: "no .conf, .conflist or .json file in \(confDir): pods that are not host-network cannot start (\"cni plugin not initialized\")",
                            evidence: confEvidence, fix: addOn),
                skipped("cri.cni-binaries", g, "CNI plugin binaries", why: "no CNI config to read plugin types from", evidence: "runtime.v1.RuntimeService/Status: config.cni.binDir"),
            ]
        }
        var out: [CheckResult] = []
        let bad = files.filter { $0.error != nil }
        if let err = first.error {
            out.append(CheckResult(id: "cri.cni-config", group: g, title: "CNI network config", status: .fail,
                                   found: "\(confDir)/\(first.name), the config containerd uses (first by name), is invalid: \(err)",
                                   evidence: confEvidence, fix: "fix or remove \(confDir)/\(first.name) (reinstall the network add-on)"))
        } else if !bad.isEmpty {
            out.append(CheckResult(id: "cri.cni-config", group: g, title: "CNI network config", status: .warn,
                                   found: "\(files.count) config(s); containerd uses \(first.name) (network \(first.network ?? "?")), but these are invalid: " + bad.map { "\($0.name) (\($0.error ?? ""))" }.joined(separator: "; "),
                                   evidence: confEvidence, fix: "remove the invalid files from \(confDir)"))
        } else {
            out.append(CheckResult(id: "cri.cni-config", group: g, title: "CNI network config", status: .pass,
                                   found: "\(files.count) config(s) in \(confDir); containerd uses \(first.name) (network \(first.network ?? "?"))",
                                   evidence: confEvidence))
        }

        let binEvidence = "runtime.v1.RuntimeService/Status: config.cni.binDir = \(binDirs.joined(separator: ","))"
        var missing: [String] = []
        var checked: [String] = []
        for file in files where file.error == nil {
            for type in file.types where !checked.contains(type) {
                checked.append(type)
                let found = binDirs.contains { FileManager.default.isExecutableFile(atPath: $0 + "/" + type) }
                if !found { missing.append("\(type) (from \(file.name))") }
            }
        }
        if checked.isEmpty {
            out.append(CheckResult(id: "cri.cni-binaries", group: g, title: "CNI plugin binaries", status: .skip,
                                   found: "no readable CNI config names a plugin type", evidence: binEvidence))
        } else if missing.isEmpty {
            out.append(CheckResult(id: "cri.cni-binaries", group: g, title: "CNI plugin binaries", status: .pass,
                                   found: "every plugin the configs name is in \(binDirs.joined(separator: ",")): \(checked.joined(separator: ", "))",
                                   evidence: binEvidence))
        } else {
            out.append(CheckResult(id: "cri.cni-binaries", group: g, title: "CNI plugin binaries", status: .fail,
                                   found: "missing from \(binDirs.joined(separator: ",")): \(missing.joined(separator: ", "))",
                                   evidence: binEvidence,
                                   fix: "install the CNI plugins (apt-get install containernetworking-plugins, or the containernetworking/plugins release tarball into \(binDirs.first ?? "/opt/cni/bin")), or set bin_dir in [plugins.\"io.containerd.grpc.v1.cri\".cni] to where they are"))
        }
        return out
    }

    /// The plugin types a CNI config names (each plugin's `type` and its `ipam.type`). Read as the
    /// other config files are (`SmallFile`: a regular file of at most 1 MiB, never a FIFO or device)
    /// and parsed with the bounded JSON parser.
    static func readCNI(_ path: String, name: String) -> CNIFile {
        let text: String?
        do {
            text = try SmallFile.text(path)
        } catch {
            return CNIFile(name: name, types: [], error: error.message)
        }
        guard let text else {
            return CNIFile(name: name, types: [], error: "it is gone")
        }
        guard let json = JSONParser.parse(text), json.object != nil else {
            return CNIFile(name: name, types: [], error: "not a JSON object")
        }
        var plugins: [JSONValue] = []
        if name.hasSuffix(".conflist") || json["plugins"] != nil {
            if case .array(let list)? = json["plugins"] { plugins = list }
            if plugins.isEmpty { return CNIFile(name: name, network: json["name"]?.string, types: [], error: "no \"plugins\"") }
        } else {
            plugins = [json]
        }
        var types: [String] = []
        for p in plugins {
            guard let t = p["type"]?.string, !t.isEmpty else {
                return CNIFile(name: name, network: json["name"]?.string, types: types, error: "a plugin has no \"type\"")
            }
            types.append(t)
            if let ipam = p["ipam"]?["type"]?.string, !ipam.isEmpty { types.append(ipam) }
        }
        return CNIFile(name: name, network: json["name"]?.string, types: types, error: nil)
    }

    // MARK: cgroup

    public static func cgroup(_ ctx: VerifyContext) async -> [CheckResult] {
        let g = VerifyGroup.cgroup
        let id = "cgroup.driver-match", title = "cgroup driver: containerd, kubelet, PID 1"
        guard let session = ctx.session else {
            return [skipped(id, g, title, evidence: "runtime.v1.RuntimeService/Status")]
        }
        guard let running = ctx.running else {
            return [skipped(id, g, title, why: "CRI is not serving (see daemon.cri-plugin)", evidence: "runtime.v1.RuntimeService/Status")]
        }
        let major = ctx.version.flatMap { versionParts($0.version) }?.0 ?? 1
        let runtimeName = running.defaultRuntime ?? "runc"
        let criTable = major >= 2 ? "plugins.\"io.containerd.cri.v1.runtime\"" : "plugins.\"io.containerd.grpc.v1.cri\""
        let key = "\(criTable).containerd.runtimes.\(runtimeName).options.SystemdCgroup"
        let configPath = ctx.paths.containerdConfig

        var systemd: Bool
        var evidence: String
        if let driver = try? await session.cri.cgroupDriver() {
            systemd = driver == "systemd"
            evidence = "runtime.v1.RuntimeService/RuntimeConfig: linux.cgroup_driver = \(driver)"
        } else if let r = running.runtimes.first(where: { $0.name == runtimeName }) {
            switch r.runtimeType {
            case "io.containerd.runc.v2", "io.containerd.runc.v1", "":
                systemd = r.systemdCgroup ?? false
                evidence = "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes.\(runtimeName).options.SystemdCgroup = \(r.systemdCgroup.map(String.init) ?? "unset (false)")"
            case "io.containerd.runtime.v1.linux":
                systemd = running.systemdCgroupLegacy ?? false
                evidence = "runtime.v1.RuntimeService/Status verbose: config.systemdCgroup = \(systemd)"
            default:
                return [CheckResult(id: id, group: g, title: title, status: .skip,
                                    found: "the default runtime \(runtimeName) is \(r.runtimeType): its cgroup driver is set in its own config, not known to kctr",
                                    evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes.\(runtimeName).runtimeType")]
            }
        } else {
            return [CheckResult(id: id, group: g, title: title, status: .skip,
                                found: "the default runtime \(runtimeName) is not configured (see runtimes.default)",
                                evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes")]
        }
        let driver = systemd ? "systemd" : "cgroupfs"
        let pid1 = FileChecks.systemdIsPID1(root: ctx.paths.root)
        let kubelet = FileChecks.kubeletCgroupDriver(ctx)
        let restart = "systemctl restart containerd"
        let kubeletPath = ctx.paths.kubeletConfig
        evidence += "; PID 1 \(pid1 ? "is" : "is not") systemd (\(ctx.paths.proc("1")))"
        if let kubelet { evidence += "; \(kubelet.source) = \(kubelet.driver)" }

        if systemd && !pid1 {
            var found = "containerd runs runc with SystemdCgroup = true (cgroup driver systemd) but PID 1 is not systemd: RunPodSandbox fails with: expected cgroupsPath to be of format slice:prefix:name"
            if let kubelet, kubelet.driver != "cgroupfs" {
                found += "; the kubelet's cgroupDriver is \(kubelet.driver) too"
            } else if let kubelet {
                found += "; the kubelet's cgroupDriver is cgroupfs (\(kubelet.source)), which does not match containerd"
            }
            var fix = "set \(key) = false in \(configPath) and run \(restart) (or restart containerd with your init system)"
            if let kubelet, kubelet.driver != "cgroupfs" { fix += "; set cgroupDriver: cgroupfs in \(kubeletPath) and restart the kubelet" }
            return [CheckResult(id: id, group: g, title: title, status: .fail, found: found, evidence: evidence, fix: fix)]
        }
        guard let kubelet else {
            let why = ctx.kubeletConfigError.map { "the kubelet config could not be read (\($0))" } ?? "no kubelet config at \(kubeletPath)"
            return [CheckResult(id: id, group: g, title: title, status: .skip,
                                found: "containerd uses the \(driver) cgroup driver (SystemdCgroup = \(systemd)), consistent with PID 1; \(why): kubelet comparison skipped",
                                evidence: evidence)]
        }
        if kubelet.driver != driver {
            let found = "containerd uses the \(driver) cgroup driver (SystemdCgroup = \(systemd)) but the kubelet's cgroupDriver is \(kubelet.driver) (\(kubelet.source)): pods fail to start or get killed by the other manager"
            let fix: String
            if kubelet.driver == "systemd" && !pid1 {
                fix = "PID 1 is not systemd: set cgroupDriver: cgroupfs in \(kubeletPath) and restart the kubelet"
            } else if kubelet.driver == "systemd" {
                fix = "set \(key) = true in \(configPath) and run \(restart)"
            } else if pid1 {
                fix = "set cgroupDriver: systemd in \(kubeletPath) and restart the kubelet (recommended on systemd hosts), or set \(key) = false in \(configPath) and run \(restart)"
            } else {
                fix = "set \(key) = \(kubelet.driver == "systemd") in \(configPath) and run \(restart)"
            }
            return [CheckResult(id: id, group: g, title: title, status: .fail, found: found, evidence: evidence, fix: fix)]
        }
        return [CheckResult(id: id, group: g, title: title, status: .pass,
                            found: "containerd and the kubelet both use the \(driver) cgroup driver; PID 1 \(pid1 ? "is" : "is not") systemd",
                            evidence: evidence)]
    }

    // MARK: snapshotter

    public static func snapshotter(_ ctx: VerifyContext) async -> [CheckResult] {
        let g = VerifyGroup.snapshotter
        guard ctx.session != nil else {
            return [skipped("snapshotter.plugin", g, "snapshotter plugin loaded", evidence: "Introspection.Plugins"),
                    skipped("snapshotter.filesystem", g, "filesystem supports the snapshotter", evidence: "statfs")]
        }
        let name = ctx.running?.snapshotter ?? "overlayfs"
        let source = ctx.running?.snapshotter != nil ? "CRI's snapshotter" : "the default snapshotter (CRI not serving)"
        var out: [CheckResult] = []
        let evidence = "runtime.v1.RuntimeService/Status verbose: config.containerd.snapshotter = \(name); Introspection.Plugins: io.containerd.snapshotter.v1.\(name)"
        if let p = ctx.plugins.first(where: { $0.type == "io.containerd.snapshotter.v1" && $0.id == name }) {
            if let err = p.initError {
                out.append(CheckResult(id: "snapshotter.plugin", group: g, title: "snapshotter plugin loaded", status: .fail,
                                       found: "\(source) \(name) did not load: \(err)", evidence: evidence,
                                       fix: name == "overlayfs"
                                           ? "put containerd's root on a filesystem overlayfs supports (ext4, or xfs with ftype=1) and load the overlay module (modprobe overlay), then systemctl restart containerd"
                                           : "fix what the error names, or set snapshotter = \"overlayfs\" in [plugins.\"io.containerd.grpc.v1.cri\".containerd] and systemctl restart containerd"))
            } else {
                out.append(CheckResult(id: "snapshotter.plugin", group: g, title: "snapshotter plugin loaded", status: .pass,
                                       found: "\(source) \(name) is loaded (status ok)", evidence: evidence))
            }
        } else if ctx.plugins.isEmpty {
            out.append(CheckResult(id: "snapshotter.plugin", group: g, title: "snapshotter plugin loaded", status: .skip,
                                   found: "the daemon did not list its plugins", evidence: evidence))
        } else {
            let have = ctx.plugins.filter { $0.type == "io.containerd.snapshotter.v1" && $0.initError == nil }.map(\.id)
            out.append(CheckResult(id: "snapshotter.plugin", group: g, title: "snapshotter plugin loaded", status: .fail,
                                   found: "\(source) \(name) is not a loaded snapshotter plugin (loaded: \(have.joined(separator: ", ")))",
                                   evidence: evidence,
                                   fix: "set snapshotter in [plugins.\"io.containerd.grpc.v1.cri\".containerd] of \(ctx.paths.containerdConfig) to one of \(have.joined(separator: ", ")) (or install the \(name) proxy plugin) and systemctl restart containerd"))
        }
        out.append(filesystem(ctx, snapshotter: name))
        return out
    }

    /// `mountinfo`: where the mounts are read from (tests pass a fixture).
    static func filesystem(_ ctx: VerifyContext, snapshotter: String, mountinfo: String = "/proc/self/mountinfo") -> CheckResult {
        let g = VerifyGroup.snapshotter
        let id = "snapshotter.filesystem", title = "filesystem supports the snapshotter"
        guard snapshotter == "overlayfs" else {
            return CheckResult(id: id, group: g, title: title, status: .skip,
                               found: "only checked for overlayfs (the snapshotter is \(snapshotter))", evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.snapshotter")
        }
        var notes: [String] = []
        var evidence: [String] = []
        // 1. The kernel has overlay.
        let filesystemsPath = ctx.paths.proc("filesystems")
        if let text = try? String(contentsOfFile: filesystemsPath, encoding: .utf8) {
            let has = text.split(separator: "\n").contains { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).last == "overlay" }
            evidence.append("\(filesystemsPath): overlay \(has ? "listed" : "not listed")")
            if !has {
                return CheckResult(id: id, group: g, title: title, status: .fail,
                                   found: "the kernel does not list overlay in \(filesystemsPath): the overlayfs snapshotter cannot mount layers",
                                   evidence: evidence.joined(separator: "; "),
                                   fix: "modprobe overlay, and add overlay to /etc/modules-load.d/containerd.conf so it loads at boot")
            }
            notes.append("the kernel has overlay")
        } else {
            notes.append("\(filesystemsPath) not readable (kernel support not checked)")
        }
        // 2. The filesystem under containerd's root.
        let root = containerdRoot(ctx)
        guard let root else {
            return CheckResult(id: id, group: g, title: title, status: .pass,
                               found: notes.joined(separator: "; ") + "; containerd's root dir unknown (filesystem not checked)",
                               evidence: evidence.joined(separator: "; "))
        }
        let dir = [root + "/io.containerd.snapshotter.v1.overlayfs", root].first { FileManager.default.fileExists(atPath: $0) }
        guard let dir, let fs = filesystemType(dir, mountinfo: mountinfo) else {
            return CheckResult(id: id, group: g, title: title, status: .pass,
                               found: notes.joined(separator: "; ") + "; \(root) is not visible here (filesystem not checked)",
                               evidence: (evidence + ["containerd root \(root)"]).joined(separator: "; "))
        }
        evidence.append("statfs(\(dir)): \(fs)")
        switch fs {
        case "overlay":
            return CheckResult(id: id, group: g, title: title, status: .fail,
                               found: "\(dir) is itself on overlayfs: overlayfs cannot use an overlay upper dir (containerd in a container without a volume for its root)",
                               evidence: evidence.joined(separator: "; "),
                               fix: "put containerd's root (root = in \(ctx.paths.containerdConfig)) on ext4 or xfs (ftype=1), e.g. a volume or host mount, or use the native snapshotter there")
        case "xfs":
            guard let xfsInfo = HostProbes.findExecutable("xfs_info", root: "") else {
                notes.append("\(dir) is on xfs (ftype not checked: xfs_info not found)")
                return CheckResult(id: id, group: g, title: title, status: .pass, found: notes.joined(separator: "; "),
                                   evidence: evidence.joined(separator: "; "))
            }
            let point = mountPoint(dir, mountinfo: mountinfo) ?? dir
            let r = HostProbes.run(xfsInfo, [point])
            if case .refused(let why) = r.outcome {
                notes.append("\(dir) is on xfs (ftype not checked: kctr does not run \(xfsInfo): \(why))")
                return CheckResult(id: id, group: g, title: title, status: .pass, found: notes.joined(separator: "; "),
                                   evidence: evidence.joined(separator: "; "))
            }
            evidence.append("xfs_info \(point): \(r.output.contains("ftype=1") ? "ftype=1" : r.output.contains("ftype=0") ? "ftype=0" : "no ftype")")
            if r.output.contains("ftype=0") {
                return CheckResult(id: id, group: g, title: title, status: .fail,
                                   found: "\(dir) is on xfs formatted with ftype=0: overlayfs needs d_type (ftype=1); layers show wrong or missing files",
                                   evidence: evidence.joined(separator: "; "),
                                   fix: "move containerd's root to a filesystem made with mkfs.xfs -n ftype=1 (ftype cannot be changed in place) or ext4, then systemctl restart containerd")
            }
            notes.append(r.output.contains("ftype=1") ? "\(dir) is on xfs with ftype=1" : "\(dir) is on xfs (xfs_info did not report ftype)")
        default:
            notes.append("\(dir) is on \(fs)")
        }
        return CheckResult(id: id, group: g, title: title, status: .pass, found: notes.joined(separator: "; "),
                           evidence: evidence.joined(separator: "; "))
    }

    /// containerd's root dir: `containerdRootDir` of the CRI config, else the parent of CRI's rootDir.
    static func containerdRoot(_ ctx: VerifyContext) -> String? {
        if let c = ctx.criStatus?.info["config"], let root = JSONValue.parse(c)["containerdRootDir"]?.string, !root.isEmpty {
            return root
        }
        if let cri = ctx.running?.rootDir, !cri.isEmpty {
            return URL(fileURLWithPath: cri).deletingLastPathComponent().path
        }
        return nil
    }

    /// The filesystem type of the mount holding `path` (as this process sees it), and its mount point,
    /// from /proc/self/mountinfo (symlinks in `path` resolved first).
    static func filesystemType(_ path: String, mountinfo: String = "/proc/self/mountinfo") -> String? { mount(path, mountinfo: mountinfo)?.type }

    static func mountPoint(_ path: String, mountinfo: String = "/proc/self/mountinfo") -> String? { mount(path, mountinfo: mountinfo)?.point }

    static func mount(_ path: String, mountinfo: String = "/proc/self/mountinfo") -> (point: String, type: String)? {
        guard let text = try? String(contentsOfFile: mountinfo, encoding: .utf8) else { return nil }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best: (point: String, type: String)?
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count > 4, let dash = f.firstIndex(of: "-"), dash + 1 < f.count else { continue }
            let mp = String(f[4]).replacing("\\040", with: " ")
            guard real == mp || real.hasPrefix(mp == "/" ? "/" : mp + "/") else { continue }
            // Later lines mount over earlier ones at the same point.
            if best == nil || mp.count >= best!.point.count { best = (mp, String(f[dash + 1])) }
        }
        return best
    }

    // MARK: pause

    /// containerd 2.x's default sandbox image (1.6/1.7 report theirs in the CRI status).
    static let containerd2SandboxDefault = "registry.k8s.io/pause:3.10"

    /// The sandbox image the daemon uses: from the CRI status (1.6/1.7); on 2.x, which does not
    /// report it there, from config.toml's `[plugins."io.containerd.cri.v1.images".pinned_images]
    /// sandbox`, else 2.x's default.
    static func sandboxImage(_ ctx: VerifyContext) -> String? {
        if let image = ctx.running?.sandboxImage, !image.isEmpty { return image }
        guard let version = ctx.version?.version, version.hasPrefix("2.") || version.hasPrefix("v2.") else { return nil }
        let configured = ctx.containerdConfig?["plugins"]?["io.containerd.cri.v1.images"]?["pinned_images"]?["sandbox"]?.string
        return configured ?? containerd2SandboxDefault
    }

    public static func pause(_ ctx: VerifyContext) async -> [CheckResult] {
        let g = VerifyGroup.pause
        guard let session = ctx.session else {
            return [skipped("pause.present", g, "sandbox image present", evidence: "runtime.v1.ImageService/ImageStatus"),
                    skipped("pause.unpacked", g, "sandbox image unpacked", evidence: "Snapshots.Stat"),
                    skipped("pause.pinned", g, "sandbox image pinned", evidence: "runtime.v1.ImageService/ImageStatus"),
                    skipped("pause.in-use", g, "sandboxes use the sandbox image", evidence: "runtime.v1.RuntimeService/ListPodSandbox")]
        }
        guard let running = ctx.running, let image = sandboxImage(ctx), !image.isEmpty else {
            let why = "CRI is not serving (see daemon.cri-plugin)"
            return [skipped("pause.present", g, "sandbox image present", why: why, evidence: "runtime.v1.ImageService/ImageStatus"),
                    skipped("pause.unpacked", g, "sandbox image unpacked", why: why, evidence: "Snapshots.Stat"),
                    skipped("pause.pinned", g, "sandbox image pinned", why: why, evidence: "runtime.v1.ImageService/ImageStatus"),
                    skipped("pause.in-use", g, "sandboxes use the sandbox image", why: why, evidence: "runtime.v1.RuntimeService/ListPodSandbox")]
        }
        let snapshotter = running.snapshotter ?? "overlayfs"
        let normalized = ImageReference.parse(image)?.description ?? image
        let k8s = session.containerd.namespaced("k8s.io")
        async let criImageCall = session.cri.imageStatus(image)
        async let recordCall = k8s.image(named: normalized)
        async let sandboxesCall = sandboxImages(session)
        let criImage = try? await criImageCall
        let record = try? await recordCall
        var resolved: ImageCatalog.Resolved?
        if let record { resolved = await ImageCatalog(session: session).resolve(record.target, snapshotter: snapshotter) }
        return pauseResults(ctx, image: image, snapshotter: snapshotter, criImage: criImage, record: record,
                            resolved: resolved, sandboxes: await sandboxesCall)
    }

    /// The pause checks from the fetched facts: CRI's ImageStatus, the k8s.io
    /// image record, its resolution (nil when there is no record) and the sandboxes.
    static func pauseResults(_ ctx: VerifyContext, image: String, snapshotter: String, criImage: CRIImage?, record: ImageRecord?,
                             resolved: ImageCatalog.Resolved?, sandboxes: Listing) -> [CheckResult] {
        let g = VerifyGroup.pause
        let normalized = ImageReference.parse(image)?.description ?? image
        let fixPull = "on air-gapped nodes: kctr import pause.tar (a tar of \(image) saved where a registry is reachable); otherwise crictl pull \(image)"
        let configKey = "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"] of \(ctx.paths.containerdConfig)"
        var out: [CheckResult] = []

        // present
        let presentEvidence = "runtime.v1.RuntimeService/Status verbose: config.sandboxImage = \(image); runtime.v1.ImageService/ImageStatus; Images.Get(\(normalized)) in k8s.io"
        if let criImage {
            out.append(CheckResult(id: "pause.present", group: g, title: "sandbox image present", status: .pass,
                                   found: "\(image) is present (image id \(criImage.id))", evidence: presentEvidence))
        } else if let record {
            out.append(CheckResult(id: "pause.present", group: g, title: "sandbox image present", status: .warn,
                                   found: "\(image) is in containerd's k8s.io store (\(record.target.digest)) but CRI does not list it",
                                   evidence: presentEvidence, fix: "restart containerd so that CRI re-reads its store, or re-import: \(fixPull)"))
        } else {
            out.append(CheckResult(id: "pause.present", group: g, title: "sandbox image present", status: .fail,
                                   found: "the sandbox image \(image) is not in namespace k8s.io: every new pod pulls it first, and on a node without registry access RunPodSandbox fails",
                                   evidence: presentEvidence, fix: fixPull + " (or point \(configKey) at an image the node has)"))
        }

        // unpacked
        if record != nil {
            let r = resolved ?? ImageCatalog.Resolved(problem: "not resolved")
            let ev = "Images.Get(\(normalized)) -> config rootfs.diff_ids -> chain ID \(r.chainID ?? "?"); Snapshots.Stat(\(snapshotter), chain ID)"
            if r.unpacked {
                out.append(CheckResult(id: "pause.unpacked", group: g, title: "sandbox image unpacked", status: .pass,
                                       found: "\(image) is unpacked for \(snapshotter)", evidence: ev))
            } else if let problem = r.problem {
                out.append(CheckResult(id: "pause.unpacked", group: g, title: "sandbox image unpacked", status: .fail,
                                       found: "\(image) cannot be resolved: \(problem)", evidence: ev,
                                       fix: "remove and re-import it: \(fixPull)"))
            } else {
                out.append(CheckResult(id: "pause.unpacked", group: g, title: "sandbox image unpacked", status: .warn,
                                       found: "\(image) is not unpacked for CRI's snapshotter \(snapshotter): the first pod unpacks it (slower start; fails if a layer is missing)",
                                       evidence: ev,
                                       fix: "ctr -n k8s.io images unpack --snapshotter \(snapshotter) \(normalized), or re-import it with kctr import pause.tar (which unpacks for CRI's snapshotter)"))
            }
        } else {
            out.append(CheckResult(id: "pause.unpacked", group: g, title: "sandbox image unpacked", status: .skip,
                                   found: "\(image) is not in containerd's k8s.io store (see pause.present)",
                                   evidence: "Images.Get(\(normalized)) in k8s.io"))
        }

        // pinned
        let version = ctx.version.flatMap { versionParts($0.version) } ?? (1, 6)
        if version < (1, 7) {
            out.append(CheckResult(id: "pause.pinned", group: g, title: "sandbox image pinned", status: .skip,
                                   found: "containerd \(ctx.version?.version ?? "1.6") has no image pinning (added in 1.7): the kubelet's image GC may remove \(image)",
                                   evidence: "containerd.services.version.v1.Version"))
        } else if let criImage {
            if criImage.pinned {
                out.append(CheckResult(id: "pause.pinned", group: g, title: "sandbox image pinned", status: .pass,
                                       found: "\(image) is pinned (the kubelet's image GC keeps it)", evidence: "runtime.v1.ImageService/ImageStatus: image.pinned"))
            } else {
                out.append(CheckResult(id: "pause.pinned", group: g, title: "sandbox image pinned", status: .warn,
                                       found: "\(image) is not pinned: the kubelet's image GC may delete it, and new pods then need a registry",
                                       evidence: "runtime.v1.ImageService/ImageStatus: image.pinned = false",
                                       fix: "ctr -n k8s.io images label \(normalized) io.cri-containerd.pinned=pinned (containerd pins the configured sandbox image when CRI pulls it)"))
            }
        } else {
            out.append(CheckResult(id: "pause.pinned", group: g, title: "sandbox image pinned", status: .skip,
                                   found: "CRI does not know \(image) (see pause.present)", evidence: "runtime.v1.ImageService/ImageStatus"))
        }

        // in-use
        let inUseEvidence = "runtime.v1.RuntimeService/ListPodSandbox; PodSandboxStatus(verbose) info.image"
        switch sandboxes {
        case .failure(let message):
            out.append(CheckResult(id: "pause.in-use", group: g, title: "sandboxes use the sandbox image", status: .skip,
                                   found: "cannot list sandboxes: \(message)", evidence: inUseEvidence))
        case .success(let sandboxes):
            if sandboxes.isEmpty {
                out.append(CheckResult(id: "pause.in-use", group: g, title: "sandboxes use the sandbox image", status: .skip,
                                       found: "no running sandboxes", evidence: inUseEvidence))
                break
            }
            let ids = Set([criImage?.id].compactMap { $0 })
            let names = Set([image, normalized] + (criImage?.repoTags ?? []) + (criImage?.repoDigests ?? []))
            var other: [String] = []
            var unknown = 0
            for s in sandboxes {
                guard let used = s.image else { unknown += 1; continue }
                let usedNorm = ImageReference.parse(used)?.description ?? used
                if names.contains(used) || names.contains(usedNorm) || ids.contains(used) { continue }
                other.append("\(s.namespace)/\(s.name) uses \(used)")
            }
            if !other.isEmpty {
                out.append(CheckResult(id: "pause.in-use", group: g, title: "sandboxes use the sandbox image", status: .warn,
                                       found: "\(other.count) of \(sandboxes.count) running sandboxes use another image than \(image): " + other.prefix(5).joined(separator: "; ") + (other.count > 5 ? "; ..." : ""),
                                       evidence: inUseEvidence,
                                       fix: "the kubelet's --pod-infra-container-image or an older \(configKey) started them; they change when the pods are recreated (drain the node); keep the old image until then"))
            } else if unknown == sandboxes.count {
                out.append(CheckResult(id: "pause.in-use", group: g, title: "sandboxes use the sandbox image", status: .skip,
                                       found: "the runtime does not report the image of its \(sandboxes.count) running sandboxes", evidence: inUseEvidence))
            } else {
                out.append(CheckResult(id: "pause.in-use", group: g, title: "sandboxes use the sandbox image", status: .pass,
                                       found: "all \(sandboxes.count - unknown) running sandboxes use \(image)" + (unknown > 0 ? " (\(unknown) did not say)" : ""),
                                       evidence: inUseEvidence))
            }
        }
        return out
    }

    struct SandboxImage: Sendable {
        var name: String
        var namespace: String
        var image: String?
    }

    enum Listing: Sendable {
        case success([SandboxImage])
        case failure(String)
    }

    /// The ready sandboxes with the image each runs (containerd 1.6/1.7: verbose info "info" -> "image").
    static func sandboxImages(_ session: Session) async -> Listing {
        let ready: [SandboxSummary]
        do {
            ready = try await session.cri.listPodSandboxes().filter { $0.state == "Ready" }
        } catch {
            return .failure("\(session.explain(error, doing: "listing sandboxes"))")
        }
        let cri = session.cri
        let items = await withTaskGroup(of: SandboxImage.self) { group in
            for s in ready {
                group.addTask {
                    var image: String?
                    if let st = try? await cri.podSandboxStatus(id: s.id, verbose: true), let info = st.info["info"] {
                        let json = JSONValue.parse(info)
                        image = json["image"]?.string ?? json["sandboxImage"]?.string
                        if image?.isEmpty == true { image = nil }
                    }
                    return SandboxImage(name: s.name, namespace: s.namespace, image: image)
                }
            }
            var out: [SandboxImage] = []
            for await item in group { out.append(item) }
            return out
        }
        return .success(items.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) })
    }

    // MARK: runtimes

    static let knownTypes: Set<String> = ["io.containerd.runc.v2", "io.containerd.runsc.v1", "io.containerd.kata.v2", "io.containerd.runhcs.v1"]
    static let deprecatedTypes: Set<String> = ["io.containerd.runtime.v1.linux", "io.containerd.runc.v1"]

    public static func runtimes(_ ctx: VerifyContext) async -> [CheckResult] {
        let g = VerifyGroup.runtimes
        guard ctx.session != nil else {
            return [skipped("runtimes.default", g, "default runtime exists", evidence: "runtime.v1.RuntimeService/Status"),
                    skipped("runtimes.type", g, "runtime types", evidence: "runtime.v1.RuntimeService/Status"),
                    skipped("runtimes.binary", g, "runtime binaries run", evidence: "PATH")]
        }
        guard let running = ctx.running else {
            let why = "CRI is not serving (see daemon.cri-plugin)"
            return [skipped("runtimes.default", g, "default runtime exists", why: why, evidence: "runtime.v1.RuntimeService/Status"),
                    skipped("runtimes.type", g, "runtime types", why: why, evidence: "runtime.v1.RuntimeService/Status"),
                    skipped("runtimes.binary", g, "runtime binaries run", why: why, evidence: "PATH")]
        }
        let table = "plugins.\"io.containerd.grpc.v1.cri\".containerd"
        var out: [CheckResult] = []
        let names = running.runtimes.map(\.name)
        let def = running.defaultRuntime ?? ""
        let defEvidence = "runtime.v1.RuntimeService/Status verbose: config.containerd.defaultRuntimeName = \(def), runtimes = [\(names.joined(separator: ", "))]"
        if names.contains(def) {
            out.append(CheckResult(id: "runtimes.default", group: g, title: "default runtime exists", status: .pass,
                                   found: "the default runtime \(def) is configured", evidence: defEvidence))
        } else {
            out.append(CheckResult(id: "runtimes.default", group: g, title: "default runtime exists", status: .fail,
                                   found: "default_runtime_name = \"\(def)\" but there is no runtime \(def) (configured: \(names.isEmpty ? "none" : names.joined(separator: ", "))): every RunPodSandbox fails",
                                   evidence: defEvidence,
                                   fix: "add [\(table).runtimes.\(def.isEmpty ? "runc" : def)] with runtime_type = \"io.containerd.runc.v2\", or set \(table).default_runtime_name to one of \(names.joined(separator: ", ")), in \(ctx.paths.containerdConfig); then systemctl restart containerd"))
        }

        var deprecated: [String] = [], unknown: [String] = [], fine: [String] = []
        for r in running.runtimes {
            if knownTypes.contains(r.runtimeType) { fine.append("\(r.name)=\(r.runtimeType)") }
            else if deprecatedTypes.contains(r.runtimeType) { deprecated.append("\(r.name)=\(r.runtimeType)") }
            else { unknown.append("\(r.name)=\(r.runtimeType.isEmpty ? "(empty)" : r.runtimeType)") }
        }
        let typeEvidence = "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes.*.runtimeType"
        if !deprecated.isEmpty {
            out.append(CheckResult(id: "runtimes.type", group: g, title: "runtime types", status: .warn,
                                   found: "deprecated runtime type: \(deprecated.joined(separator: ", ")) (removed in containerd 2.0)",
                                   evidence: typeEvidence,
                                   fix: "set runtime_type = \"io.containerd.runc.v2\" in [\(table).runtimes.<name>] of \(ctx.paths.containerdConfig) (options move to [...runtimes.<name>.options]) and systemctl restart containerd"))
        } else if !unknown.isEmpty {
            out.append(CheckResult(id: "runtimes.type", group: g, title: "runtime types", status: .warn,
                                   found: "runtime type kctr does not know: \(unknown.joined(separator: ", "))",
                                   evidence: typeEvidence,
                                   fix: "check the spelling: containerd starts the shim containerd-shim-<name>-<version> from the type (e.g. io.containerd.runc.v2 -> containerd-shim-runc-v2)"))
        } else if fine.isEmpty {
            out.append(CheckResult(id: "runtimes.type", group: g, title: "runtime types", status: .skip,
                                   found: "no runtimes configured", evidence: typeEvidence))
        } else {
            out.append(CheckResult(id: "runtimes.type", group: g, title: "runtime types", status: .pass,
                                   found: fine.joined(separator: ", "), evidence: typeEvidence))
        }

        out.append(binaries(ctx, running: running))
        return out
    }

    static func binaries(_ ctx: VerifyContext, running: RuntimeConfigView) -> CheckResult {
        let g = VerifyGroup.runtimes
        let id = "runtimes.binary", title = "runtime binaries run"
        if running.runtimes.isEmpty {
            return CheckResult(id: id, group: g, title: title, status: .skip,
                               found: "no runtimes configured", evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes")
        }
        // The binaries are named by the daemon's reply, and kctr runs them as root: whoever could
        // have put a socket there would choose them.
        let socket = ctx.endpoint.path
        if let why = HostProbes.untrusted(socket, kind: .socket) {
            return CheckResult(id: id, group: g, title: title, status: .fail,
                               found: "kctr runs no runtime binary the reply on \(socket) names, since that socket could be someone else's: \(why)",
                               evidence: "socket \(socket): owner and mode of the socket and of each directory above it",
                               fix: "containerd makes its socket as root in a directory only root can write (/run/containerd): check who listens on \(socket) (ss -xlp | grep \(socket)), or pass --address with containerd's own socket")
        }
        var ok: [String] = [], bad: [String] = [], evidence: [String] = []
        var refusals = 0
        for r in running.runtimes {
            let runcLike = r.runtimeType == "io.containerd.runc.v2" || r.runtimeType == "io.containerd.runc.v1"
                || r.runtimeType == "io.containerd.runtime.v1.linux" || r.runtimeType.isEmpty
            // The shim containerd starts for this type.
            if let shim = shimBinary(r.runtimeType) {
                if let path = HostProbes.findExecutable(shim, root: ctx.paths.root) {
                    evidence.append("\(r.name): shim \(path)")
                } else {
                    bad.append("\(r.name): shim \(shim) not found on PATH")
                    evidence.append("\(r.name): shim \(shim) not on PATH")
                }
            }
            guard runcLike else { continue }
            let binary = r.binaryName.flatMap { $0.isEmpty ? nil : $0 } ?? "runc"
            evidence.append("\(r.name): options.BinaryName = \(r.binaryName.flatMap { $0.isEmpty ? nil : $0 } ?? "unset (runc)")")
            guard let path = HostProbes.findExecutable(binary, root: ctx.paths.root) else {
                bad.append("\(r.name): \(binary) not found on PATH")
                continue
            }
            if !ctx.paths.root.isEmpty, path.hasPrefix(ctx.paths.root + "/") {
                // The host's binary seen from a container: its libraries are the host's, not ours.
                ok.append("\(r.name): \(path) (the host's binary under --root: found, not run from here)")
                continue
            }
            let run = HostProbes.run(path, ["--version"])
            let first = run.firstLine
            switch run.outcome {
            case .exited(0):
                ok.append("\(r.name): \(path) (\(first))")
            case .exited(let code):
                bad.append("\(r.name): \(path) --version failed (exit \(code)\(first.isEmpty ? "" : ": \(first)"))")
            case .signaled(let signal):
                bad.append("\(r.name): \(path) --version was killed by signal \(signal)")
            case .timedOut:
                bad.append("\(r.name): \(path) --version did not finish within 2 s")
            case .notStarted(let why):
                bad.append("\(r.name): \(path) --version could not be started: \(why)")
            case .refused(let why):
                refusals += 1
                bad.append("\(r.name): kctr refused to run \(path) --version as root: \(why)")
            }
        }
        if !bad.isEmpty {
            var fixes: [String] = []
            if refusals > 0 {
                fixes.append("kctr runs a binary as root only if root owns it and every directory above it and nobody else can write them: chown root:root and chmod go-w what is named above, or set BinaryName to a root-owned runc such as /usr/sbin/runc; if nobody set that path, the socket \(socket) may not be containerd's")
            }
            if bad.count > refusals {
                fixes.append("install runc (apt-get install runc) and containerd's shims where containerd's PATH finds them, or set BinaryName in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<name>.options] to the full path; then systemctl restart containerd")
            }
            return CheckResult(id: id, group: g, title: title, status: .fail,
                               found: bad.joined(separator: "; "), evidence: evidence.joined(separator: "; "),
                               fix: fixes.joined(separator: "; "))
        }
        return CheckResult(id: id, group: g, title: title, status: .pass,
                           found: ok.isEmpty ? "every runtime's shim is on PATH" : ok.joined(separator: "; "),
                           evidence: evidence.joined(separator: "; "))
    }

    /// io.containerd.runc.v2 -> containerd-shim-runc-v2; nil for the v1 linux runtime (built in).
    static func shimBinary(_ type: String) -> String? {
        let parts = type.split(separator: ".")
        guard parts.count >= 4, parts[0] == "io", parts[1] == "containerd", type != "io.containerd.runtime.v1.linux" else { return nil }
        return "containerd-shim-\(parts[parts.count - 2])-\(parts[parts.count - 1])"
    }

    // MARK: helpers

    static func skipped(_ id: String, _ g: VerifyGroup, _ title: String, why: String = unreachable, evidence: String) -> CheckResult {
        CheckResult(id: id, group: g, title: title, status: .skip, found: why, evidence: evidence)
    }

    /// "message (hint: hint)" -> (message, hint).
    static func split(_ text: String) -> (String, String?) {
        guard let r = text.firstRange(of: " (hint: "), text.hasSuffix(")") else { return (text, nil) }
        return (String(text[..<r.lowerBound]), String(text[r.upperBound..<text.index(before: text.endIndex)]))
    }

    static func stringList(_ value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap(\.string)
    }

    /// "1.6.20~ds1" -> (1, 6); "v2.0.0" -> (2, 0).
    public static func versionParts(_ version: String) -> (Int, Int)? {
        var v = Substring(version)
        if v.hasPrefix("v") { v = v.dropFirst() }
        let parts = v.split(separator: ".", maxSplits: 2)
        guard parts.count >= 2 else { return nil }
        let major = Int(parts[0].prefix { $0.isNumber })
        let minor = Int(parts[1].prefix { $0.isNumber })
        guard let major, let minor else { return nil }
        return (major, minor)
    }
}
