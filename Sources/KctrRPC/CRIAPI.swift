/// Typed calls to the Kubernetes CRI (runtime.v1). One function per RPC.
public struct CRIAPI: Sendable {
    public let rpc: RPCClient

    public init(_ rpc: RPCClient) { self.rpc = rpc }

    typealias Runtime = CRI.RuntimeService
    typealias Images = CRI.ImageService

    public func version() async throws(RPCError) -> CRIVersion {
        let r = try await rpc.call(Runtime.version, .init(version: "v1"))
        return CRIVersion(version: r.version, runtimeName: r.runtimeName, runtimeVersion: r.runtimeVersion,
                          runtimeApiVersion: r.runtimeApiVersion)
    }

    public func status(verbose: Bool) async throws(RPCError) -> CRIStatus {
        let r = try await rpc.call(Runtime.status, .init(verbose: verbose))
        let conditions = (r.status?.conditions ?? []).map {
            CRICondition(type: $0.type, status: $0.status, reason: $0.reason, message: $0.message)
        }
        return CRIStatus(conditions: conditions, info: r.info, reply: r)
    }

    /// The cgroup driver the runtime reports ("systemd", "cgroupfs"), or nil
    /// where the runtime does not implement RuntimeConfig (containerd < 2.0).
    public func cgroupDriver() async throws(RPCError) -> String? {
        do {
            let r = try await rpc.call(Runtime.runtimeConfig)
            guard let linux = r.linux else { return nil }
            switch linux.cgroupDriver {
            case .systemd: return "systemd"
            case .cgroupfs: return "cgroupfs"
            case .unrecognized: return nil
            }
        } catch where error.code == .unimplemented {
            return nil
        }
    }

    /// The mount points of the filesystems holding images (containerd: the CRI snapshotter's
    /// directory, `<root>/io.containerd.snapshotter.v1.<name>`).
    public func imageFsMountpoints() async throws(RPCError) -> [String] {
        let r = try await rpc.call(Images.imageFsInfo)
        return r.imageFilesystems.map { $0.fsId?.mountpoint ?? "" }
    }

    public func listImages() async throws(RPCError) -> [CRIImage] {
        try await rpc.unary(Images.listImages.method, decode: ImageListWire.criImages)
    }

    /// Pulls `ref` through the CRI plugin, so containerd's registry configuration applies (hosts.toml
    /// mirrors, config_path, its TLS and auth settings). Returns the image reference CRI reports (the
    /// image ID). `timeoutMilliseconds` 0 waits as long as the pull takes.
    public func pullImage(_ ref: String, auth: RegistryAuth?, sandboxConfig: CRI.PodSandboxConfig?,
                          timeoutMilliseconds: Int64) async throws(RPCError) -> String {
        let request = CRI.PullImageRequest(image: .init(image: ref), auth: auth, sandboxConfig: sandboxConfig)
        let r = try await rpc.withTimeout(milliseconds: timeoutMilliseconds).call(Images.pullImage, request)
        return r.imageRef
    }

    /// The image as the kubelet sees it, or nil when CRI does not know it.
    public func imageStatus(_ ref: String) async throws(RPCError) -> CRIImage? {
        let r = try await rpc.call(Images.imageStatus, .init(image: .init(image: ref)))
        return r.image.map(CRIImage.init)
    }
}

/// Registry credentials for a pull: CRI's AuthConfig (`auth` is base64("user:password"), as in a docker config.json).
public typealias RegistryAuth = CRI.AuthConfig
