internal import CGRPCShim

/// The codec's door for the `reply` fuzz target: KctrFuzz sees neither the codec nor C, so this decodes
/// bytes as one of the message types kctr reads from the daemon, the way replies are decoded, and drops
/// the result.
public enum ReplyFuzzing {
    /// Every message type kctr decodes from what the socket sends: each method's reply type, and the event
    /// payloads (sent as google.protobuf.Any); sorted full names.
    public static let typeNames: [String] = Set(replyDescriptors().map(ProtoCodec.name(of:))).sorted()

    public enum Outcome: Sendable, Equatable {
        case decoded
        /// The codec refused the bytes (not a message, or over the decode budget), as it would a reply.
        case refused
        /// `name` is none of `typeNames`.
        case unknownType
    }

    /// Decodes `bytes` as the message type `name` (one of `typeNames`) and drops the result; an event
    /// envelope's payload is decoded too, as `kctr events` does; the image lists are decoded by
    /// ImageListWire too, which must give what the codec gives.
    @discardableResult
    public static func decode(_ name: String, _ bytes: [UInt8]) -> Outcome {
        guard let d = replyDescriptors().first(where: { ProtoCodec.name(of: $0) == name }) else { return .unknownType }
        guard let proto = try? bytes.withUnsafeBytes({ buf throws(RPCError) in try ProtoCodec.decode(buf, as: d) }) else {
            return .refused
        }
        if name == "containerd.services.events.v1.Envelope" {
            _ = EventEnvelope(Containerd.EventService.Envelope(proto: proto))
        }
        // The two image lists are read by ImageListWire: it must agree with the codec on what both decode.
        let wire: (images: [ImageRecord]?, cri: [CRIImage]?) = bytes.withUnsafeBytes { buf in
            switch name {
            case "containerd.services.images.v1.ListImagesResponse": return (try? ImageListWire.containerdImages(buf), nil)
            case "runtime.v1.ListImagesResponse": return (nil, try? ImageListWire.criImages(buf))
            default: return (nil, nil)
            }
        }
        if let images = wire.images {
            precondition(images == Containerd.Images.ListImagesResponse(proto: proto).images.map(ImageRecord.init), "ImageListWire and ProtoCodec disagree")
        }
        if let cri = wire.cri {
            precondition(cri == CRI.ListImagesResponse(proto: proto).images.map(CRIImage.init), "ImageListWire and ProtoCodec disagree")
        }
        return .decoded
    }

    /// The output descriptor of every method of every service kctr speaks, then the event payloads.
    static func replyDescriptors() -> [MessageDescriptor] {
        var out: [MessageDescriptor] = []
        var i = 0
        while let service = kctr_service_descriptor_at(i) {
            if let methods = service.pointee.methods {
                for m in 0..<Int(service.pointee.n_methods) {
                    if let output = methods[m].output { out.append(output) }
                }
            }
            i += 1
        }
        i = 0
        while let message = kctr_message_descriptor_at(i) {
            out.append(message)
            i += 1
        }
        return out
    }
}

/// The other side of the door: the `reply` target's seeds, recorded from a real daemon (kctr-lab replies).
extension ReplyFuzzing {
    /// One reply as the daemon sent it: its message type and its undecoded wire bytes.
    public struct Seed: Sendable, Equatable {
        public var typeName: String
        public var bytes: [UInt8]

        /// The seed file the `reply` target reads: the type name, a newline, then the bytes.
        public var file: [UInt8] { Array(typeName.utf8) + [0x0A] + bytes }
    }

    /// Calls `method` with `request` (a message of the method's input type) and returns the first reply as it
    /// came off the wire; a server stream (Content.Read, Events.Subscribe) is cancelled after its first message.
    /// The bytes are the daemon's, not a re-encoding: unknown fields and field order stay as sent.
    public static func record<Request, Reply>(_ rpc: RPCClient, _ method: TypedMethod<Request, Reply>,
                                              _ request: Request) async throws(RPCError) -> Seed {
        try await record(rpc, method.method, request)
    }

    /// `record` by the method's name: its input type is checked against the request's at run time.
    static func record<Request: GeneratedMessage>(_ rpc: RPCClient, _ method: RPCMethod,
                                                  _ request: Request) async throws(RPCError) -> Seed {
        let (input, output) = try method.descriptors()
        guard ProtoCodec.name(of: input) == Request.protoName else {
            throw RPCError(code: .codec, message: "\(method.path) takes a \(ProtoCodec.name(of: input)), not a \(Request.protoName)",
                           method: method.path)
        }
        let stream = try await rpc.openStream(method)
        defer { stream.cancel() }
        try await stream.send(request.anyProto, close: true)
        guard let bytes = try await stream.receiveWireBytes() else {
            throw RPCError(code: .internal, message: "the call ended without a response", method: method.path,
                           timeoutMilliseconds: rpc.options.timeoutMilliseconds)
        }
        return Seed(typeName: ProtoCodec.name(of: output), bytes: bytes)
    }
}
