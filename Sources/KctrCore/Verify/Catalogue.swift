/// Every check of `kctr verify-runtime`, declared once: its id, its group and its title. `--check`
/// validation, `--list`, the README's table and every outcome read this one table; a group builds its
/// results from these cases (`Check.daemonSocket.pass(...)`) and never spells an id or a title.
/// Ids are stable: scripts select and parse them. Within a group, checks run and print in this order.
public enum Check: String, CaseIterable, Sendable {
    case daemonSocket = "daemon.socket"
    case daemonVersion = "daemon.version"
    case daemonCRIPlugin = "daemon.cri-plugin"
    case daemonCRIServing = "daemon.cri-serving"
    case daemonDeprecations = "daemon.deprecations"
    case daemonKubeletSkew = "daemon.kubelet-skew"
    case daemonDecompression = "daemon.decompression"

    case criRuntimeReady = "cri.runtime-ready"
    case criNetworkReady = "cri.network-ready"
    case criCNIConfig = "cri.cni-config"
    case criCNIBinaries = "cri.cni-binaries"

    case cgroupDriverMatch = "cgroup.driver-match"
    case cgroupDriverSource = "cgroup.driver-source"
    case cgroupV1 = "cgroup.v1"

    case snapshotterPlugin = "snapshotter.plugin"
    case snapshotterFilesystem = "snapshotter.filesystem"

    case pausePresent = "pause.present"
    case pauseUnpacked = "pause.unpacked"
    case pausePinned = "pause.pinned"
    case pauseInUse = "pause.in-use"
    case pauseVersion = "pause.version"

    case configParse = "config.parse"
    case configVersion = "config.version"
    case configDisabledPlugins = "config.disabled-plugins"
    case configSystemdCgroupPlacement = "config.systemd-cgroup-placement"
    case configUnknownKeys = "config.unknown-keys"
    case configDrift = "config.drift"

    case runtimesDefault = "runtimes.default"
    case runtimesType = "runtimes.type"
    case runtimesBinary = "runtimes.binary"

    case crictlRuntimeEndpoint = "crictl.runtime-endpoint"
    case crictlImageEndpoint = "crictl.image-endpoint"

    case kernelOverlay = "kernel.overlay"
    case kernelBrNetfilter = "kernel.br_netfilter"
    case kernelIPForward = "kernel.ip-forward"
    case kernelBridgeNFCallIptables = "kernel.bridge-nf-call-iptables"
    case kernelBridgeNFCallIp6tables = "kernel.bridge-nf-call-ip6tables"
    case kernelIPVS = "kernel.ipvs"
    case kernelSwap = "kernel.swap"

    /// The table: group and title of each check.
    private var entry: (group: VerifyGroup, title: String) {
        switch self {
        case .daemonSocket: (.daemon, "containerd socket answers")
        case .daemonVersion: (.daemon, "containerd version")
        case .daemonCRIPlugin: (.daemon, "CRI plugin loaded")
        case .daemonCRIServing: (.daemon, "CRI answers")
        case .daemonDeprecations: (.daemon, "no deprecated features in use (containerd's own report)")
        case .daemonKubeletSkew: (.daemon, "containerd is new enough for the kubelet")
        case .daemonDecompression: (.daemon, "layers decompress in parallel (igzip or unpigz on containerd's PATH)")

        case .criRuntimeReady: (.cri, "RuntimeReady")
        case .criNetworkReady: (.cri, "NetworkReady")
        case .criCNIConfig: (.cri, "CNI network config")
        case .criCNIBinaries: (.cri, "CNI plugin binaries")

        case .cgroupDriverMatch: (.cgroup, "cgroup driver: containerd, kubelet, PID 1")
        case .cgroupDriverSource: (.cgroup, "which side sets the kubelet's cgroup driver")
        case .cgroupV1: (.cgroup, "cgroup v1 is not in the way")

        case .snapshotterPlugin: (.snapshotter, "snapshotter plugin loaded")
        case .snapshotterFilesystem: (.snapshotter, "filesystem supports the snapshotter")

        case .pausePresent: (.pause, "sandbox image present")
        case .pauseUnpacked: (.pause, "sandbox image unpacked")
        case .pausePinned: (.pause, "sandbox image pinned")
        case .pauseInUse: (.pause, "sandboxes use the sandbox image")
        case .pauseVersion: (.pause, "sandbox image is current")

        case .configParse: (.config, "config.toml parses")
        case .configVersion: (.config, "config.toml format version")
        case .configDisabledPlugins: (.config, "CRI is not disabled")
        case .configSystemdCgroupPlacement: (.config, "SystemdCgroup is where containerd reads it")
        case .configUnknownKeys: (.config, "no keys containerd ignores")
        case .configDrift: (.config, "running CRI config matches the file")

        case .runtimesDefault: (.runtimes, "default runtime exists")
        case .runtimesType: (.runtimes, "runtime types")
        case .runtimesBinary: (.runtimes, "runtime binaries run")

        case .crictlRuntimeEndpoint: (.crictl, "crictl's runtime-endpoint is the live socket")
        case .crictlImageEndpoint: (.crictl, "crictl's image-endpoint is the live socket")

        case .kernelOverlay: (.kernel, "overlay module loaded")
        case .kernelBrNetfilter: (.kernel, "br_netfilter module loaded")
        case .kernelIPForward: (.kernel, "net.ipv4.ip_forward = 1")
        case .kernelBridgeNFCallIptables: (.kernel, "net.bridge.bridge-nf-call-iptables = 1")
        case .kernelBridgeNFCallIp6tables: (.kernel, "net.bridge.bridge-nf-call-ip6tables = 1")
        case .kernelIPVS: (.kernel, "IPVS modules for kube-proxy")
        case .kernelSwap: (.kernel, "swap off (or allowed by the kubelet)")
        }
    }

    public var id: String { rawValue }
    public var group: VerifyGroup { entry.group }
    public var title: String { entry.title }

    /// The checks of `group`, in order.
    public static func of(_ group: VerifyGroup) -> [Check] { allCases.filter { $0.group == group } }

    // MARK: Outcomes

    public func result(_ status: CheckStatus, _ found: String, evidence: String, fix: String? = nil) -> CheckResult {
        CheckResult(id: id, group: group, title: title, status: status, found: found, evidence: evidence, fix: fix)
    }

    public func pass(_ found: String, evidence: String) -> CheckResult { result(.pass, found, evidence: evidence) }
    public func skip(_ found: String, evidence: String) -> CheckResult { result(.skip, found, evidence: evidence) }
    public func warn(_ found: String, evidence: String, fix: String) -> CheckResult { result(.warn, found, evidence: evidence, fix: fix) }
    public func fail(_ found: String, evidence: String, fix: String) -> CheckResult { result(.fail, found, evidence: evidence, fix: fix) }

    // MARK: Listing

    /// `kctr verify-runtime --list` and the README's table: one row per check, in catalogue order.
    public static func markdownTable() -> String {
        var text = "| id | group | what it checks |\n|---|---|---|\n"
        for check in allCases { text += "| `\(check.id)` | \(check.group.rawValue) | \(check.title) |\n" }
        return text
    }
}
