internal import CGRPCShim

/// What decoding one reply may cost in memory, checked on the wire bytes before protobuf-c unpacks them.
///
/// A reply's decoded form can be hundreds of times its wire size: an empty `runtime.v1.ContainerStatus`
/// in a repeated field is 2 bytes on the wire, but protobuf-c allocates its 200-byte struct and `Proto`
/// an array of its 19 proto3 fields (always present, at their defaults). 16 MiB of them (the receive limit)
/// took 7.3 GB to decode. So the decoder first walks the wire bytes along the descriptors, adds up what
/// protobuf-c and `Proto` will allocate for each element (each message by its descriptor, each repeated
/// entry, string, bytes and unknown field by its size), and refuses the reply when that exceeds
/// `allowance(wireBytes:)`: 20 times the wire size plus 4 MiB, at most 512 MiB.
///
/// A plain count of elements would not do: elements differ fifty-fold in cost (an empty ContainerStatus
/// ~1 KB, a map entry of two short strings ~300 bytes), so a count low enough for the worst
/// element refuses real image lists. Real replies estimate at 2-10x their size (a 5,000-image list,
/// CRI status with its verbose JSON, 16 MiB content chunks: see DecodeBudgetTests); the estimate
/// errs high (the peak RSS of the worst replies that fit is 0.6-0.8 of it).
struct DecodeBudget {
    /// Every reply may cost this much, however small: a few bytes can name a fat empty message.
    static let slack = 4 << 20
    static let perWireByte = 20
    /// Whatever --max-recv-size allows on the wire.
    static let ceiling = 512 << 20

    static func allowance(wireBytes: Int) -> Int {
        min(ceiling, slack + perWireByte * wireBytes)
    }

    /// The refusal of a reply of type `name` whose decoded form would pass `allowance`.
    static func tooLarge(_ name: String, wireBytes: Int, allowance: Int) -> RPCError {
        RPCError(code: .replyTooLarge, message: "the daemon's reply (a \(name) of \(wireBytes) bytes) "
            + "was refused as too large to decode: it would take more than \(allowance >> 20) MiB of memory, the most kctr "
            + "allows for a reply of its size (\(perWireByte) times the size plus \(slack >> 20) MiB, "
            + "at most \(ceiling >> 20) MiB)")
    }

    // Costs in bytes, from protobuf-c 1.4 (protobuf-c.c) and Swift's layouts on 64-bit Linux.
    /// protobuf-c's ScannedMember for every field occurrence, alive while its message is unpacked.
    static let occurrence = 32
    /// malloc's header and rounding on each allocation.
    static let mallocOverhead = 16
    /// A Swift array's header (the `[ProtoField]` of a message, the `[ProtoValue]` of a list).
    static let arrayHeader = 32
    /// `MemoryLayout<ProtoField>.stride`: a field's name (inline: field names are short) and value.
    static let protoField = 40
    /// `MemoryLayout<ProtoValue>.stride`: one entry of a list.
    static let protoValue = 24
    /// protobuf-c's ProtobufCMessageUnknownField.
    static let unknownField = 24

    enum Outcome: Equatable {
        case within(Int)
        case over
        /// The bytes are not a well-formed message (protobuf-c refuses such bytes too).
        case malformed
    }

    private let limit: Int
    private var total = 0
    /// Per descriptor: what one message costs before any field arrives (its struct, and its `Proto`
    /// with the fields `read` gives at their defaults).
    private var baseCosts: [UnsafeRawPointer: Int] = [:]

    private init(limit: Int) { self.limit = limit }

    /// The estimated cost of decoding `bytes` as a `d`, stopping as soon as it passes `limit`.
    static func estimate(_ bytes: UnsafeRawBufferPointer, as d: MessageDescriptor, limit: Int) -> Outcome {
        var budget = DecodeBudget(limit: limit)
        guard budget.message(bytes, 0..<bytes.count, d) else {
            return budget.total > limit ? .over : .malformed
        }
        return .within(budget.total)
    }

    private mutating func add(_ cost: Int) -> Bool {
        total += cost
        return total <= limit
    }

    /// Adds the message in `bytes[range]`; false when over the limit or malformed (see `total`).
    /// Recursion follows the schema, as protobuf-c's does: no message type in Protos/ contains itself
    /// (DecodeBudgetTests checks), so the .proto files bound the depth, whatever the bytes.
    private mutating func message(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ d: MessageDescriptor) -> Bool {
        guard add(baseCost(d)) else { return false }
        var i = range.lowerBound
        let end = range.upperBound
        func varint() -> UInt64? { WireBytes.varint(bytes, at: &i, end: end) }
        // The repeated field of the last occurrence: a repeated field's ProtoField and list are counted when
        // its entries start (on the wire they follow each other; interleaved, they are counted again).
        var lastRepeated: UnsafePointer<ProtobufCFieldDescriptor>?
        while i < end {
            guard let key = varint(), key >> 3 <= UInt64(UInt32.max) else { return false }
            guard add(Self.occurrence) else { return false }
            let field = protobuf_c_message_descriptor_get_field(d, UInt32(key >> 3))
            var length = 0
            switch key & 7 {
            case 0: guard varint() != nil else { return false }
            case 1: length = 8
            case 5: length = 4
            case 2:
                guard let n = varint(), n <= UInt64(end - i) else { return false }
                length = Int(n)
            default: return false
            }
            guard length <= end - i else { return false }
            let value = i..<(i + length)
            i += length
            guard let field else {
                // Kept by protobuf-c as an unknown field, with a copy of its bytes.
                guard add(Self.unknownField + Self.mallocOverhead + length) else { return false }
                continue
            }
            let first = field.pointee.label == PROTOBUF_C_LABEL_REPEATED && field != lastRepeated
            lastRepeated = field.pointee.label == PROTOBUF_C_LABEL_REPEATED ? field : nil
            guard self.field(field.pointee, wireType: key & 7, firstEntry: first, bytes, value) else { return false }
        }
        return true
    }

    /// Adds one occurrence of a known field.
    private mutating func field(_ f: ProtobufCFieldDescriptor, wireType: UInt64, firstEntry: Bool,
                                _ bytes: UnsafeRawBufferPointer, _ value: Range<Int>) -> Bool {
        let repeated = f.label == PROTOBUF_C_LABEL_REPEATED
        // A field `read` does not give at its default gets a ProtoField once it arrives; a repeated one its list too.
        if firstEntry {
            guard add(Self.protoField + Self.arrayHeader + Self.mallocOverhead) else { return false }
        } else if !repeated && !Self.presentByDefault(f) {
            guard add(Self.protoField) else { return false }
        }
        let perEntry = ProtoCodec.elementSize(f.type) + Self.protoValue
        switch f.type {
        case PROTOBUF_C_TYPE_MESSAGE:
            guard wireType == 2, let sub = f.descriptor else { return add(0) }
            if repeated, !add(perEntry) { return false }
            return message(bytes, value, sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES:
            // protobuf-c's copy (at least malloc's 32-byte chunk), and Swift's (a string of up to 15 bytes is inline).
            let c = max(32, value.count + 1 + Self.mallocOverhead)
            let swift = f.type == PROTOBUF_C_TYPE_STRING && value.count <= 15 ? 0 : value.count + Self.arrayHeader + Self.mallocOverhead
            return add(c + swift + (repeated ? perEntry : 0))
        default:
            guard repeated else { return true }
            guard wireType == 2 else { return add(perEntry) }
            // Packed: fixed-width entries by their width, varints by their last bytes.
            switch f.type {
            case PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_DOUBLE:
                return add(value.count / 8 * perEntry)
            case PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FLOAT:
                return add(value.count / 4 * perEntry)
            default:
                var entries = 0
                for j in value where bytes[j] & 0x80 == 0 { entries += 1 }
                return add(entries * perEntry)
            }
        }
    }

    private mutating func baseCost(_ d: MessageDescriptor) -> Int {
        let key = UnsafeRawPointer(d)
        if let cost = baseCosts[key] { return cost }
        let desc = d.pointee
        var present = 0
        if let fields = desc.fields {
            for i in 0..<Int(desc.n_fields) where fields[i].label != PROTOBUF_C_LABEL_REPEATED && Self.presentByDefault(fields[i]) {
                present += 1
            }
        }
        let cost = desc.sizeof_message + Self.mallocOverhead + Self.arrayHeader + Self.mallocOverhead + present * Self.protoField
        baseCosts[key] = cost
        return cost
    }

    /// Whether `ProtoCodec.read` gives this (non-repeated) field when the wire does not carry it: proto3
    /// scalars, bytes and strings (protobuf-c's default "") do; messages, oneofs and `optional` scalars do not.
    static func presentByDefault(_ f: ProtobufCFieldDescriptor) -> Bool {
        if f.type == PROTOBUF_C_TYPE_MESSAGE { return false }
        if f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 { return false }
        if f.label == PROTOBUF_C_LABEL_OPTIONAL, f.type != PROTOBUF_C_TYPE_STRING { return false }
        return true
    }
}
