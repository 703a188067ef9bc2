/// containerd's event stream.
extension ContainerdAPI {
    /// Follows `Events.Subscribe` until the daemon ends the stream, the call
    /// fails (the daemon went away: an `RPCError`), or the task is cancelled.
    /// The stream has no deadline. `filters` are containerd filter expressions,
    /// any of which may match (an empty list: every event of every namespace).
    public func subscribe(filters: [String], onEvent: (EventEnvelope) async throws -> Void) async throws {
        try await rpc.withTimeout(milliseconds: 0)
            .serverStream(RPCMethod(Service.events, "Subscribe"), Proto(["filters": .strings(filters)])) { message in
                try await onEvent(EventEnvelope(message))
            }
    }
}

/// One event as containerd publishes it.
public struct EventEnvelope: Sendable, Equatable {
    /// Seconds since 1970.
    public var timestamp: Double
    public var namespace: String
    /// e.g. `/tasks/exit`, `/images/create`.
    public var topic: String
    /// The payload's type, e.g. `containerd.events.TaskExit`.
    public var typeURL: String
    /// The payload decoded, when kctr knows its type.
    public var payload: Proto?
    /// The payload as sent.
    public var raw: [UInt8]

    public init(timestamp: Double, namespace: String, topic: String, typeURL: String, payload: Proto?, raw: [UInt8]) {
        self.timestamp = timestamp
        self.namespace = namespace
        self.topic = topic
        self.typeURL = typeURL
        self.payload = payload
        self.raw = raw
    }

    public init(_ envelope: Proto) {
        let any = envelope.message("event") ?? Proto()
        let typeURL = any.string("type_url")
        let raw = any.bytes("value")
        self.init(timestamp: envelope.timestamp("timestamp") ?? 0, namespace: envelope.string("namespace"),
                  topic: envelope.string("topic"), typeURL: typeURL,
                  payload: typeURL.isEmpty ? nil : ProtoCodec.decodeAny(typeURL: typeURL, value: raw), raw: raw)
    }
}
