/// Where containerd reads each setting verify-runtime talks about, for one config.toml format version
/// (1 to 4). There is one value per version and no other place knows table names: every check and
/// every fix text asks the layout of the file's own version, so a fix always names a table that
/// file's containerd reads.
///
/// - version 1 (no `version` key): CRI under `[plugins.cri]`.
/// - version 2 (containerd 1.x): CRI under `[plugins."io.containerd.grpc.v1.cri"]`.
/// - version 3 (containerd 2.0–2.2): CRI split into `[plugins.'io.containerd.cri.v1.images']` (sandbox
///   image as `pinned_images.sandbox`, snapshotter, registry) and `[plugins.'io.containerd.cri.v1.runtime']`
///   (runtimes, CNI with `bin_dirs`, a list, from 2.1); `io.containerd.grpc.v1.cri` keeps the streaming server.
/// - version 4 (containerd 2.3+): as 3, and the server settings (`[grpc]`, `[ttrpc]`, ...) move under
///   `[plugins.'io.containerd.server.v1.*']`.
public struct ConfigLayout: Sendable, Equatable {
    /// The settings the checks name, each at one key path per version.
    public enum Setting: String, CaseIterable, Sendable {
        case sandboxImage = "the sandbox image"
        case snapshotter = "CRI's snapshotter"
        case runtimes = "the runtimes"
        case defaultRuntimeName = "the default runtime"
        case cniBinDirs = "the CNI plugin directory"
        case cniConfDir = "the CNI config directory"
        case registryConfigPath = "the registry hosts directory"
        case grpcAddress = "the socket"
    }

    /// The three halves of CRI's configuration; one table holds all three before version 3.
    public enum CRIPart: Sendable, CaseIterable {
        /// Runtimes, runc options, CNI, OOM score and the other container settings.
        case runtime
        /// Sandbox image, snapshotter, registry, image decryption.
        case images
        /// The streaming server (exec, attach, port-forward).
        case server
    }

    public let version: Int
    /// Which containerd writes this version with `containerd config default`.
    public let writtenBy: String
    /// The oldest containerd that reads this version.
    public let oldestReader: ContainerdRelease
    public let criRuntime: [String]
    public let criImages: [String]
    public let criServer: [String]
    /// Below `criImages`.
    let sandboxImageKey: [String]
    let snapshotterKey: [String]
    /// Below `criRuntime`'s `cni` table: `bin_dir` (a string) before version 3, `bin_dirs` (a list) after.
    public let cniBinKey: String
    public let cniBinIsList: Bool
    public let grpcAddress: [String]
    /// containerd's own `config default` quotes plugin ids with " in versions 1–2 and ' in 3–4.
    let quote: Character

    public static let v1 = ConfigLayout(
        version: 1, writtenBy: "containerd before 1.3 (and every file without a version key)",
        oldestReader: ContainerdRelease(1, 0), criRuntime: ["plugins", "cri"], criImages: ["plugins", "cri"],
        criServer: ["plugins", "cri"], sandboxImageKey: ["sandbox_image"], snapshotterKey: ["containerd", "snapshotter"],
        cniBinKey: "bin_dir", cniBinIsList: false, grpcAddress: ["grpc", "address"], quote: "\"")
    public static let v2 = ConfigLayout(
        version: 2, writtenBy: "containerd 1.x",
        oldestReader: ContainerdRelease(1, 3), criRuntime: ["plugins", "io.containerd.grpc.v1.cri"],
        criImages: ["plugins", "io.containerd.grpc.v1.cri"], criServer: ["plugins", "io.containerd.grpc.v1.cri"],
        sandboxImageKey: ["sandbox_image"], snapshotterKey: ["containerd", "snapshotter"],
        cniBinKey: "bin_dir", cniBinIsList: false, grpcAddress: ["grpc", "address"], quote: "\"")
    public static let v3 = ConfigLayout(
        version: 3, writtenBy: "containerd 2.0 to 2.2",
        oldestReader: ContainerdRelease(2, 0), criRuntime: ["plugins", "io.containerd.cri.v1.runtime"],
        criImages: ["plugins", "io.containerd.cri.v1.images"], criServer: ["plugins", "io.containerd.grpc.v1.cri"],
        sandboxImageKey: ["pinned_images", "sandbox"], snapshotterKey: ["snapshotter"],
        cniBinKey: "bin_dirs", cniBinIsList: true, grpcAddress: ["grpc", "address"], quote: "'")
    public static let v4 = ConfigLayout(
        version: 4, writtenBy: "containerd 2.3 and later",
        oldestReader: ContainerdRelease(2, 3), criRuntime: ["plugins", "io.containerd.cri.v1.runtime"],
        criImages: ["plugins", "io.containerd.cri.v1.images"], criServer: ["plugins", "io.containerd.grpc.v1.cri"],
        sandboxImageKey: ["pinned_images", "sandbox"], snapshotterKey: ["snapshotter"],
        cniBinKey: "bin_dirs", cniBinIsList: true, grpcAddress: ["plugins", "io.containerd.server.v1.grpc", "address"], quote: "'")

    public static let all: [ConfigLayout] = [v1, v2, v3, v4]

    /// The layout of a `version = N` file; nil for a version containerd does not know.
    public static func of(version: Int) -> ConfigLayout? { all.first { $0.version == version } }

    // MARK: Key paths

    public func table(_ part: CRIPart) -> [String] {
        switch part {
        case .runtime: criRuntime
        case .images: criImages
        case .server: criServer
        }
    }

    /// The CRI tables of this version, each once.
    public var criTables: [[String]] {
        var out: [[String]] = []
        for part in CRIPart.allCases where !out.contains(table(part)) { out.append(table(part)) }
        return out
    }

    public func path(_ setting: Setting) -> [String] {
        switch setting {
        case .sandboxImage: criImages + sandboxImageKey
        case .snapshotter: criImages + snapshotterKey
        case .runtimes: criRuntime + ["containerd", "runtimes"]
        case .defaultRuntimeName: criRuntime + ["containerd", "default_runtime_name"]
        case .cniBinDirs: criRuntime + ["cni", cniBinKey]
        case .cniConfDir: criRuntime + ["cni", "conf_dir"]
        case .registryConfigPath: criImages + ["registry", "config_path"]
        case .grpcAddress: grpcAddress
        }
    }

    public func runtime(_ name: String) -> [String] { path(.runtimes) + [name] }
    public func runtimeOptions(_ name: String) -> [String] { runtime(name) + ["options"] }
    public func systemdCgroup(runtime name: String) -> [String] { runtimeOptions(name) + ["SystemdCgroup"] }

    /// Every key path where this version's containerd reads a runtime's options (`runtimes.<name>.options`;
    /// before 2.0 also `default_runtime` and `untrusted_workload_runtime`).
    public func isRuntimeOptions(_ keyPath: [String]) -> Bool {
        let runtimes = path(.runtimes)
        if keyPath.count == runtimes.count + 2, Array(keyPath.prefix(runtimes.count)) == runtimes, keyPath.last == "options" {
            return true
        }
        guard version <= 2 else { return false }
        let containerd = criRuntime + ["containerd"]
        return keyPath.count == containerd.count + 2 && Array(keyPath.prefix(containerd.count)) == containerd
            && ["default_runtime", "untrusted_workload_runtime"].contains(keyPath[containerd.count]) && keyPath.last == "options"
    }

    // MARK: Rendering

    /// A key path as this version's `containerd config default` writes it:
    /// `plugins."io.containerd.grpc.v1.cri".containerd` (1–2), `plugins.'io.containerd.cri.v1.images'` (3–4).
    public func toml(_ parts: [String]) -> String {
        parts.map { part in
            let bare = !part.isEmpty && part.unicodeScalars.allSatisfy {
                $0.value < 128 && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
            }
            // "<name>": a placeholder in a fix, not a key.
            let placeholder = part.hasPrefix("<") && part.hasSuffix(">")
            return bare || placeholder ? part : "\(quote)\(part)\(quote)"
        }.joined(separator: ".")
    }

    /// `[plugins."io.containerd.grpc.v1.cri"]`.
    public func table(_ parts: [String]) -> String { "[\(toml(parts))]" }

    /// A key path as its table and the key in it; the sandbox image of versions 3–4 reads better as the
    /// dotted key `pinned_images.sandbox` of the images table.
    func split(_ parts: [String]) -> (table: [String], key: [String]) {
        if version >= 3, parts == path(.sandboxImage) { return (criImages, sandboxImageKey) }
        return (Array(parts.dropLast()), Array(parts.suffix(1)))
    }

    /// `sandbox_image in [plugins."io.containerd.grpc.v1.cri"]`: how a fix names one key.
    public func key(_ parts: [String]) -> String {
        guard parts.count > 1 else { return toml(parts) }
        let (t, k) = split(parts)
        return "\(toml(k)) in \(table(t))"
    }

    public func key(_ setting: Setting) -> String { key(path(setting)) }

    /// `SystemdCgroup = true` in [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options].
    public func assignment(_ parts: [String], _ value: String) -> String {
        guard parts.count > 1 else { return "`\(toml(parts)) = \(value)`" }
        let (t, k) = split(parts)
        return "`\(toml(k)) = \(value)` in \(table(t))"
    }
}
