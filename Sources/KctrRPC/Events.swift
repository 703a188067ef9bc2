/// containerd's event stream.
extension ContainerdAPI {
    /// Follows `Events.Subscribe` until the daemon ends the stream, the call
    /// fails (the daemon went away: an `RPCError`), or the task is cancelled.
    /// The stream has no deadline. `filters` are containerd filter expressions,
    /// any of which may match (an empty list: every event of every namespace).
    public func subscribe(filters: [String], onEvent: (EventEnvelope) async throws -> Void) async throws {
        try await rpc.withTimeout(milliseconds: 0)
            .stream(Containerd.EventService.EventsService.subscribe, .init(filters: filters)) { envelope in
                try await onEvent(EventEnvelope(envelope))
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
    /// The payload decoded, when kctr knows its type: its set fields with protobuf's JSON names
    /// (MessageDocuments.plain).
    public var payload: DocumentValue?
    /// The payload as sent.
    public var raw: [UInt8]

    public init(timestamp: Double, namespace: String, topic: String, typeURL: String, payload: DocumentValue?, raw: [UInt8]) {
        self.timestamp = timestamp
        self.namespace = namespace
        self.topic = topic
        self.typeURL = typeURL
        self.payload = payload
        self.raw = raw
    }

    public init(_ envelope: Containerd.EventService.Envelope) {
        let any = envelope.event ?? .init()
        let payload = any.typeUrl.isEmpty ? nil : ProtoCodec.decodeAny(typeURL: any.typeUrl, value: any.value)
        self.init(timestamp: envelope.timestamp?.secondsSince1970 ?? 0, namespace: envelope.namespace,
                  topic: envelope.topic, typeURL: any.typeUrl, payload: payload.map(MessageDocuments.plain), raw: any.value)
    }
}
