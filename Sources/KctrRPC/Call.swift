internal import CGRPCShim

#if canImport(Glibc)
import Glibc
#endif

/// A method of one of the services in Protos/, e.g.
/// `RPCMethod("containerd.services.images.v1.Images", "List")`.
public struct RPCMethod: Sendable, CustomStringConvertible {
    public let service: String
    public let name: String
    public var path: String { "/\(service)/\(name)" }
    public var description: String { path }

    public init(_ service: String, _ name: String) {
        self.service = service
        self.name = name
    }

    func descriptors() throws(RPCError) -> (input: MessageDescriptor, output: MessageDescriptor) {
        guard let sd = kctr_service_descriptor(service),
              let md = protobuf_c_service_descriptor_get_method_by_name(sd, name),
              let input = md.pointee.input, let output = md.pointee.output
        else {
            throw RPCError(code: .codec, message: "kctr has no descriptor for \(path)", method: path)
        }
        return (input, output)
    }
}

/// What every call carries: its deadline and its request metadata.
public struct CallOptions: Sendable {
    /// Milliseconds; 0 means no deadline (streams that follow a daemon).
    public var timeoutMilliseconds: Int64
    /// Lower-case keys, e.g. `containerd-namespace`, `containerd-lease`.
    public var metadata: [(String, String)]

    public init(timeoutMilliseconds: Int64, metadata: [(String, String)] = []) {
        self.timeoutMilliseconds = timeoutMilliseconds
        self.metadata = metadata
    }

    public func adding(_ key: String, _ value: String) -> CallOptions {
        var copy = self
        copy.metadata.removeAll { $0.0 == key }
        copy.metadata.append((key, value))
        return copy
    }
}

/// One call on the channel. Owns its `kctr_call`, freed in deinit.
final class CallHandle: @unchecked Sendable {
    // @unchecked: the gRPC core serialises batches on the call; kctr starts at
    // most one send and one receive batch at a time and reads results only
    // after their completion.
    let raw: OpaquePointer
    let method: RPCMethod
    let timeout: Int64
    // The channel must outlive the call.
    private let channel: RPCChannel

    init(channel: RPCChannel, method: RPCMethod, options: CallOptions) throws(RPCError) {
        let handle = try channel.handle()
        let keys = try CStrings(options.metadata.map(\.0))
        let values = try CStrings(options.metadata.map(\.1))
        let created: OpaquePointer? = keys.pointers.withUnsafeBufferPointer { k in
            values.pointers.withUnsafeBufferPointer { v in
                kctr_call_create(handle, method.path, options.timeoutMilliseconds,
                                 k.baseAddress, v.baseAddress, k.count)
            }
        }
        guard let created else {
            throw RPCError(code: .callError, message: "the gRPC core could not create the call", method: method.path)
        }
        self.raw = created
        self.method = method
        self.timeout = options.timeoutMilliseconds
        self.channel = channel
    }

    deinit { kctr_call_free(raw) }

    func markAnswered() { channel.markAnswered() }
    func markWedged() { channel.markWedged() }

    func cancel() { kctr_call_cancel(raw) }

    /// Starts a batch and waits for its completion; false when the core
    /// reports the batch failed (the status then says why). Cancelling the
    /// calling task cancels the gRPC call.
    func run(_ start: (OpaquePointer, UnsafeMutableRawPointer) -> Int32) async throws(RPCError) -> Bool {
        if Task.isCancelled { cancel() }
        var startError: Int32 = 0
        let ok = await withTaskCancellationHandler(operation: {
            await withCheckedContinuation { (cont: CheckedContinuation<Bool, Never>) in
                let tag = Unmanaged.passRetained(BatchCompletion(cont)).toOpaque()
                let rc = start(raw, tag)
                if rc != 0 {
                    startError = rc
                    Unmanaged<BatchCompletion>.fromOpaque(tag).takeRetainedValue().finish(false)
                }
            }
        }, onCancel: { self.cancel() })
        if startError != 0 {
            throw RPCError(code: .callError, message: "grpc_call_start_batch failed (grpc_call_error \(startError))",
                           method: method.path, timeoutMilliseconds: timeout)
        }
        return ok
    }

    /// The final status as an error, or nil for OK.
    func statusError() -> RPCError? {
        let code = kctr_call_status_code(raw)
        // OK, or a status only a server sends (not one the core makes up locally).
        if ![1, 4, 14].contains(code) { channel.markAnswered() }
        if code == 0 { return nil }
        var message = String(cString: kctr_call_status_details(raw))
        if message.isEmpty { message = String(cString: kctr_call_error_string(raw)) }
        return RPCError(code: RPCError.Code(rawValue: Int(code)) ?? .unknown, message: message,
                        method: method.path, timeoutMilliseconds: timeout)
    }

    /// The received message's length-delimited field `number`, read from the wire bytes (see WireBytes).
    func takeBytesField(_ number: UInt64, of d: MessageDescriptor) throws(RPCError) -> [UInt8]? {
        try withMessage { bytes throws(RPCError) in
            guard let field = WireBytes.field(number, in: bytes) else {
                throw RPCError.codec("cannot decode a \(ProtoCodec.name(of: d)) from \(bytes.count) bytes")
            }
            return field
        }
    }

    /// The message of the last receive batch as it came off the wire, undecoded; nil at end of stream.
    func takeWireBytes() throws(RPCError) -> [UInt8]? {
        try withMessage { bytes in Array(bytes) }
    }

    /// The message of the last receive batch, decoded; nil at end of stream.
    func takeMessage(_ d: MessageDescriptor) throws(RPCError) -> Proto? {
        try withMessage { bytes throws(RPCError) in try ProtoCodec.decode(bytes, as: d) }
    }

    /// The message of the last receive batch, read by `decode` from its wire bytes; nil at end of stream.
    func takeDecoded<T>(_ decode: (UnsafeRawBufferPointer) throws(RPCError) -> T) throws(RPCError) -> T? {
        try withMessage(decode)
    }

    /// `body` on the received message's bytes, nil when none was received; errors name the method.
    private func withMessage<T>(_ body: (UnsafeRawBufferPointer) throws(RPCError) -> T) throws(RPCError) -> T? {
        guard kctr_call_has_message(raw) == 1 else { return nil }
        channel.markAnswered()
        let bytes = UnsafeRawBufferPointer(start: kctr_call_message_bytes(raw), count: kctr_call_message_length(raw))
        do {
            return try body(bytes)
        } catch {
            var e = error
            e.method = method.path
            throw e
        }
    }
}

/// Copies request metadata into C strings owned by `CStrings`.
private final class CStrings {
    private(set) var pointers: [UnsafePointer<CChar>?] = []
    private var owned: [UnsafeMutablePointer<CChar>] = []

    init(_ strings: [String]) throws(RPCError) {
        for s in strings {
            guard let p = strdup(s) else { throw RPCError(code: .callError, message: "out of memory copying metadata") }
            owned.append(p)
            pointers.append(UnsafePointer(p))
        }
    }

    deinit { owned.forEach { free($0) } }
}
