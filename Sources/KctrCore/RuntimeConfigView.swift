import KctrRPC

/// The CRI plugin's configuration as the daemon runs it, decoded from the
/// verbose `Status` info (`info["config"]`, containerd 1.6/1.7 layout).
public struct RuntimeConfigView: Codable, Sendable, Equatable {
    public struct Runtime: Codable, Sendable, Equatable {
        public var name: String
        public var runtimeType: String
        public var systemdCgroup: Bool?
        public var binaryName: String?
        public var root: String?
    }

    public var snapshotter: String?
    public var sandboxImage: String?
    public var defaultRuntime: String?
    public var runtimes: [Runtime]
    public var cniBinDir: String?
    public var cniConfDir: String?
    public var systemdCgroupLegacy: Bool?
    public var rootDir: String?
    public var stateDir: String?

    public init(status: CRIStatus) {
        self.init(configJSON: status.info["config"].map(JSONValue.parse) ?? .null)
    }

    public init(configJSON c: JSONValue) {
        let containerd = c["containerd"]
        snapshotter = containerd?["snapshotter"]?.string
        sandboxImage = c["sandboxImage"]?.string
        defaultRuntime = containerd?["defaultRuntimeName"]?.string
        systemdCgroupLegacy = c["systemdCgroup"]?.bool
        cniBinDir = c["cni"]?["binDir"]?.string
        cniConfDir = c["cni"]?["confDir"]?.string
        rootDir = c["rootDir"]?.string
        stateDir = c["stateDir"]?.string
        let table = containerd?["runtimes"]?.object ?? [:]
        runtimes = table.keys.sorted().map { name in
            let r = table[name] ?? .null
            let options = r["options"]
            return Runtime(name: name, runtimeType: r["runtimeType"]?.string ?? "",
                           systemdCgroup: options?["SystemdCgroup"]?.bool,
                           binaryName: options?["BinaryName"]?.string, root: options?["Root"]?.string)
        }
    }
}
