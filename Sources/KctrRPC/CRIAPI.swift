/// Typed calls to the Kubernetes CRI (runtime.v1). One function per RPC.
public struct CRIAPI: Sendable {
    public let rpc: RPCClient

    public init(_ rpc: RPCClient) { self.rpc = rpc }

    enum Service {
        static let runtime = "runtime.v1.RuntimeService"
        static let image = "runtime.v1.ImageService"
    }

    public func version() async throws(RPCError) -> CRIVersion {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "Version"), Proto(["version": .string("v1")]))
        return CRIVersion(version: r.string("version"), runtimeName: r.string("runtime_name"),
                          runtimeVersion: r.string("runtime_version"), runtimeApiVersion: r.string("runtime_api_version"))
    }

    public func status(verbose: Bool) async throws(RPCError) -> CRIStatus {
        let r = try await rpc.unary(RPCMethod(Service.runtime, "Status"), Proto(["verbose": .bool(verbose)]))
        let conditions = (r.message("status") ?? Proto()).messages("conditions").map {
            CRICondition(type: $0.string("type"), status: $0.bool("status"), reason: $0.string("reason"),
                         message: $0.string("message"))
        }
        return CRIStatus(conditions: conditions, info: r.map("info"), reply: r)
    }

    /// The cgroup driver the runtime reports ("systemd", "cgroupfs"), or nil
    /// where the runtime does not implement RuntimeConfig (containerd < 2.0).
    public func cgroupDriver() async throws(RPCError) -> String? {
        do {
            let r = try await rpc.unary(RPCMethod(Service.runtime, "RuntimeConfig"))
            guard let linux = r.message("linux") else { return nil }
            switch linux.enumValue("cgroup_driver") {
            case 0: return "systemd"
            case 1: return "cgroupfs"
            default: return nil
            }
        } catch where error.code == .unimplemented {
            return nil
        }
    }

    /// The mount points of the filesystems holding images (containerd: the CRI snapshotter's
    /// directory, `<root>/io.containerd.snapshotter.v1.<name>`).
    public func imageFsMountpoints() async throws(RPCError) -> [String] {
        let r = try await rpc.unary(RPCMethod(Service.image, "ImageFsInfo"))
        return r.messages("image_filesystems").map { ($0.message("fs_id") ?? Proto()).string("mountpoint") }
    }

    public func listImages() async throws(RPCError) -> [CRIImage] {
        try await rpc.unary(RPCMethod(Service.image, "ListImages"), decode: ImageListWire.criImages)
    }

    /// Pulls `ref` through the CRI plugin, so containerd's registry configuration applies (hosts.toml
    /// mirrors, config_path, its TLS and auth settings). Returns the image reference CRI reports (the
    /// image ID). `timeoutMilliseconds` 0 waits as long as the pull takes.
    public func pullImage(_ ref: String, auth: RegistryAuth?, sandboxConfig: Proto?,
                          timeoutMilliseconds: Int64) async throws(RPCError) -> String {
        var request = Proto(["image": .message(Proto(["image": .string(ref)]))])
        if let auth { request["auth"] = .message(auth.proto) }
        if let sandboxConfig { request["sandbox_config"] = .message(sandboxConfig) }
        let r = try await rpc.withTimeout(milliseconds: timeoutMilliseconds).unary(RPCMethod(Service.image, "PullImage"), request)
        return r.string("image_ref")
    }

    /// The schema of PullImage's `sandbox_config` (a PodSandboxConfig), for `--pod-config` files.
    public static func podSandboxConfigSchema() throws(RPCError) -> ProtoSchema? {
        try ProtoSchema.request(of: RPCMethod(Service.image, "PullImage")).schema(of: "sandbox_config")
    }

    /// The image as the kubelet sees it, or nil when CRI does not know it.
    public func imageStatus(_ ref: String) async throws(RPCError) -> CRIImage? {
        let r = try await rpc.unary(RPCMethod(Service.image, "ImageStatus"),
                                    Proto(["image": .message(Proto(["image": .string(ref)]))]))
        return r.message("image").map(CRIImage.init)
    }
}

/// Registry credentials for a pull, as CRI's AuthConfig carries them.
public struct RegistryAuth: Sendable, Equatable {
    public var username = ""
    public var password = ""
    /// base64("user:password"), as in a docker config.json.
    public var auth = ""
    public var serverAddress = ""
    public var identityToken = ""
    public var registryToken = ""

    public init(username: String = "", password: String = "", auth: String = "", serverAddress: String = "",
                identityToken: String = "", registryToken: String = "") {
        self.username = username
        self.password = password
        self.auth = auth
        self.serverAddress = serverAddress
        self.identityToken = identityToken
        self.registryToken = registryToken
    }

    var proto: Proto {
        Proto(["username": .string(username), "password": .string(password), "auth": .string(auth),
               "server_address": .string(serverAddress), "identity_token": .string(identityToken),
               "registry_token": .string(registryToken)])
    }
}
