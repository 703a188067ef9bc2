import Foundation
import Yams

/// Where the daemon is, and how kctr chose it (for messages and --debug).
public struct Endpoint: Sendable, Equatable {
    /// Filesystem path of the unix socket.
    public var path: String
    /// "--address", "CONTAINERD_ADDRESS", "runtime-endpoint in /etc/crictl.yaml", "default", ...
    public var source: String
    /// A remark worth a --debug line (e.g. the k3s fallback).
    public var note: String?

    public var grpcTarget: String { "unix://\(path)" }

    public static let defaultPath = "/run/containerd/containerd.sock"
    public static let k3sPath = "/run/k3s/containerd/containerd.sock"
    public static let defaultCrictlConfig = "/etc/crictl.yaml"

    /// Resolves the endpoint once, in this order: `--address` >
    /// `CONTAINERD_ADDRESS` > `CONTAINER_RUNTIME_ENDPOINT` > `runtime-endpoint`
    /// in crictl.yaml > the default socket (or k3s's when only that exists).
    public static func resolve(flag: String?, environment: [String: String], crictlConfig: String?,
                               fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) },
                               readFile: (String) throws(KctrError) -> String? = { path throws(KctrError) in try SmallFile.text(path) })
        throws(KctrError) -> Endpoint {
        if let flag, !flag.isEmpty {
            return Endpoint(path: try socketPath(flag, source: "--address"), source: "--address")
        }
        for variable in ["CONTAINERD_ADDRESS", "CONTAINER_RUNTIME_ENDPOINT"] {
            if let value = environment[variable], !value.isEmpty {
                return Endpoint(path: try socketPath(value, source: variable), source: variable)
            }
        }
        let configPath = crictlConfig ?? defaultCrictlConfig
        // The default crictl.yaml is skipped when it cannot be read (as crictl does); one named with
        // --crictl-config must be readable.
        let text: String?
        do {
            text = try readFile(configPath)
        } catch {
            if crictlConfig != nil { throw error }
            text = nil
        }
        if let text {
            let config = try CrictlConfig.parse(text, path: configPath)
            if let endpoint = config.runtimeEndpoint, !endpoint.isEmpty {
                let source = "runtime-endpoint in \(configPath)"
                return Endpoint(path: try socketPath(endpoint, source: source), source: source)
            }
        } else if crictlConfig != nil {
            throw KctrError("cannot read the crictl config \(configPath)",
                            hint: "check the path given to --crictl-config")
        }
        if !fileExists(defaultPath) && fileExists(k3sPath) {
            return Endpoint(path: k3sPath, source: "default",
                            note: "\(defaultPath) does not exist; using k3s's containerd at \(k3sPath)")
        }
        return Endpoint(path: defaultPath, source: "default")
    }

    /// `unix:///path`, `unix:/path`, `unix://path` or a bare path -> path.
    public static func socketPath(_ address: String, source: String) throws(KctrError) -> String {
        var rest = address
        if rest.hasPrefix("unix://") {
            rest.removeFirst("unix://".count)
        } else if rest.hasPrefix("unix:") {
            rest.removeFirst("unix:".count)
        } else if let scheme = rest.firstRange(of: "://") {
            let name = String(rest[rest.startIndex..<scheme.lowerBound])
            throw KctrError("unsupported address \(address) (from \(source)): scheme \(name) is not a unix socket",
                            hint: "containerd listens on a unix socket, e.g. --address /run/containerd/containerd.sock")
        }
        guard !rest.isEmpty else {
            throw KctrError("empty socket path in address \"\(address)\" (from \(source))",
                            hint: "pass --address /run/containerd/containerd.sock")
        }
        return rest
    }
}

/// The parts of crictl's /etc/crictl.yaml kctr uses: the endpoints. Its `timeout` and `debug` are not read:
/// kctr's deadline and debug log come from --timeout and --debug only (README, "Finding the daemon").
public struct CrictlConfig: Sendable, Equatable {
    public var runtimeEndpoint: String?
    public var imageEndpoint: String?

    public static func parse(_ text: String, path: String) throws(KctrError) -> CrictlConfig {
        let node: Any?
        do {
            node = try BoundedYAML.load(text)
        } catch {
            throw KctrError("cannot parse \(path): \(error)", hint: "fix the YAML or pass --address to bypass it")
        }
        guard let map = node as? [String: Any] else {
            if node == nil || node is NSNull { return CrictlConfig() }
            throw KctrError("cannot parse \(path): the document is not a mapping",
                            hint: "it should hold keys such as runtime-endpoint: unix:///run/containerd/containerd.sock")
        }
        var c = CrictlConfig()
        c.runtimeEndpoint = map["runtime-endpoint"] as? String
        c.imageEndpoint = map["image-endpoint"] as? String
        return c
    }
}
