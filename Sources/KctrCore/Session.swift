import Foundation
import KctrRPC

/// Everything a command needs to talk to the daemon, resolved once.
public struct SessionConfig: Sendable {
    public var endpoint: Endpoint
    public var namespace: String
    public var timeoutMilliseconds: Int64
    public var maxReceiveBytes: Int
    public var debug: Bool
    /// Where `images ls` keeps what it read from image blobs (ImageFactsCache); nil: nowhere.
    public var cacheDirectory: String?

    public init(endpoint: Endpoint, namespace: String, timeoutMilliseconds: Int64, maxReceiveBytes: Int, debug: Bool,
                cacheDirectory: String? = nil) {
        self.endpoint = endpoint
        self.namespace = namespace
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxReceiveBytes = maxReceiveBytes
        self.debug = debug
        self.cacheDirectory = cacheDirectory
    }

    /// `--namespace` > `CONTAINERD_NAMESPACE` > `k8s.io`.
    public static func namespace(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let env = environment["CONTAINERD_NAMESPACE"], !env.isEmpty { return env }
        return "k8s.io"
    }
}

/// A connected session: one channel, the containerd and CRI APIs on it,
/// and the translation of RPC failures into operator-facing errors.
public struct Session: Sendable {
    public let config: SessionConfig
    /// containerd's API in the session's namespace, for writes, streams and exec processes.
    public let containerd: ContainerdAPI
    /// containerd's read calls in the session's namespace (DaemonCalls.swift): `containerd` itself, or a fake.
    public let store: any ContainerdStoreCalls
    /// CRI's runtime and image calls: CRIAPI on the session's channel, or a fake.
    public let cri: any CRICalls
    /// Whether containerd's metadata changed since a reading (StoreStamp.swift): the kernel's view of the
    /// daemon behind the socket, or a fake.
    public let storeStamp: any StoreStampReading
    private let log: @Sendable (String) -> Void

    /// Checks the socket, then opens the channel (which connects lazily).
    public init(config: SessionConfig, log: @escaping @Sendable (String) -> Void) throws(KctrError) {
        try Session.checkSocket(config.endpoint)
        self.config = config
        self.log = log
        if config.debug {
            log("endpoint \(config.endpoint.path) (from \(config.endpoint.source)), namespace \(config.namespace), timeout \(DurationText.describe(milliseconds: config.timeoutMilliseconds))")
            if let note = config.endpoint.note { log(note) }
        }
        let channel = Session.channel(config)
        var observer: (@Sendable (String, Double, RPCError?) -> Void)?
        if config.debug {
            observer = { @Sendable method, seconds, error in
                let status = error.map { "\($0.code.name): \($0.message)" } ?? "OK"
                let ms = (seconds * 10_000).rounded() / 10
                log("rpc \(method) \(ms)ms \(status)")
            }
        }
        let rpc = RPCClient(channel: channel, options: CallOptions(timeoutMilliseconds: config.timeoutMilliseconds),
                            observer: observer)
        self.containerd = ContainerdAPI(rpc).namespaced(config.namespace)
        self.store = containerd
        self.cri = CRIAPI(rpc)
        self.storeStamp = ProcStoreStamp(socketPath: config.endpoint.path)
    }

    /// A session whose reads go to `cri` and `store` (the unit tests' fake daemon). `containerd`, for what the
    /// protocols do not cover, is a channel to the configured endpoint that is never checked or connected
    /// before a call: pointed at no socket, such a call fails as Unavailable.
    init(config: SessionConfig, cri: any CRICalls, store: any ContainerdStoreCalls,
         storeStamp: any StoreStampReading = NoStoreStamp(reason: "no daemon process to look at"),
         log: @escaping @Sendable (String) -> Void = { _ in }) throws(KctrError) {
        self.config = config
        self.log = log
        let rpc = RPCClient(channel: Session.channel(config), options: CallOptions(timeoutMilliseconds: config.timeoutMilliseconds))
        self.containerd = ContainerdAPI(rpc).namespaced(config.namespace)
        self.store = store
        self.cri = cri
        self.storeStamp = storeStamp
    }

    /// The channel connects (and the gRPC core starts) with the first call.
    private static func channel(_ config: SessionConfig) -> RPCChannel {
        RPCChannel(target: config.endpoint.grpcTarget, maxReceiveBytes: config.maxReceiveBytes)
    }

    /// Flat memory for bulk transfers; call once at start-up.
    public static func tuneMemory() { RPCRuntime.tuneMemory() }

    public func debug(_ line: @autoclosure () -> String) {
        if config.debug { log(line()) }
    }

    static let addressHint = "is containerd running? (systemctl status containerd); pass --address PATH or set CONTAINERD_ADDRESS; on k3s use --address \(Endpoint.k3sPath)"

    /// Says plainly when the socket is missing, unreadable or not a socket.
    static func checkSocket(_ endpoint: Endpoint) throws(KctrError) {
        let path = endpoint.path
        let chosen = endpoint.source == "default" ? "the default" : "from \(endpoint.source)"
        var st = stat()
        if stat(path, &st) != 0 {
            let err = errno
            if err == ENOENT || err == ENOTDIR {
                throw KctrError("cannot reach containerd at \(path) (\(chosen)): no such socket", hint: addressHint)
            }
            if err == EACCES {
                throw KctrError("cannot reach containerd at \(path) (\(chosen)): permission denied",
                                hint: "run kctr as root (sudo kctr ...)")
            }
            throw KctrError("cannot reach containerd at \(path) (\(chosen)): \(String(cString: strerror(err)))",
                            hint: addressHint)
        }
        if (st.st_mode & S_IFMT) != S_IFSOCK {
            throw KctrError("\(path) (\(chosen)) is not a socket", hint: "pass --address with containerd's socket, usually \(Endpoint.defaultPath)")
        }
        if access(path, R_OK | W_OK) != 0 {
            throw KctrError("cannot reach containerd at \(path) (\(chosen)): permission denied",
                            hint: "run kctr as root (sudo kctr ...)")
        }
    }

    /// Runs calls whose failure is explained (`explain`) as failing while doing `what`.
    public func doing<T>(_ what: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw explain(error, doing: what)
        }
    }

    /// Translates an RPC failure into what failed and what to do next.
    public func explain(_ error: Error, doing what: String) -> Error {
        guard let e = error as? RPCError else { return error }
        let path = config.endpoint.path
        let call = e.method.isEmpty ? what : "\(what) (\(e.shortMethod))"
        if let full = Self.diskFull(e, call: call) { return full }
        switch e.code {
        case .deadlineExceeded:
            let t = DurationText.describe(milliseconds: e.timeoutMilliseconds > 0 ? e.timeoutMilliseconds : config.timeoutMilliseconds)
            let what = daemonAnswered ? "stopped answering: no reply within \(t)" : "accepted the connection but did not answer within \(t)"
            return KctrError("\(call): containerd at \(path) \(what)",
                             hint: "the daemon may be hung, overloaded, or not containerd; raise the deadline with --timeout 30s, and check its logs (journalctl -u containerd)")
        case .unavailable where daemonAnswered:
            return KctrError("\(call): containerd at \(path) stopped answering (the connection was lost: \(e.message))",
                             hint: Self.stoppedHint)
        case .unavailable:
            return KctrError("\(call): cannot talk gRPC to \(path): \(e.message)",
                             hint: "check that \(path) is containerd's socket and that the daemon is up (systemctl status containerd)")
        case .unimplemented where e.method.contains("runtime.v1."):
            return KctrError("\(call): the CRI plugin is not serving on \(path) (\(e.message))",
                             hint: "containerd's config disables it: remove \"cri\" / \"io.containerd.grpc.v1.cri\" from disabled_plugins in /etc/containerd/config.toml and restart containerd")
        case .permissionDenied:
            return KctrError("\(call): permission denied by containerd: \(e.message)", hint: "run kctr as root")
        case .cancelled:
            return KctrError("\(call): cancelled", exitCode: 130)
        case .resourceExhausted:
            return KctrError("\(call): ResourceExhausted: \(e.message)",
                             hint: "the response is larger than the receive limit: raise it with --max-recv-size (MiB), now \(config.maxReceiveBytes >> 20)")
        case .notFound:
            return KctrError("\(call): not found: \(e.message)")
        case .replyTooLarge:
            return KctrError("\(call): \(e.message)",
                             hint: "containerd's replies decode to a few times their size; one this dense comes from a broken or foreign server: check what listens on \(path) (ss -xlp | grep \(path)) and that it is containerd (systemctl status containerd)")
        default:
            return KctrError("\(call): \(e.code.name): \(e.message)")
        }
    }

    /// True once containerd has answered a call of this session: a lost
    /// connection afterwards means the daemon died, restarted or hung.
    public var daemonAnswered: Bool { containerd.rpc.channel.hasAnswered }

    public static let stoppedHint = "the daemon died or was restarted: check systemctl status containerd and journalctl -u containerd, then run the command again"

    /// A write that failed because the disk under containerd's root is full.
    /// containerd sends ENOSPC as Unknown with the OS's text, which names the
    /// file: its root is the part before `/io.containerd.` (a plugin's directory).
    static func diskFull(_ e: RPCError, call: String) -> KctrError? {
        guard e.message.contains("no space left on device") else { return nil }
        var root = "containerd's root directory (root in /etc/containerd/config.toml, by default /var/lib/containerd)"
        if let plugin = e.message.firstRange(of: "/io.containerd.") {
            let before = e.message[..<plugin.lowerBound]
            if let start = before.lastIndex(where: { $0 == " " || $0 == "\"" }) {
                let candidate = String(before[before.index(after: start)...])
                if candidate.hasPrefix("/") { root = candidate }
            } else if before.hasPrefix("/") {
                root = String(before)
            }
        }
        return KctrError("\(call): no space left on the device holding containerd's root \(root) (\(e.code.name): \(e.message))",
                         hint: "free space there (df -h \(root.hasPrefix("/") ? root : "/var/lib/containerd"); remove unused images with kctr images rm), then run the command again")
    }

    /// True when the error says the CRI services are absent.
    public static func isCRIUnavailable(_ error: Error) -> Bool {
        guard let e = error as? RPCError else { return false }
        return e.code == .unimplemented && e.method.contains("runtime.v1.")
    }
}
