import Foundation
import KctrRPC

/// The CRI plugin's configuration as the daemon runs it, decoded from the
/// verbose `Status` info (`info["config"]`). containerd 1.x reports all of it; 2.x only the runtime
/// half: no `sandboxImage`, no `containerd.snapshotter`, no `registry` (those stay nil).
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

    // Read by verify-runtime, not printed by `kctr info` (not encoded).
    /// CNI plugin directories: 2.1+'s `binDirs` list, else `binDir` (comma-separated lists split).
    public var cniBinDirs: [String] = []
    /// containerd's root directory and the socket it serves, as it runs with them.
    public var containerdRootDir: String?
    public var containerdEndpoint: String?
    /// `registry.configPath` (1.x only).
    public var registryConfigPath: String?

    enum CodingKeys: String, CodingKey {
        case snapshotter, sandboxImage, defaultRuntime, runtimes, cniBinDir, cniConfDir, systemdCgroupLegacy, rootDir, stateDir
    }

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
        if case .array(let dirs)? = c["cni"]?["binDirs"], !dirs.isEmpty {
            cniBinDirs = dirs.compactMap(\.string)
        } else if let dir = cniBinDir, !dir.isEmpty {
            cniBinDirs = dir.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        containerdRootDir = c["containerdRootDir"]?.string
        containerdEndpoint = c["containerdEndpoint"]?.string
        registryConfigPath = c["registry"]?["configPath"]?.string
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

extension RuntimeConfigView {
    /// The snapshotters ImageFsInfo's mount points name (`<root>/io.containerd.snapshotter.v1.<name>`).
    public static func snapshotters(imageFsMountpoints: [String]) -> [String] {
        let prefix = "io.containerd.snapshotter.v1."
        return imageFsMountpoints.compactMap { mount in
            let last = mount.split(separator: "/").last.map(String.init) ?? ""
            return last.hasPrefix(prefix) ? String(last.dropFirst(prefix.count)) : nil
        }
    }
}

extension Session {
    /// The snapshotter CRI unpacks images for: containerd 1.x reports it in its status config; 2.x
    /// does not, and answers it only through ImageFsInfo's mount point. nil when neither says.
    public func criSnapshotter(status: CRIStatus) async -> String? {
        if let s = RuntimeConfigView(status: status).snapshotter, !s.isEmpty { return s }
        do {
            return RuntimeConfigView.snapshotters(imageFsMountpoints: try await cri.imageFsMountpoints()).first
        } catch {
            debug("ImageFsInfo: \(error)")
            return nil
        }
    }
}
