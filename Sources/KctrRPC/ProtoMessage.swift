/// A message type written by scripts/generate/swift-messages.c (Generated/swift): a plain struct whose fields
/// are those of the .proto message, in lowerCamelCase.
public protocol GeneratedMessage: Sendable, Equatable {
    /// The full name in the .proto files, e.g. `runtime.v1.Container`.
    static var protoName: String { get }
}

/// What the generated messages share inside KctrRPC: their conversions to and from `Proto`, which
/// ProtoCodec encodes and decodes through protobuf-c.
protocol ProtoMessage: GeneratedMessage {
    init(proto: Proto)
    var proto: Proto { get }
}

extension GeneratedMessage {
    /// The message as a `Proto` (every generated type is a ProtoMessage).
    var anyProto: Proto { (self as? any ProtoMessage)?.proto ?? Proto() }
}

/// A method with its request and reply types, as the generated service tables list them
/// (`CRI.RuntimeService.listContainers`): a call to a method missing from Protos/kctr-methods does not compile.
/// Public so that tools beside kctr (kctr-lab) name methods by these handles, not by strings; calls with them
/// are KctrRPC's own.
public struct TypedMethod<Request: GeneratedMessage, Reply: GeneratedMessage>: Sendable {
    public let method: RPCMethod

    init(_ service: String, _ name: String) {
        method = RPCMethod(service, name)
    }
}

extension RPCClient {
    /// A unary call with typed messages.
    func call<Request: ProtoMessage, Reply: ProtoMessage>(_ method: TypedMethod<Request, Reply>,
                                                          _ request: Request = Request(proto: Proto())) async throws(RPCError) -> Reply {
        Reply(proto: try await unary(method.method, request.proto))
    }

    /// A server-streaming call with typed messages: `onMessage` runs for each reply in order.
    func stream<Request: ProtoMessage, Reply: ProtoMessage>(_ method: TypedMethod<Request, Reply>, _ request: Request,
                                                            onMessage: (Reply) async throws -> Void) async throws {
        try await serverStream(method.method, request.proto) { try await onMessage(Reply(proto: $0)) }
    }
}

// Readers the generated `init(proto:)` uses: the proto3 default when a field is absent or of another kind.
extension Optional where Wrapped == ProtoValue {
    var string: String {
        if case .string(let s)? = self { return s }
        return ""
    }

    var bytes: [UInt8] {
        if case .bytes(let b)? = self { return b }
        return []
    }

    var bool: Bool {
        if case .bool(let b)? = self { return b }
        return false
    }

    var int64: Int64 {
        switch self {
        case .int(let v)?: return v
        case .uint(let v)?: return Int64(bitPattern: v)
        case .enumeration(let v)?: return Int64(v)
        default: return 0
        }
    }

    var int32: Int32 { Int32(truncatingIfNeeded: int64) }

    var uint64: UInt64 {
        switch self {
        case .uint(let v)?: return v
        case .int(let v)?: return UInt64(bitPattern: v)
        default: return 0
        }
    }

    var uint32: UInt32 { UInt32(truncatingIfNeeded: uint64) }

    var double: Double {
        if case .double(let d)? = self { return d }
        return 0
    }

    var float: Float { Float(double) }

    var enumeration: Int32 {
        switch self {
        case .enumeration(let v)?: return v
        case .int(let v)?: return Int32(truncatingIfNeeded: v)
        default: return 0
        }
    }

    var message: Proto? {
        if case .message(let m)? = self { return m }
        return nil
    }
}

extension ProtoValue {
    /// A repeated field's items.
    var list: [ProtoValue] {
        if case .list(let items) = self { return items }
        return []
    }

    /// A map field (repeated `{key, value}` entries) as a dictionary; a later entry wins, as in protobuf.
    func entries<K: Hashable, V>(_ entry: (Proto) -> (K, V)) -> [K: V] {
        var out: [K: V] = [:]
        for case .message(let m) in list {
            let (k, v) = entry(m)
            out[k] = v
        }
        return out
    }

    /// A map field from its entries, in the order given.
    static func entries(_ pairs: [(ProtoValue, ProtoValue)]) -> ProtoValue {
        .list(pairs.map { .message(Proto(unique: [ProtoField(name: "key", value: $0.0), ProtoField(name: "value", value: $0.1)])) })
    }
}

extension Google.Protobuf.Timestamp {
    /// Seconds since 1970.
    var secondsSince1970: Double { Double(seconds) + Double(nanos) / 1e9 }
}
