import Foundation
import KctrRPC

/// Gathers `VerifyFacts` once, for the groups that will run: the daemon's replies concurrently over the
/// one channel while the files are read, then what depends on those replies (the sandbox image's
/// status, CNI files in CRI's directory, runtime binaries named in CRI's config, containerd's own
/// environment) concurrently again. Nothing here decides pass or fail.
struct VerifyGatherer: Sendable {
    let paths: VerifyPaths
    let endpoint: Endpoint
    let session: Result<Session, KctrError>

    func gather(for groups: Set<VerifyGroup>) async -> VerifyFacts {
        var f = VerifyFacts(paths: paths, endpoint: endpoint)
        let paths = self.paths
        let wantsKubelet = !groups.isDisjoint(with: [.daemon, .cgroup, .pause])
        async let config = ContainerdConfigFile.load(path: paths.containerdConfig)
        async let kubeletConfig = NodeFiles.loadKubeletConfig(path: paths.kubeletConfig)
        async let kubeletVersion = wantsKubelet ? HostProbes.kubeletVersion(root: paths.root) : nil
        async let host = Self.host(paths)
        async let kernel = groups.contains(.kernel) ? Self.kernel(paths) : nil
        async let crictl = groups.contains(.crictl) ? Self.crictl(paths, live: endpoint.path) : nil

        switch session {
        case .failure(let error):
            f.daemon.unreachable = error
        case .success(let s):
            f.daemon = await Self.daemon(s, groups: groups)
        }
        f.config = await config
        (f.kubelet.config, f.kubelet.configError) = await kubeletConfig
        if let v = await kubeletVersion {
            switch v {
            case .success(let release): f.kubelet.version = .known(release)
            case .failure(let why): f.kubelet.version = .unknown(why)
            }
        }
        f.host = await host
        f.kernel = await kernel
        f.crictl = await crictl

        // What needs the first replies.
        guard case .success(let s) = session, f.daemon.reachable else {
            if groups.contains(.kernel) { f.kubeProxy = Self.kubeProxyFromHost(paths) }
            return f
        }
        let facts = f
        async let environment = groups.contains(.daemon) ? Self.environment(facts) : nil
        // config.drift compares 2.x's sandbox image through its pin.
        async let pause = !groups.isDisjoint(with: [.pause, .config]) ? Self.pause(s, facts) : nil
        async let cni = groups.contains(.cri) ? Self.cni(facts) : nil
        async let filesystem = groups.contains(.snapshotter) ? Self.filesystem(facts) : nil
        async let binaries = groups.contains(.runtimes) ? Self.runtimeBinaries(facts) : nil
        async let kubeProxy = groups.contains(.kernel) ? Self.kubeProxy(s, paths) : nil
        if let e = await environment { f.daemon.environment = e }
        f.pause = await pause
        f.cni = await cni
        f.filesystem = await filesystem
        f.runtimeBinaries = await binaries
        if let k = await kubeProxy { f.kubeProxy = k }
        return f
    }

    private static func fact<T: Sendable>(_ s: Session, doing what: String, _ call: () async throws -> T) async -> Fact<T> {
        do {
            return .known(try await call())
        } catch {
            let explained = s.explain(error, doing: what)
            return .unknown((explained as? KctrError) ?? KctrError("\(explained)"))
        }
    }

    // MARK: - The daemon

    /// Version, plugins, Introspection.Server, CRI's Version, Status (verbose), RuntimeConfig and
    /// ImageFsInfo, at once over the session's one channel.
    static func daemon(_ s: Session, groups: Set<VerifyGroup>) async -> DaemonFacts {
        async let version = fact(s, doing: "asking containerd for its version") { try await s.store.version() }
        async let plugins = fact(s, doing: "listing containerd's plugins") { try await s.store.plugins().map(PluginStatus.init).sorted() }
        async let server = fact(s, doing: "asking containerd about itself (Introspection.Server)") { try await s.store.server() }
        async let criVersion = fact(s, doing: "CRI Version") { try await s.cri.version() }
        async let criStatus = fact(s, doing: "reading the CRI runtime status") { try await s.cri.status(verbose: true) }
        async let cgroupDriver = groups.contains(.cgroup)
            ? fact(s, doing: "asking CRI for its cgroup driver (RuntimeConfig)") { try await s.cri.cgroupDriver() } : Fact<String?>.notGathered
        async let imageFS = fact(s, doing: "asking CRI where images are stored (ImageFsInfo)") { try await s.cri.imageFsMountpoints() }

        var d = DaemonFacts()
        switch await version {
        case .known(let v):
            d.version = v
            d.unreachable = nil
        case .unknown(let why):
            d.unreachable = why
        }
        d.plugins = await plugins
        d.server = await server
        d.criVersion = await criVersion
        d.criStatus = await criStatus
        d.cgroupDriver = await cgroupDriver
        d.imageFilesystems = await imageFS
        return d
    }

    /// containerd's environment through /proc, its PID from Introspection.Server (1.7 and later), else
    /// the process that listens on the socket.
    static func environment(_ f: VerifyFacts) -> Fact<DaemonEnvironment> {
        let reported = f.daemon.server.value?.pid ?? 0
        guard let pid = reported > 0 ? reported : HostProbes.socketOwner(f.endpoint.path, paths: f.paths) else {
            return .unknown(KctrError("containerd \(f.daemon.version?.version ?? "") does not report its PID (Introspection.Server), and no process here listens on \(f.endpoint.path)"))
        }
        let helpers = f.release?.gzipHelpers ?? ["unpigz"]
        switch HostProbes.daemonEnvironment(pid: pid, paths: f.paths, helpers: helpers) {
        case .success(let e): return .known(e)
        case .failure(let why): return .unknown(why)
        }
    }

    // MARK: - The host

    static func host(_ paths: VerifyPaths) -> HostFacts {
        var h = HostFacts()
        h.pid1IsSystemd = HostProbes.pid1IsSystemd(root: paths.root)
        h.cgroupMode = HostProbes.cgroupMode(paths)
        h.filesystems = try? String(contentsOfFile: paths.proc("filesystems"), encoding: .utf8)
        return h
    }

    /// The modules, sysctls and swap areas the kernel group reads.
    static func kernel(_ paths: VerifyPaths) -> KernelFacts {
        let text = (try? String(contentsOfFile: paths.proc("modules"), encoding: .utf8)) ?? ""
        let modules = Set(text.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        let asked = ["overlay", "br_netfilter"] + KernelGroup.ipvsModules + ["nf_conntrack", "nf_conntrack_ipv4"]
        let sys = Set(asked.filter { FileManager.default.fileExists(atPath: paths.sys("module/" + $0)) })
        var sysctls: [String: String] = [:]
        for key in KernelGroup.sysctlFiles {
            if let v = try? String(contentsOfFile: paths.proc("sys/" + key), encoding: .utf8) {
                sysctls[key] = v.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return KernelFacts(modules: modules, sysModules: sys, sysctls: sysctls,
                           swaps: try? String(contentsOfFile: paths.proc("swaps"), encoding: .utf8))
    }

    /// crictl.yaml parsed, and which of the sockets it names (and the live one) are sockets.
    static func crictl(_ paths: VerifyPaths, live: String) -> CrictlFacts {
        let path = paths.crictlConfig
        guard FileManager.default.fileExists(atPath: path) else {
            return CrictlFacts(config: nil, sockets: [:], resolved: [:])
        }
        let config: Result<CrictlConfig, KctrError>
        do throws(KctrError) {
            guard let text = try SmallFile.text(path) else { throw KctrError("cannot read \(path): it is gone") }
            config = .success(try CrictlConfig.parse(text, path: path))
        } catch {
            config = .failure(error)
        }
        var candidates = [live]
        if case .success(let c) = config {
            for value in [c.runtimeEndpoint, c.imageEndpoint].compactMap({ $0 }) {
                if let socket = try? Endpoint.socketPath(value, source: path) { candidates.append(socket) }
            }
        }
        var sockets: [String: Bool] = [:], resolved: [String: String] = [:]
        for c in candidates {
            sockets[c] = HostProbes.isSocket(c)
            resolved[c] = HostProbes.resolved(c)
        }
        return CrictlFacts(config: config, sockets: sockets, resolved: resolved)
    }

    // MARK: - What depends on the daemon's replies

    /// The sandbox image: CRI's ImageStatus, the k8s.io record resolved to its snapshot, and the running
    /// sandboxes with the image each runs.
    static func pause(_ s: Session, _ f: VerifyFacts) async -> PauseFacts? {
        guard f.daemon.running != nil, let image = f.sandboxImage, !image.name.isEmpty else { return nil }
        let snapshotter = f.criSnapshotter.name
        let normalized = ImageReference.parse(image.name)?.description ?? image.name
        let k8s = s.store.namespacedStore("k8s.io")
        async let criImage = fact(s, doing: "CRI ImageStatus of \(image.name)") { try await s.cri.imageStatus(image.name) }
        async let record = fact(s, doing: "looking up \(normalized) in k8s.io") { try await k8s.image(named: normalized) }
        async let sandboxes = runningSandboxes(s)
        let r = await record
        var resolved: ImageCatalog.Resolved?
        if case .known(let rec?) = r { resolved = await ImageCatalog(session: s).resolve(rec.target, snapshotter: snapshotter) }
        return PauseFacts(image: image, criImage: await criImage, record: r, resolved: resolved, sandboxes: await sandboxes)
    }

    /// The ready sandboxes with the image each runs (the verbose info's "image", 1.6/1.7; "sandboxImage" on some).
    static func runningSandboxes(_ s: Session) async -> Fact<[RunningSandbox]> {
        let ready: [SandboxSummary]
        switch await fact(s, doing: "listing sandboxes", { try await s.cri.listPodSandboxes() }) {
        case .known(let all): ready = all.filter { $0.state == "Ready" }
        case .unknown(let why): return .unknown(why)
        }
        let cri = s.cri
        let items = await withTaskGroup(of: RunningSandbox.self) { group in
            for sandbox in ready {
                group.addTask {
                    var image: String?
                    if let st = try? await cri.podSandboxStatus(id: sandbox.id, verbose: true), let info = st.info["info"] {
                        let json = JSONValue.parse(info)
                        image = json["image"]?.string ?? json["sandboxImage"]?.string
                        if image?.isEmpty == true { image = nil }
                    }
                    return RunningSandbox(name: sandbox.name, namespace: sandbox.namespace, image: image)
                }
            }
            var out: [RunningSandbox] = []
            for await item in group { out.append(item) }
            return out
        }
        return .known(items.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) })
    }

    /// CRI's CNI directories as it runs with them, their config files, and which plugin types have binaries.
    static func cni(_ f: VerifyFacts) -> CNIFacts? {
        guard let running = f.daemon.running else { return nil }
        let confDir = running.cniConfDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/etc/cni/net.d"
        let binDirs = running.cniBinDirs.isEmpty ? ["/opt/cni/bin"] : running.cniBinDirs
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: confDir).sorted()
        } catch {
            return CNIFacts(confDir: confDir, binDirs: binDirs, files: .unknown(KctrError("\(error.localizedDescription)")),
                            confDirExists: FileManager.default.fileExists(atPath: confDir), binaries: [:])
        }
        let files = names.filter { $0.hasSuffix(".conf") || $0.hasSuffix(".conflist") || $0.hasSuffix(".json") }
            .map { NodeFiles.readCNI(confDir + "/" + $0, name: $0) }
        var binaries: [String: Bool] = [:]
        for file in files where file.error == nil {
            for type in file.types where binaries[type] == nil {
                binaries[type] = binDirs.contains { FileManager.default.isExecutableFile(atPath: $0 + "/" + type) }
            }
        }
        return CNIFacts(confDir: confDir, binDirs: binDirs, files: .known(files), confDirExists: true, binaries: binaries)
    }

    /// The filesystem under the CRI snapshotter's directory (overlayfs only), and xfs's ftype.
    static func filesystem(_ f: VerifyFacts, mountinfo: String = "/proc/self/mountinfo") -> FilesystemFacts? {
        let snapshotter = f.criSnapshotter.name
        guard snapshotter == "overlayfs" else { return nil }
        var candidates: [String] = []
        if let fromImageFS = f.daemon.imageFilesystems.value?.first(where: { $0.hasSuffix("/io.containerd.snapshotter.v1.overlayfs") }) {
            candidates.append(fromImageFS)
        }
        let root: String?
        if let r = f.daemon.running?.containerdRootDir, !r.isEmpty {
            root = r
        } else if let cri = f.daemon.running?.rootDir, !cri.isEmpty {
            root = URL(fileURLWithPath: cri).deletingLastPathComponent().path
        } else {
            root = nil
        }
        if let root { candidates += [root + "/io.containerd.snapshotter.v1.overlayfs", root] }
        guard !candidates.isEmpty else {
            return FilesystemFacts(directory: nil, note: "containerd's root dir unknown (filesystem not checked)")
        }
        guard let dir = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }),
              let mount = HostProbes.mount(dir, mountinfo: mountinfo) else {
            return FilesystemFacts(directory: nil, note: "\(root ?? candidates[0]) is not visible here (filesystem not checked)")
        }
        var facts = FilesystemFacts(directory: dir, type: mount.type, mountPoint: mount.point)
        if mount.type == "xfs" {
            guard let xfsInfo = HostProbes.findExecutable("xfs_info", root: "") else {
                facts.xfsFtype = .unknown(KctrError("xfs_info not found"))
                return facts
            }
            let r = HostProbes.run(xfsInfo, [mount.point])
            if case .refused(let why) = r.outcome {
                facts.xfsFtype = .unknown(KctrError("kctr does not run \(xfsInfo): \(why)"))
            } else {
                facts.xfsFtype = .known(r.output.contains("ftype=1") ? 1 : r.output.contains("ftype=0") ? 0 : nil)
            }
        }
        return facts
    }

    /// Each runtime's shim and (runc-like runtimes) binary: found, and run with --version when the
    /// socket that named them is root's and the binary is not the host's under --root.
    static func runtimeBinaries(_ f: VerifyFacts) -> RuntimeBinaryFacts? {
        guard let running = f.daemon.running else { return nil }
        if let why = HostProbes.untrusted(f.endpoint.path, kind: .socket) {
            return RuntimeBinaryFacts(socketUntrusted: why, runtimes: [])
        }
        let root = f.paths.root
        var probes: [RuntimeBinaryFacts.Probe] = []
        for r in running.runtimes {
            var p = RuntimeBinaryFacts.Probe(runtime: r.name, runtimeType: r.runtimeType)
            if let shim = RuntimesGroup.shimBinary(r.runtimeType) {
                p.shim = (shim, HostProbes.findExecutable(shim, root: root))
            }
            if RuntimesGroup.isRuncLike(r.runtimeType) {
                p.binaryName = r.binaryName.flatMap { $0.isEmpty ? nil : $0 }
                let name = p.binaryName ?? "runc"
                let path = HostProbes.findExecutable(name, root: root)
                p.binary = (name, path)
                if let path, root.isEmpty || !path.hasPrefix(root + "/") {
                    p.run = HostProbes.run(path, ["--version"])
                }
            }
            probes.append(p)
        }
        return RuntimeBinaryFacts(socketUntrusted: nil, runtimes: probes)
    }

    // MARK: - kube-proxy

    /// kube-proxy's mode as the running kube-proxy container has it (through CRI: its arguments, or the
    /// config file they name, read through the container's root /proc/PID/root); without one, the
    /// host's /var/lib/kube-proxy/config.conf.
    static func kubeProxy(_ s: Session, _ paths: VerifyPaths) async -> Fact<KubeProxyMode> {
        let containers: [ContainerSummary]
        do {
            containers = try await s.cri.listContainers()
        } catch {
            return kubeProxyFromHost(paths)
        }
        guard let proxy = containers.first(where: {
            $0.state == "Running" && ($0.name == "kube-proxy" || $0.labels["io.kubernetes.container.name"] == "kube-proxy")
        }) else {
            return kubeProxyFromHost(paths)
        }
        let status: ContainerStatusReport
        do {
            status = try await s.cri.containerStatus(id: proxy.id, verbose: true)
        } catch {
            return .unknown(KctrError("cannot read the status of the kube-proxy container \(proxy.id.prefix(13)): \(s.explain(error, doing: "ContainerStatus"))"))
        }
        let info = JSONValue.parse(status.info["info"] ?? "")
        let args = stringArray(info["runtimeSpec"]?["process"]?["args"])
        let pid = info["pid"].flatMap { v -> Int? in if case .number(let n) = v { return Int(n) } else { return nil } }
        return KubeProxyArguments.mode(args: args, container: String(proxy.id.prefix(13)), pid: pid, paths: paths)
    }

    static func kubeProxyFromHost(_ paths: VerifyPaths) -> Fact<KubeProxyMode> {
        let file = paths.root + "/var/lib/kube-proxy/config.conf"
        let (config, error) = NodeFiles.loadYAML(path: file)
        if let error { return .unknown(KctrError(error)) }
        guard let config else {
            return .unknown(KctrError("no running kube-proxy container and no \(file): kube-proxy's mode is unknown (no IPVS requirement)"))
        }
        return .known(KubeProxyMode(mode: config["mode"]?.string ?? "", evidence: "\(file): mode"))
    }

    static func stringArray(_ value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap(\.string)
    }
}

/// kube-proxy's command line: `--proxy-mode` wins; else the file `--config` names, read inside the
/// container through /proc/PID/root.
enum KubeProxyArguments {
    static func value(_ flag: String, in args: [String]) -> String? {
        for (i, a) in args.enumerated() {
            if a.hasPrefix(flag + "=") { return String(a.dropFirst(flag.count + 1)) }
            if a == flag, i + 1 < args.count { return args[i + 1] }
        }
        return nil
    }

    static func mode(args: [String], container: String, pid: Int?, paths: VerifyPaths) -> Fact<KubeProxyMode> {
        let whose = "the kube-proxy container \(container)"
        if let mode = value("--proxy-mode", in: args) {
            return .known(KubeProxyMode(mode: mode, evidence: "\(whose): argument --proxy-mode=\(mode)"))
        }
        guard let config = value("--config", in: args) else {
            return .known(KubeProxyMode(mode: "", evidence: "\(whose): arguments \(args.joined(separator: " ")) (no --proxy-mode, no --config)"))
        }
        guard let pid, pid > 0 else {
            return .unknown(KctrError("\(whose) reads \(config), but the runtime does not report its PID"))
        }
        let root = paths.proc("\(pid)/root")
        guard let file = HostProbes.insideContainer(root: root, path: config) else {
            return .unknown(KctrError("\(whose) names --config \(config), which leads out of the container (an absolute symlink or ..): not read"))
        }
        let (doc, error) = NodeFiles.loadYAML(path: file)
        if let error { return .unknown(KctrError("\(whose): \(error)")) }
        guard let doc else { return .unknown(KctrError("\(whose) names --config \(config), but \(file) does not exist")) }
        return .known(KubeProxyMode(mode: doc["mode"]?.string ?? "", evidence: "\(whose): --config \(config) (\(file)): mode"))
    }
}
