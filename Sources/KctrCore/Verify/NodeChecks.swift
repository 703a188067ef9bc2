import Foundation
import Yams

extension FileChecks {
    // MARK: - YAML files (kubelet, kube-proxy)

    /// The kubelet's config.yaml (KubeletConfiguration) as JSON: (nil, nil) when the file does not
    /// exist, (nil, why) when it cannot be read or parsed.
    public static func loadKubeletConfig(path: String) -> (JSONValue?, String?) {
        loadYAML(path: path)
    }

    static func loadYAML(path: String) -> (JSONValue?, String?) {
        do {
            guard let text = try SmallFile.text(path) else { return (nil, nil) }
            return parseYAML(text, path: path)
        } catch {
            return (nil, error.description)
        }
    }

    /// A YAML document (kubelet or kube-proxy config) as JSON, or why it cannot be parsed.
    public static func parseYAML(_ text: String, path: String) -> (JSONValue?, String?) {
        do {
            let node = try BoundedYAML.load(text)
            return (yamlToJSON(node), nil)
        } catch {
            return (nil, "cannot parse \(path): \(error)")
        }
    }

    static func yamlToJSON(_ node: Any?) -> JSONValue {
        switch node {
        case nil, is NSNull: return .null
        case let b as Bool: return .bool(b)
        case let i as Int: return .number(Double(i))
        case let d as Double: return .number(d)
        case let s as String: return .string(s)
        case let date as Date: return .string(Timestamps.utc(date.timeIntervalSince1970))
        case let a as [Any]: return .array(a.map { yamlToJSON($0) })
        case let m as [String: Any]: return .object(m.mapValues { yamlToJSON($0) })
        case let m as [AnyHashable: Any]:
            var o: [String: JSONValue] = [:]
            for (k, v) in m { o["\(k.base)"] = yamlToJSON(v) }
            return .object(o)
        case let other?: return .string("\(other)")
        }
    }

    // MARK: - The kubelet side of the cgroup group

    /// The kubelet's cgroup driver and where it came from; nil when there is no kubelet config.
    /// An absent `cgroupDriver` is the KubeletConfiguration default, cgroupfs (kubeadm 1.22+
    /// writes `cgroupDriver: systemd` explicitly).
    public static func kubeletCgroupDriver(_ ctx: VerifyContext) -> (driver: String, source: String)? {
        guard let config = ctx.kubeletConfig else { return nil }
        if let driver = config["cgroupDriver"]?.string, !driver.isEmpty {
            return (driver, "\(ctx.paths.kubeletConfig): cgroupDriver")
        }
        return ("cgroupfs", "\(ctx.paths.kubeletConfig): cgroupDriver not set (the kubelet's default is cgroupfs; kubeadm 1.22+ writes systemd)")
    }

    /// `<root>/proc/1/comm` is "systemd".
    public static func systemdIsPID1(root: String) -> Bool {
        ((try? String(contentsOfFile: root + "/proc/1/comm", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "systemd"
    }

    // MARK: - crictl group

    /// `path` is a unix socket (following symlinks). stat(2), not FileManager.attributesOfItem, which
    /// also looks up the owner's user and group names (NSS), which the static dist/kctr avoids.
    public static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return stat(resolved(path), &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK
    }

    /// `path` with every symlink along it resolved, even when the last parts do not exist
    /// (/var/run/containerd/containerd.sock -> /run/containerd/containerd.sock).
    static func resolved(_ path: String, depth: Int = 0) -> String {
        guard depth < 16 else { return path }
        var current = "/"
        let parts = (path as NSString).standardizingPath.split(separator: "/").map(String.init)
        for (i, part) in parts.enumerated() {
            let candidate = (current as NSString).appendingPathComponent(part)
            if let dest = try? FileManager.default.destinationOfSymbolicLink(atPath: candidate) {
                let target = dest.hasPrefix("/") ? dest : (current as NSString).appendingPathComponent(dest)
                let rest = parts[(i + 1)...].joined(separator: "/")
                return resolved(rest.isEmpty ? target : target + "/" + rest, depth: depth + 1)
            }
            current = candidate
        }
        return current
    }

    /// crictl.runtime-endpoint and crictl.image-endpoint: /etc/crictl.yaml points at the live socket.
    public static func crictlChecks(_ ctx: VerifyContext) -> [CheckResult] {
        crictlChecks(ctx, isSocket: isSocket)
    }

    /// The same, with the socket test replaceable (tests).
    public static func crictlChecks(_ ctx: VerifyContext, isSocket: (String) -> Bool) -> [CheckResult] {
        let path = ctx.paths.crictlConfig
        let live = ctx.endpoint.path
        let titles = [("crictl.runtime-endpoint", "runtime-endpoint", "crictl's runtime-endpoint is the live socket"),
                      ("crictl.image-endpoint", "image-endpoint", "crictl's image-endpoint is the live socket")]
        let setBoth = "crictl config --set runtime-endpoint=unix://\(live) --set image-endpoint=unix://\(live)"
        guard FileManager.default.fileExists(atPath: path) else {
            return titles.map { id, _, title in
                CheckResult(id: id, group: .crictl, title: title, status: .skip,
                            found: "\(path) does not exist: crictl uses its defaults (it tries the containerd, crio and cri-dockerd sockets in turn, with a warning)",
                            evidence: path)
            }
        }
        let config: CrictlConfig
        do {
            guard let text = try SmallFile.text(path) else { throw KctrError("cannot read \(path): it is gone") }
            config = try CrictlConfig.parse(text, path: path)
        } catch {
            return titles.map { id, _, title in
                CheckResult(id: id, group: .crictl, title: title, status: .fail,
                            found: "\(error)", evidence: path,
                            fix: "rewrite it: rm \(path) && \(setBoth)")
            }
        }
        let liveIsSocket = isSocket(live)
        func check(_ id: String, key: String, title: String, value: String?, fallback: String?) -> CheckResult {
            let evidence = "\(path): \(key)"
            let fix = "crictl config --set \(key)=unix://\(live)"
            guard let value, !value.isEmpty else {
                if key == "image-endpoint", let fallback, !fallback.isEmpty {
                    return CheckResult(id: id, group: .crictl, title: title, status: .pass,
                                       found: "image-endpoint not set: crictl uses runtime-endpoint (\(fallback))",
                                       evidence: evidence)
                }
                return CheckResult(id: id, group: .crictl, title: title, status: .warn,
                                   found: "\(key) is not set: crictl tries its default endpoints in turn (deprecated, with a warning on every call)",
                                   evidence: evidence, fix: fix)
            }
            let socket: String
            do {
                socket = try Endpoint.socketPath(value, source: evidence)
            } catch {
                return CheckResult(id: id, group: .crictl, title: title, status: .fail,
                                   found: "\(key) is \(value): \(error.message)", evidence: evidence, fix: fix)
            }
            if resolved(socket) != resolved(live) {
                return CheckResult(id: id, group: .crictl, title: title, status: .fail,
                                   found: "\(key) is \(value) but containerd listens on \(live) (\(ctx.endpoint.source))",
                                   evidence: evidence, fix: fix)
            }
            if !isSocket(socket) {
                return CheckResult(id: id, group: .crictl, title: title, status: .fail,
                                   found: "\(key) is \(value) but \(socket) is not a unix socket (is containerd running?)",
                                   evidence: evidence,
                                   fix: liveIsSocket ? fix : "systemctl start containerd (then `\(fix)` if it listens elsewhere)")
            }
            return CheckResult(id: id, group: .crictl, title: title, status: .pass,
                               found: "\(key) is \(value), the live socket", evidence: evidence)
        }
        return [
            check(titles[0].0, key: titles[0].1, title: titles[0].2, value: config.runtimeEndpoint, fallback: nil),
            check(titles[1].0, key: titles[1].1, title: titles[1].2, value: config.imageEndpoint, fallback: config.runtimeEndpoint),
        ]
    }

    // MARK: - kernel group

    /// Names in `<root>/proc/modules` (first column).
    static func loadedModules(_ paths: VerifyPaths) -> Set<String> {
        guard let text = try? String(contentsOfFile: paths.proc("modules"), encoding: .utf8) else { return [] }
        return Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
    }

    /// Loaded as a module or built in (`/sys/module/<name>` exists).
    static func moduleLoaded(_ name: String, modules: Set<String>, paths: VerifyPaths) -> Bool {
        modules.contains(name) || FileManager.default.fileExists(atPath: paths.sys("module/" + name))
    }

    static func readTrimmed(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// kernel.overlay, kernel.br_netfilter, kernel.ip-forward, kernel.bridge-nf-call-iptables,
    /// kernel.bridge-nf-call-ip6tables, kernel.ipvs, kernel.swap (in that order).
    public static func kernelChecks(_ ctx: VerifyContext) -> [CheckResult] {
        let paths = ctx.paths
        let modules = loadedModules(paths)
        var results: [CheckResult] = []
        let modulesFile = paths.proc("modules")

        // overlay: also fine when the filesystem is registered (built in).
        let filesystems = (try? String(contentsOfFile: paths.proc("filesystems"), encoding: .utf8)) ?? ""
        let overlayFS = filesystems.split(separator: "\n").contains { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).last == "overlay" }
        if moduleLoaded("overlay", modules: modules, paths: paths) || overlayFS {
            results.append(CheckResult(id: "kernel.overlay", group: .kernel, title: "overlay module loaded", status: .pass,
                                       found: overlayFS && !modules.contains("overlay") ? "overlay is registered in /proc/filesystems" : "overlay is loaded",
                                       evidence: modules.contains("overlay") ? "\(modulesFile): overlay" : overlayFS ? "\(paths.proc("filesystems")): overlay" : "\(paths.sys("module/overlay"))"))
        } else {
            results.append(CheckResult(id: "kernel.overlay", group: .kernel, title: "overlay module loaded", status: .warn,
                                       found: "the overlay module is not loaded: the overlayfs snapshotter needs it (the kernel loads it on the first mount only when module autoloading works)",
                                       evidence: "\(modulesFile), \(paths.sys("module/overlay")), \(paths.proc("filesystems"))",
                                       fix: "modprobe overlay && echo overlay > /etc/modules-load.d/containerd.conf"))
        }

        // The net.bridge.bridge-nf-* sysctls exist only while br_netfilter is loaded (also where
        // /proc/modules is not shown, e.g. in a sandboxed kernel).
        let bridgeSysctl = paths.proc("sys/net/bridge/bridge-nf-call-iptables")
        let brBySysctl = FileManager.default.fileExists(atPath: bridgeSysctl)
        if moduleLoaded("br_netfilter", modules: modules, paths: paths) || brBySysctl {
            results.append(CheckResult(id: "kernel.br_netfilter", group: .kernel, title: "br_netfilter module loaded", status: .pass,
                                       found: "br_netfilter is loaded",
                                       evidence: modules.contains("br_netfilter") ? "\(modulesFile): br_netfilter"
                                           : FileManager.default.fileExists(atPath: paths.sys("module/br_netfilter")) ? paths.sys("module/br_netfilter")
                                           : "\(bridgeSysctl) exists"))
        } else {
            results.append(CheckResult(id: "kernel.br_netfilter", group: .kernel, title: "br_netfilter module loaded", status: .fail,
                                       found: "br_netfilter is not loaded: bridged pod traffic bypasses iptables, so Services do not work",
                                       evidence: "\(modulesFile), \(paths.sys("module/br_netfilter"))",
                                       fix: "modprobe br_netfilter && echo br_netfilter >> /etc/modules-load.d/k8s.conf"))
        }

        func sysctl(_ id: String, _ name: String, _ file: String, missing: String, missingFix: String) -> CheckResult {
            let full = paths.proc("sys/" + file)
            let title = "\(name) = 1"
            let persist = "sysctl -w \(name)=1 && echo '\(name) = 1' >> /etc/sysctl.d/99-kubernetes.conf"
            guard let value = readTrimmed(full) else {
                return CheckResult(id: id, group: .kernel, title: title, status: .fail,
                                   found: missing, evidence: full, fix: missingFix)
            }
            if value == "1" {
                return CheckResult(id: id, group: .kernel, title: title, status: .pass,
                                   found: "\(name) = 1", evidence: full)
            }
            return CheckResult(id: id, group: .kernel, title: title, status: .fail,
                               found: "\(name) = \(value): pods \(name.hasPrefix("net.ipv4.ip_forward") ? "cannot reach anything off the node" : "bypass iptables on the bridge, so Service traffic breaks")",
                               evidence: full, fix: persist)
        }
        results.append(sysctl("kernel.ip-forward", "net.ipv4.ip_forward", "net/ipv4/ip_forward",
                              missing: "\(paths.proc("sys/net/ipv4/ip_forward")) cannot be read",
                              missingFix: "sysctl -w net.ipv4.ip_forward=1 && echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.d/99-kubernetes.conf"))
        let brFix = "modprobe br_netfilter && echo br_netfilter >> /etc/modules-load.d/k8s.conf, then sysctl -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 and persist them in /etc/sysctl.d/99-kubernetes.conf"
        results.append(sysctl("kernel.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-iptables", "net/bridge/bridge-nf-call-iptables",
                              missing: "net.bridge.bridge-nf-call-iptables does not exist: br_netfilter not loaded", missingFix: brFix))
        results.append(sysctl("kernel.bridge-nf-call-ip6tables", "net.bridge.bridge-nf-call-ip6tables", "net/bridge/bridge-nf-call-ip6tables",
                              missing: "net.bridge.bridge-nf-call-ip6tables does not exist: br_netfilter not loaded", missingFix: brFix))

        results.append(ipvsCheck(paths, modules: modules))
        results.append(swapCheck(ctx))
        return results
    }

    static func ipvsCheck(_ paths: VerifyPaths, modules: Set<String>) -> CheckResult {
        let id = "kernel.ipvs", title = "IPVS modules for kube-proxy"
        let proxyConfig = paths.root + "/var/lib/kube-proxy/config.conf"
        let (config, error) = loadYAML(path: proxyConfig)
        if let error {
            return CheckResult(id: id, group: .kernel, title: title, status: .skip,
                               found: "\(error): kube-proxy's mode is unknown", evidence: proxyConfig)
        }
        guard let config else {
            return CheckResult(id: id, group: .kernel, title: title, status: .skip,
                               found: "\(proxyConfig) does not exist: kube-proxy's mode is unknown (no IPVS requirement)",
                               evidence: proxyConfig)
        }
        let mode = config["mode"]?.string ?? ""
        guard mode == "ipvs" else {
            return CheckResult(id: id, group: .kernel, title: title, status: .skip,
                               found: "kube-proxy mode is \(mode.isEmpty ? "not set (iptables)" : mode), not ipvs",
                               evidence: "\(proxyConfig): mode")
        }
        var missing: [String] = []
        for name in ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"] where !moduleLoaded(name, modules: modules, paths: paths) {
            missing.append(name)
        }
        if !moduleLoaded("nf_conntrack", modules: modules, paths: paths)
            && !moduleLoaded("nf_conntrack_ipv4", modules: modules, paths: paths) {
            missing.append("nf_conntrack")
        }
        if missing.isEmpty {
            return CheckResult(id: id, group: .kernel, title: title, status: .pass,
                               found: "kube-proxy mode is ipvs and ip_vs, ip_vs_rr, ip_vs_wrr, ip_vs_sh, nf_conntrack are loaded",
                               evidence: "\(proxyConfig): mode, \(paths.proc("modules"))")
        }
        return CheckResult(id: id, group: .kernel, title: title, status: .fail,
                           found: "kube-proxy mode is ipvs but \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not loaded",
                           evidence: "\(proxyConfig): mode, \(paths.proc("modules"))",
                           fix: "for m in \(missing.joined(separator: " ")); do modprobe $m; done && printf '%s\\n' \(missing.joined(separator: " ")) >> /etc/modules-load.d/ipvs.conf")
    }

    static func swapCheck(_ ctx: VerifyContext) -> CheckResult {
        let id = "kernel.swap", title = "swap off (or allowed by the kubelet)"
        let swapsFile = ctx.paths.proc("swaps")
        guard let text = try? String(contentsOfFile: swapsFile, encoding: .utf8) else {
            return CheckResult(id: id, group: .kernel, title: title, status: .skip,
                               found: "\(swapsFile) cannot be read", evidence: swapsFile)
        }
        let devices = text.split(separator: "\n").dropFirst().compactMap { $0.split(whereSeparator: \.isWhitespace).first.map(String.init) }
        let failSwapOnValue = ctx.kubeletConfig?["failSwapOn"]?.bool
        let failSwapOn = failSwapOnValue ?? true
        let kubeletEvidence = ctx.kubeletConfig == nil ? "\(ctx.paths.kubeletConfig) (absent: failSwapOn defaults to true)"
            : failSwapOnValue == nil ? "\(ctx.paths.kubeletConfig): failSwapOn (absent: defaults to true)"
            : "\(ctx.paths.kubeletConfig): failSwapOn"
        if devices.isEmpty {
            return CheckResult(id: id, group: .kernel, title: title, status: .pass,
                               found: "no swap is active", evidence: swapsFile)
        }
        if !failSwapOn {
            return CheckResult(id: id, group: .kernel, title: title, status: .pass,
                               found: "swap is on (\(devices.joined(separator: ", "))) and the kubelet allows it (failSwapOn: false)",
                               evidence: "\(swapsFile), \(kubeletEvidence)")
        }
        return CheckResult(id: id, group: .kernel, title: title, status: .fail,
                           found: "swap is on (\(devices.joined(separator: ", "))) and the kubelet refuses to start with swap (failSwapOn is true)",
                           evidence: "\(swapsFile), \(kubeletEvidence)",
                           fix: "swapoff -a && sed -i '/\\sswap\\s/ s/^#*/#/' /etc/fstab (and mask any swap unit: systemctl mask \(devices.first.map { "$(systemd-escape -p --suffix=swap \($0))" } ?? "<dev>.swap")); or keep swap with `failSwapOn: false` (and memorySwap.swapBehavior) in \(ctx.paths.kubeletConfig)")
    }
}
