internal import CGRPCShim
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Unary, server-streaming and bidirectional calls over one channel.
/// Every call honours Swift task cancellation by cancelling the gRPC call.
public struct RPCClient: Sendable {
    public let channel: RPCChannel
    public var options: CallOptions
    /// Called after each finished call (method, seconds, error or nil), for `--debug`.
    public var observer: (@Sendable (String, Double, RPCError?) -> Void)?

    public init(channel: RPCChannel, options: CallOptions,
                observer: (@Sendable (String, Double, RPCError?) -> Void)? = nil) {
        self.channel = channel
        self.options = options
        self.observer = observer
    }

    public func with(_ key: String, _ value: String) -> RPCClient {
        var copy = self
        copy.options = options.adding(key, value)
        return copy
    }

    public func withTimeout(milliseconds: Int64) -> RPCClient {
        var copy = self
        copy.options.timeoutMilliseconds = milliseconds
        return copy
    }

    func unary(_ method: RPCMethod, _ request: Proto = Proto()) async throws(RPCError) -> Proto {
        try await unary(method, request) { call, output throws(RPCError) in try call.takeMessage(output) }
    }

    /// A unary call whose reply `decode` reads from its wire bytes (ImageListWire), not through ProtoCodec.
    func unary<T>(_ method: RPCMethod, _ request: Proto = Proto(),
                  decode: @escaping (UnsafeRawBufferPointer) throws(RPCError) -> T) async throws(RPCError) -> T {
        try await unary(method, request) { call, _ throws(RPCError) in try call.takeDecoded(decode) }
    }

    private func unary<T>(_ method: RPCMethod, _ request: Proto,
                          take: (CallHandle, MessageDescriptor) throws(RPCError) -> T?) async throws(RPCError) -> T {
        let started = monotonicSeconds()
        do {
            let result = try await performUnary(method, request, take: take)
            observer?(method.path, monotonicSeconds() - started, nil)
            return result
        } catch {
            observer?(method.path, monotonicSeconds() - started, error)
            throw error
        }
    }

    private func performUnary<T>(_ method: RPCMethod, _ request: Proto,
                                 take: (CallHandle, MessageDescriptor) throws(RPCError) -> T?) async throws(RPCError) -> T {
        let (input, output) = try method.descriptors()
        let bytes = try ProtoCodec.encode(request, as: input)
        let call = try CallHandle(channel: channel, method: method, options: options)
        let ok = try await call.run { raw, tag in
            bytes.withUnsafeBufferPointer { kctr_call_start_unary(raw, $0.baseAddress, $0.count, tag) }
        }
        if let err = call.statusError() { throw err }
        guard ok, let reply = try take(call, output) else {
            throw RPCError(code: .internal, message: "the call ended without a response",
                           method: method.path, timeoutMilliseconds: options.timeoutMilliseconds)
        }
        return reply
    }

    /// A server-streaming call: `onMessage` runs for each response in order.
    func serverStream(_ method: RPCMethod, _ request: Proto,
                             onMessage: (Proto) async throws -> Void) async throws {
        let started = monotonicSeconds()
        let stream = try await openStream(method)
        do {
            try await stream.send(request, close: true)
            while let message = try await stream.receive() {
                try await onMessage(message)
            }
            observer?(method.path, monotonicSeconds() - started, nil)
        } catch let error as RPCError {
            observer?(method.path, monotonicSeconds() - started, error)
            throw error
        } catch {
            stream.cancel()
            throw error
        }
    }

    /// A client- or bidi-streaming call.
    func openStream(_ method: RPCMethod) async throws(RPCError) -> RPCStream {
        let (input, output) = try method.descriptors()
        let call = try CallHandle(channel: channel, method: method, options: options)
        return RPCStream(call: call, input: input, output: output)
    }

}

/// The two directions of a streaming call. Send and receive may be used
/// from two tasks at once; each direction from one task at a time.
public final class RPCStream: @unchecked Sendable {
    // @unchecked: see CallHandle; `closed`/`finished` are touched by the
    // sending and receiving task respectively.
    private let call: CallHandle
    private let input: MessageDescriptor
    private let output: MessageDescriptor
    private var closed = false
    private var finished = false

    init(call: CallHandle, input: MessageDescriptor, output: MessageDescriptor) {
        self.call = call
        self.input = input
        self.output = output
    }

    public var method: String { call.method.path }

    public func cancel() { call.cancel() }

    func markWedged() { call.markWedged() }

    /// Sends one message; `close` half-closes the stream after it.
    func send(_ message: Proto, close: Bool = false) async throws(RPCError) {
        let bytes = try ProtoCodec.encode(message, as: input)
        let call = self.call
        let ok = try await call.run { raw, tag in
            bytes.withUnsafeBufferPointer { kctr_call_start_send(raw, $0.baseAddress, $0.count, close ? 1 : 0, tag) }
        }
        if close { closed = true }
        if !ok { throw try await failure() }
    }

    func closeSend() async throws(RPCError) {
        guard !closed else { return }
        closed = true
        let call = self.call
        let ok = try await call.run { raw, tag in kctr_call_start_close(raw, tag) }
        if !ok { throw try await failure() }
    }

    /// The next response, or nil once the server has ended the stream with OK.
    func receive() async throws(RPCError) -> Proto? {
        let output = self.output
        return try await next { call throws(RPCError) in try call.takeMessage(output) }
    }

    /// Like `receive`, for responses whose payload is one bytes field: that field's value, read
    /// without decoding the rest (see WireBytes); nil at the end of the stream.
    func receiveBytes(field number: UInt64) async throws(RPCError) -> [UInt8]? {
        let output = self.output
        return try await next { call throws(RPCError) in try call.takeBytesField(number, of: output) }
    }

    /// The next response's wire bytes, undecoded (ReplyFuzzing.record); nil at the end of the stream.
    func receiveWireBytes() async throws(RPCError) -> [UInt8]? {
        try await next { call throws(RPCError) in try call.takeWireBytes() }
    }

    private func next<T>(_ take: (CallHandle) throws(RPCError) -> T?) async throws(RPCError) -> T? {
        guard !finished else { return nil }
        let call = self.call
        let ok = try await call.run { raw, tag in kctr_call_start_receive(raw, tag) }
        if ok, let value = try take(call) { return value }
        // End of stream, or a failed batch: the status tells which.
        if let err = try await finalStatus() { throw err }
        if !ok { throw RPCError(code: .internal, message: "the stream failed without a status", method: method) }
        finished = true
        return nil
    }

    private func failure() async throws(RPCError) -> RPCError {
        if let err = try await finalStatus() { return err }
        return RPCError(code: .internal, message: "the stream failed without a status", method: method)
    }

    // The status batch may be started once per call, but both directions can
    // need it (a failed send while a receive waits): the first asker starts
    // it, every asker awaits the same result.
    private let status = StatusOnce()

    /// Waits for the call's final status; nil for OK. Safe from both
    /// directions at once.
    public func finalStatus() async throws(RPCError) -> RPCError? {
        let call = self.call
        let task = await status.task {
            do throws(RPCError) {
                _ = try await call.run { raw, tag in kctr_call_start_status(raw, tag) }
                return .success(call.statusError())
            } catch {
                return .failure(error)
            }
        }
        let result = await withTaskCancellationHandler { await task.value } onCancel: { call.cancel() }
        return try result.get()
    }
}

/// The one status batch of a stream, started by its first asker.
private actor StatusOnce {
    private var started: Task<Result<RPCError?, RPCError>, Never>?

    func task(_ start: @escaping @Sendable () async -> Result<RPCError?, RPCError>) -> Task<Result<RPCError?, RPCError>, Never> {
        if let started { return started }
        let task = Task { await start() }
        started = task
        return task
    }
}

/// Bounds one step of a long stream: when `body` has not finished within
/// `milliseconds`, the step fails with DeadlineExceeded (timeoutMilliseconds =
/// the limit) and the call is cancelled. A bulk transfer may take half an
/// hour, but a daemon that moves no byte for --timeout is hung. The step
/// fails without waiting for `body`: a send blocked in the transport's write
/// to a frozen daemon completes only when the connection does, even after the
/// call is cancelled (the gRPC core finishes a send once its bytes are out).
func withIdleDeadline<T: Sendable>(_ milliseconds: Int64, stream: RPCStream,
                                   _ body: @escaping @Sendable () async throws(RPCError) -> T) async throws(RPCError) -> T {
    guard milliseconds > 0 else { return try await body() }
    let gate = IdleGate<T>()
    let result: Result<T, RPCError> = await withTaskCancellationHandler {
        await withCheckedContinuation { (cont: CheckedContinuation<Result<T, RPCError>, Never>) in
            gate.start(cont,
                       work: Task {
                           do throws(RPCError) {
                               gate.finish(.success(try await body()))
                           } catch {
                               gate.finish(.failure(error))
                           }
                       },
                       watchdog: Task {
                           try? await Task.sleep(nanoseconds: UInt64(milliseconds) * 1_000_000)
                           guard !Task.isCancelled else { return }
                           let late = RPCError(code: .deadlineExceeded, message: "no reply within \(milliseconds) ms on a running stream",
                                               method: stream.method, timeoutMilliseconds: milliseconds)
                           if gate.finish(.failure(late)) {
                               stream.markWedged()
                               stream.cancel()
                           }
                       })
        }
    } onCancel: {
        gate.cancelWork()
    }
    return try result.get()
}

/// Resumes a step once: with the body's result or the watchdog's deadline.
final class IdleGate<T: Sendable>: @unchecked Sendable {
    // @unchecked: every field is guarded by `lock`.
    private let lock = PThreadLock()
    private var continuation: CheckedContinuation<Result<T, RPCError>, Never>?
    /// The result when it came before `start` (then `start` resumes with it).
    private var pending: Result<T, RPCError>?
    private var done = false
    private var work: Task<Void, Never>?
    private var watchdog: Task<Void, Never>?
    private var cancelled = false

    func start(_ cont: CheckedContinuation<Result<T, RPCError>, Never>, work: Task<Void, Never>, watchdog: Task<Void, Never>) {
        let (early, cancel): (Result<T, RPCError>?, Bool) = lock.withLock {
            self.work = work
            self.watchdog = watchdog
            if let pending { return (pending, cancelled) }
            continuation = cont
            return (nil, cancelled)
        }
        if cancel { work.cancel() }
        if let early {
            watchdog.cancel()
            cont.resume(returning: early)
        }
    }

    /// True for the first result, which resumes the waiting step.
    @discardableResult
    func finish(_ result: Result<T, RPCError>) -> Bool {
        let (cont, first, dog): (CheckedContinuation<Result<T, RPCError>, Never>?, Bool, Task<Void, Never>?) = lock.withLock {
            guard !done else { return (nil, false, nil) }
            done = true
            let c = continuation
            continuation = nil
            // Keep the result (a chunk of up to 1 MiB) only when nobody waits for it yet.
            if c == nil { pending = result }
            return (c, true, watchdog)
        }
        if first { dog?.cancel() }
        cont?.resume(returning: result)
        return first
    }

    func cancelWork() {
        let w: Task<Void, Never>? = lock.withLock {
            cancelled = true
            return work
        }
        w?.cancel()
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A pthread mutex. Not Synchronization.Mutex: its futex is invisible to ThreadSanitizer, which then
/// reports the fields it guards as races (seen in `make sanitize` on IdleGate).
final class PThreadLock: @unchecked Sendable {
    // @unchecked: the mutex is only used through lock and unlock, which make its fields safe to share.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let rc = pthread_mutex_init(mutex, nil)
        precondition(rc == 0, "pthread_mutex_init failed: \(rc)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
