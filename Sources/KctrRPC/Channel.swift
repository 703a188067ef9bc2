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
    // @unchecked: `started` is written once under `lock` and read under it; the gRPC core is thread-safe.
    private struct Started {
        let handle: OpaquePointer
        let poller: pthread_t
    }
    // A pthread mutex, which ThreadSanitizer sees (it does not see Synchronization.Mutex's futex).
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var started: Result<Started, RPCError>?
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
        // All zero bytes: glibc's PTHREAD_MUTEX_INITIALIZER, a default mutex without a call that could fail.
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        self.target = target
        self.maxReceiveBytes = Int32(clamping: maxReceiveBytes)
        self.maxSendBytes = Int32(clamping: maxSendBytes)
    }

    /// The C channel, created (with its poller thread) by the first caller; a failure to create it is
    /// every caller's.
    func handle() throws(RPCError) -> OpaquePointer {
        let rc = pthread_mutex_lock(lock)
        guard rc == 0 else { throw RPCError(code: .callError, message: "cannot lock the gRPC channel (errno \(rc))") }
        defer { pthread_mutex_unlock(lock) }
        if let started { return try started.get().handle }
        let made = Self.start(target: target, maxReceiveBytes: maxReceiveBytes, maxSendBytes: maxSendBytes)
        started = made
        return try made.get().handle
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
        // The last reference is going: no call holds the lock.
        if case .success(let s)? = started {
            kctr_channel_shutdown(s.handle)
            pthread_join(s.poller, nil)
            kctr_channel_free(s.handle)
        }
        lock.deinitialize(count: 1)
        lock.deallocate()
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
