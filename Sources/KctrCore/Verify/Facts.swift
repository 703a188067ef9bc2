import Foundation
import KctrRPC

/// A fact verify-runtime learnt, or why it could not.
enum Fact<Value: Sendable>: Sendable {
    case known(Value)
    case unknown(KctrError)

    var value: Value? {
        if case .known(let v) = self { return v }
        return nil
    }

    var problem: KctrError? {
        if case .unknown(let e) = self { return e }
        return nil
    }

    /// A fact the gatherer was not asked for (its group did not run), or a test left out.
    static var notGathered: Fact { .unknown(KctrError("not gathered")) }
}

extension Fact: Equatable where Value: Equatable {}

/// Everything the checks look at, gathered once (`VerifyGatherer`) before any check runs: the daemon's
/// replies fetched concurrently, the files read, the host probed. Each group of checks is a pure function
/// of this value (no RPC, no file, no process in a check), so every check is tested with facts built by
/// hand. The facts of one group only (CNI files, runtime binaries, ...) are gathered when that group runs.
struct VerifyFacts: Sendable {
    var paths: VerifyPaths
    var endpoint: Endpoint
    var daemon = DaemonFacts()
    /// config.toml with its imports (`ContainerdConfigFile.load`).
    var config: ContainerdConfigFile
    var kubelet = KubeletFacts()
    var host = HostFacts()

    var cni: CNIFacts?
    var filesystem: FilesystemFacts?
    var pause: PauseFacts?
    var runtimeBinaries: RuntimeBinaryFacts?
    var crictl: CrictlFacts?
    var kernel: KernelFacts?
    var kubeProxy: Fact<KubeProxyMode> = .notGathered

    init(paths: VerifyPaths, endpoint: Endpoint) {
        self.paths = paths
        self.endpoint = endpoint
        self.config = ContainerdConfigFile(path: paths.containerdConfig)
    }

    /// The daemon's release, when it answered with a version kctr can read.
    var release: ContainerdRelease? { daemon.release }

    /// The layout of config.toml's own version (nil when the file is missing, does not parse, or has a
    /// version containerd does not know).
    var fileLayout: ConfigLayout? {
        guard let doc = config.merged, let v = ContainerdConfigFile.formatVersion(doc) else { return nil }
        return ConfigLayout.of(version: v)
    }

    /// The layout fixes name tables in: the file's own version; without a readable file, the version the
    /// daemon writes; without either, version 2.
    var layout: ConfigLayout { fileLayout ?? release?.layout ?? .v2 }
}

/// The daemon's answers. Everything but `version` is `.unknown` when the daemon did not answer.
struct DaemonFacts: Sendable {
    /// nil once containerd answered Version; else why it could not be reached.
    var unreachable: KctrError? = KctrError("containerd did not answer")
    var version: DaemonVersion?
    var plugins: Fact<[PluginStatus]> = .notGathered
    var server: Fact<ServerInfo> = .notGathered
    var criVersion: Fact<CRIVersion> = .notGathered
    var criStatus: Fact<CRIStatus> = .notGathered {
        didSet { running = criStatus.value.map(RuntimeConfigView.init(status:)) }
    }
    /// RuntimeConfig's cgroup driver ("systemd", "cgroupfs"); `.known(nil)` where the runtime does not
    /// implement RuntimeConfig (containerd before 2.0).
    var cgroupDriver: Fact<String?> = .notGathered
    /// ImageFsInfo's mount points (the snapshotter's directory under containerd's root).
    var imageFilesystems: Fact<[String]> = .notGathered
    /// The daemon's process environment (/proc/PID/environ, PID from Introspection.Server).
    var environment: Fact<DaemonEnvironment> = .notGathered
    /// The CRI plugin's configuration as CRI's verbose status reports it (nil when CRI did not answer).
    private(set) var running: RuntimeConfigView?

    init() {}

    var reachable: Bool { version != nil }
    var release: ContainerdRelease? { version?.release }
    var pluginList: [PluginStatus] { plugins.value ?? [] }
}

/// containerd's process environment: what it runs helpers with.
struct DaemonEnvironment: Sendable, Equatable {
    var pid: UInt64
    /// `PATH` split, absolute entries only; nil when the daemon has no PATH set.
    var path: [String]?
    /// `CONTAINERD_DISABLE_PIGZ`, when set.
    var disablePigz: String?
    /// Each gzip helper of the daemon's release found on that PATH, with where (under `--root`).
    var helpers: [String: String]

    init(pid: UInt64, path: [String]?, disablePigz: String?, helpers: [String: String]) {
        self.pid = pid
        self.path = path
        self.disablePigz = disablePigz
        self.helpers = helpers
    }
}

/// The kubelet: its config file and its binary's version.
struct KubeletFacts: Sendable {
    /// config.yaml parsed; nil when absent or unreadable (`configError` says which).
    var config: JSONValue?
    var configError: String?
    /// `kubelet --version`; unknown (with the reason) when no kubelet is on PATH or it cannot be run.
    var version: Fact<KubeletRelease> = .notGathered

    init() {}
}

/// A kubelet release, and what the checks expect of it.
struct KubeletRelease: Sendable, Equatable, CustomStringConvertible {
    var minor: Int
    var text: String

    /// "Kubernetes v1.33.2" (what `kubelet --version` prints).
    init?(versionOutput: String) {
        guard let word = versionOutput.split(whereSeparator: \.isWhitespace).first(where: { $0.hasPrefix("v1.") || $0.hasPrefix("1.") }) else { return nil }
        let text = word.hasPrefix("v") ? String(word.dropFirst()) : String(word)
        let parts = text.split(separator: ".")
        guard parts.count >= 2, parts[0] == "1", let minor = Int(parts[1].prefix { $0.isNumber }) else { return nil }
        self.minor = minor
        self.text = text
    }

    init(minor: Int) {
        self.minor = minor
        self.text = "1.\(minor).0"
    }

    var description: String { text }

    /// From 1.34 the kubelet takes the cgroup driver from the runtime when it answers RuntimeConfig.
    var takesCgroupDriverFromRuntime: Bool { minor >= 34 }

    /// The oldest containerd this kubelet supports (1.36 and newer: 2.2).
    var oldestContainerd: ContainerdRelease? { minor >= 36 ? ContainerdRelease(2, 2) : nil }

    /// The pause version kubeadm of this release installs (its `PauseVersion`), for 1.24 and newer.
    var expectedPause: String? {
        let table: [(Int, String)] = [(24, "3.7"), (25, "3.8"), (26, "3.9"), (31, "3.10"), (34, "3.10.1")]
        return table.last { $0.0 <= minor }?.1
    }
}

/// The host around the daemon.
struct HostFacts: Sendable {
    var pid1IsSystemd = false
    var cgroupMode: CgroupMode = .unknown
    /// `<root>/proc/filesystems`; nil when it cannot be read.
    var filesystems: String?

    init() {}

    /// The kernel lists `overlay` (nil when /proc/filesystems could not be read).
    var kernelHasOverlay: Bool? {
        filesystems.map { text in
            text.split(separator: "\n").contains { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).last == "overlay" }
        }
    }
}

/// How the host mounts cgroups.
enum CgroupMode: Sendable, Equatable {
    /// The unified hierarchy at /sys/fs/cgroup.
    case v2
    /// Controllers mounted one by one (with `hybrid`, a cgroup2 at /sys/fs/cgroup/unified beside them).
    case v1(hybrid: Bool)
    case unknown
}

/// The CNI directories CRI runs with and what is in them.
struct CNIFacts: Sendable {
    var confDir: String
    var binDirs: [String]
    /// The config files (.conf, .conflist, .json) by name; unknown when the directory cannot be listed.
    var files: Fact<[CNIFile]>
    /// Whether the directory exists (when it cannot be listed).
    var confDirExists: Bool
    /// Each plugin type the valid files name, with whether an executable of that name is in a bin dir.
    var binaries: [String: Bool]

    init(confDir: String, binDirs: [String], files: Fact<[CNIFile]>, confDirExists: Bool, binaries: [String: Bool]) {
        self.confDir = confDir
        self.binDirs = binDirs
        self.files = files
        self.confDirExists = confDirExists
        self.binaries = binaries
    }
}

struct CNIFile: Sendable, Equatable {
    var name: String
    var network: String?
    var types: [String]
    var error: String?

    init(name: String, network: String? = nil, types: [String], error: String? = nil) {
        self.name = name
        self.network = network
        self.types = types
        self.error = error
    }
}

/// The filesystem under containerd's snapshotter directory.
struct FilesystemFacts: Sendable, Equatable {
    /// The snapshotter's directory (or containerd's root when that does not exist); nil when unknown.
    var directory: String?
    /// Why the directory is unknown or not visible.
    var note: String?
    var type: String?
    var mountPoint: String?
    /// `xfs_info` on an xfs mount point: the ftype it reports, or why it was not run.
    var xfsFtype: Fact<Int?>

    init(directory: String?, note: String? = nil, type: String? = nil, mountPoint: String? = nil, xfsFtype: Fact<Int?> = .notGathered) {
        self.directory = directory
        self.note = note
        self.type = type
        self.mountPoint = mountPoint
        self.xfsFtype = xfsFtype
    }
}

/// The sandbox image and what the daemon says about it.
struct PauseFacts: Sendable {
    var image: SandboxImage
    /// CRI ImageStatus: nil when CRI does not know the image.
    var criImage: Fact<CRIImage?>
    /// The image record in k8s.io: nil when there is none.
    var record: Fact<ImageRecord?>
    /// The record resolved down to its snapshot (nil without a record).
    var resolved: ImageCatalog.Resolved?
    var sandboxes: Fact<[RunningSandbox]>

    init(image: SandboxImage, criImage: Fact<CRIImage?>, record: Fact<ImageRecord?>,
                resolved: ImageCatalog.Resolved?, sandboxes: Fact<[RunningSandbox]>) {
        self.image = image
        self.criImage = criImage
        self.record = record
        self.resolved = resolved
        self.sandboxes = sandboxes
    }
}

/// The sandbox image containerd uses, and who said so.
struct SandboxImage: Sendable, Equatable {
    enum Source: Sendable, Equatable {
        /// The CRI status (containerd 1.x).
        case daemon
        /// config.toml (containerd 2.x does not report it): the file and key.
        case file(String)
        /// The release's default (2.x, nothing configured).
        case releaseDefault(ContainerdRelease)
    }

    var name: String
    var source: Source

    init(name: String, source: Source) {
        self.name = name
        self.source = source
    }
}

/// A ready sandbox and the image it runs (nil when the runtime does not say).
struct RunningSandbox: Sendable, Equatable {
    var name: String
    var namespace: String
    var image: String?

    init(name: String, namespace: String, image: String?) {
        self.name = name
        self.namespace = namespace
        self.image = image
    }
}

/// What kctr found out about each runtime's binaries. The daemon's reply names them, and kctr runs
/// them as root only when the socket that sent the reply is root's (`socketUntrusted` nil).
struct RuntimeBinaryFacts: Sendable {
    var socketUntrusted: HostProbes.Untrusted?
    var runtimes: [Probe]

    struct Probe: Sendable {
        var runtime: String
        var runtimeType: String
        /// The shim containerd starts for the type, and where it is (nil: not found).
        var shim: (name: String, path: String?)?
        /// runc-like runtimes: `options.BinaryName` (nil: unset) and the binary looked up.
        var binaryName: String?
        var binary: (name: String, path: String?)?
        /// `<binary> --version`, when run; nil when not run (not found, or the host's under --root).
        var run: HostProbes.Run?
    }

    init(socketUntrusted: HostProbes.Untrusted?, runtimes: [Probe]) {
        self.socketUntrusted = socketUntrusted
        self.runtimes = runtimes
    }
}

/// /etc/crictl.yaml and whether the sockets it names are sockets.
struct CrictlFacts: Sendable {
    /// nil when the file does not exist.
    var config: Result<CrictlConfig, KctrError>?
    /// Every socket path the checks test (the live one and the configured ones), resolved.
    var sockets: [String: Bool]
    /// Symlinks resolved: `resolved[path]`.
    var resolved: [String: String]

    init(config: Result<CrictlConfig, KctrError>?, sockets: [String: Bool], resolved: [String: String]) {
        self.config = config
        self.sockets = sockets
        self.resolved = resolved
    }
}

/// What the kernel group reads from /proc and /sys.
struct KernelFacts: Sendable, Equatable {
    /// First column of /proc/modules.
    var modules: Set<String>
    /// Module names that have a /sys/module/<name> directory (built in or loaded), among those asked.
    var sysModules: Set<String>
    /// /proc/sys values by path below /proc/sys ("net/ipv4/ip_forward"); absent when unreadable.
    var sysctls: [String: String]
    /// /proc/swaps; nil when unreadable.
    var swaps: String?

    init(modules: Set<String>, sysModules: Set<String>, sysctls: [String: String], swaps: String?) {
        self.modules = modules
        self.sysModules = sysModules
        self.sysctls = sysctls
        self.swaps = swaps
    }

    func loaded(_ module: String) -> Bool { modules.contains(module) || sysModules.contains(module) }
}

/// kube-proxy's mode and where it was read.
struct KubeProxyMode: Sendable, Equatable {
    /// "ipvs", "iptables", "nftables"; "" when the config sets none (iptables).
    var mode: String
    /// The container's arguments or config file, or the host file.
    var evidence: String

    init(mode: String, evidence: String) {
        self.mode = mode
        self.evidence = evidence
    }
}

// MARK: - What several groups derive from the facts

extension VerifyFacts {
    /// The sandbox image containerd uses: the CRI status says (1.x); 2.x does not report it, so
    /// config.toml's key for it (of the file's own version), else the release's default.
    var sandboxImage: SandboxImage? {
        if let name = daemon.running?.sandboxImage, !name.isEmpty { return SandboxImage(name: name, source: .daemon) }
        guard let release, !release.reportsImageConfig else { return nil }
        if let layout = fileLayout, let name = config.value(at: layout.path(.sandboxImage))?.string, !name.isEmpty {
            let key = layout.path(.sandboxImage)
            return SandboxImage(name: name, source: .file("\(config.source(of: key)): \(layout.toml(key))"))
        }
        return release.defaultSandboxImage.map { SandboxImage(name: $0, source: .releaseDefault(release)) }
    }

    /// The snapshotter CRI uses, and where that was read: the CRI status (1.x); else ImageFsInfo's mount
    /// point (`<root>/io.containerd.snapshotter.v1.<name>`, what 2.x answers); else config.toml; else overlayfs.
    var criSnapshotter: (name: String, source: String) {
        if let name = daemon.running?.snapshotter, !name.isEmpty {
            return (name, "runtime.v1.RuntimeService/Status verbose: config.containerd.snapshotter = \(name)")
        }
        if let names = imageFilesystemSnapshotters, let name = names.first {
            return (name, "runtime.v1.ImageService/ImageFsInfo: image_filesystems[].fs_id.mountpoint = \(imageFilesystems.joined(separator: ", "))")
        }
        if let layout = fileLayout, let name = config.value(at: layout.path(.snapshotter))?.string, !name.isEmpty {
            return (name, "\(config.source(of: layout.path(.snapshotter))): \(layout.toml(layout.path(.snapshotter))) (containerd does not report it)")
        }
        return ("overlayfs", "containerd's default snapshotter (neither the daemon nor \(config.path) names one)")
    }

    private var imageFilesystems: [String] { daemon.imageFilesystems.value ?? [] }

    /// The snapshotters ImageFsInfo's mount points name; nil when it did not answer or named none.
    var imageFilesystemSnapshotters: [String]? {
        let names = RuntimeConfigView.snapshotters(imageFsMountpoints: imageFilesystems)
        return names.isEmpty ? nil : names
    }

    /// The kubelet's cgroup driver and where it came from; nil when there is no kubelet config. An
    /// absent `cgroupDriver` is the KubeletConfiguration default, cgroupfs (kubeadm 1.22+ writes systemd).
    var kubeletCgroupDriver: (driver: String, source: String)? {
        guard let config = kubelet.config else { return nil }
        if let driver = config["cgroupDriver"]?.string, !driver.isEmpty {
            return (driver, "\(paths.kubeletConfig): cgroupDriver")
        }
        return ("cgroupfs", "\(paths.kubeletConfig): cgroupDriver not set (the kubelet's default is cgroupfs; kubeadm 1.22+ writes systemd)")
    }
}
