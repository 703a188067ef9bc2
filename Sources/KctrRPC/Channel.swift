internal import CGRPCShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One gRPC channel to the daemon, shared by every call of the process.
///
/// Calls are multiplexed: each batch is started with a tag that carries its
/// continuation, and one poller thread drains the channel's completion
/// queue and resumes whichever batch finished.
///
/// The gRPC core, the channel and the poller thread start with the first call: a command that
/// answers without the daemon (`images ls` from its kept listing) does not pay for them.
public final class RPCChannel: @unchecked Sendable {
    // @unchecked: the started channel is set once under `started`'s lock; the gRPC core is thread-safe.
    private struct Started: @unchecked Sendable {
        let handle: OpaquePointer
        let poller: pthread_t
    }
    private let started = Mutex<Result<Started, RPCError>?>(nil)
    private let maxReceiveBytes: Int32
    private let maxSendBytes: Int32
    public let target: String
    private let answeredFlag = Atomic<Bool>(false)

    /// True once the daemon has answered a call (a reply or a streamed
    /// message): a later Unavailable means it went away, not that it was
    /// never there.
    public var hasAnswered: Bool { answeredFlag.load(ordering: .relaxed) }

    private let wedgedFlag = Atomic<Bool>(false)

    /// True once a stream step hit its idle deadline: the daemon stopped
    /// reading, and the gRPC core completes no further send on this
    /// connection (even with a deadline) until it closes. Callers should
    /// make no more calls.
    public var isWedged: Bool { wedgedFlag.load(ordering: .relaxed) }

    func markWedged() { wedgedFlag.store(true, ordering: .relaxed) }

    func markAnswered() {
        if !answeredFlag.load(ordering: .relaxed) { answeredFlag.store(true, ordering: .relaxed) }
    }

    /// - Parameters:
    ///   - target: a gRPC target such as `unix:///run/containerd/containerd.sock`.
    ///   - maxReceiveBytes: the largest message accepted (ctr and crictl use 16 MiB).
    public init(target: String, maxReceiveBytes: Int = 16 << 20, maxSendBytes: Int = 16 << 20) {
        self.target = target
        self.maxReceiveBytes = Int32(clamping: maxReceiveBytes)
        self.maxSendBytes = Int32(clamping: maxSendBytes)
    }

    /// The C channel, created (with its poller thread) by the first caller; a failure to create it is
    /// every caller's.
    func handle() throws(RPCError) -> OpaquePointer {
        let result = started.withLock { state -> Result<Started, RPCError> in
            if let state { return state }
            let made = Self.start(target: target, maxReceiveBytes: maxReceiveBytes, maxSendBytes: maxSendBytes)
            state = made
            return made
        }
        return try result.get().handle
    }

    private static func start(target: String, maxReceiveBytes: Int32, maxSendBytes: Int32) -> Result<Started, RPCError> {
        guard let h = kctr_channel_create(target, maxReceiveBytes, maxSendBytes) else {
            return .failure(RPCError(code: .callError, message: "cannot create a gRPC channel to \(target)"))
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(PollerContext(handle: h)).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            let ctx = Unmanaged<PollerContext>.fromOpaque(raw).takeRetainedValue()
            ctx.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<PollerContext>.fromOpaque(context).release()
            kctr_channel_shutdown(h)
            kctr_channel_free(h)
            return .failure(RPCError(code: .callError, message: "cannot start the gRPC poller thread (errno \(rc))"))
        }
        return .success(Started(handle: h, poller: thread))
    }

    deinit {
        guard case .success(let s)? = started.withLock({ $0 }) else { return }
        kctr_channel_shutdown(s.handle)
        pthread_join(s.poller, nil)
        kctr_channel_free(s.handle)
    }
}

/// Process-wide settings of the C libraries under the RPC layer.
public enum RPCRuntime {
    /// Bulk transfers allocate 1 MiB buffers on several threads: serve them
    /// from mmap and keep two malloc arenas, so peak RSS stays flat
    /// (measured: 63 -> 47 MiB exporting 1 GiB). Call once, first thing.
    @discardableResult
    public static func tuneMemory() -> Bool { kctr_tune_malloc() == 1 }

    /// The commit the binary was built from, when `make dist` linked it in.
    public static var buildCommit: String? {
        guard let commit = kctr_build_commit() else { return nil }
        return String(cString: commit)
    }
}

/// Runs on the poller thread: resumes the batch behind each completion.
private final class PollerContext: @unchecked Sendable {
    // @unchecked: used by the poller thread alone after hand-over.
    let handle: OpaquePointer
    init(handle: OpaquePointer) { self.handle = handle }

    func run() {
        var tag: UnsafeMutableRawPointer?
        var success: Int32 = 0
        while kctr_channel_next(handle, &tag, &success) == 1 {
            guard let t = tag else { continue }
            let batch = Unmanaged<BatchCompletion>.fromOpaque(t).takeRetainedValue()
            batch.finish(success != 0)
        }
    }
}

/// The continuation of one started batch; retained by its tag until the
/// poller takes it back.
final class BatchCompletion: @unchecked Sendable {
    // @unchecked: `continuation` is written before the batch starts and read
    // once by the poller thread after the core reports the completion.
    private let continuation: CheckedContinuation<Bool, Never>
    init(_ continuation: CheckedContinuation<Bool, Never>) { self.continuation = continuation }
    func finish(_ ok: Bool) { continuation.resume(returning: ok) }
}
