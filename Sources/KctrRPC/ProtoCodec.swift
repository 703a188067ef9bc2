internal import CGRPCShim

#if canImport(Glibc)
import Glibc
#endif

typealias MessageDescriptor = UnsafePointer<ProtobufCMessageDescriptor>

/// Encodes `Proto` values to wire bytes and decodes them back through
/// protobuf-c, driven by the generated descriptors.
enum ProtoCodec {
    // MARK: encoding

    static func encode(_ message: Proto, as descriptor: MessageDescriptor) throws(RPCError) -> [UInt8] {
        let arena = CArena()
        let built = try build(message, descriptor, arena)
        let cmsg = built.assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(cmsg)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { buf -> Int in
            guard let base = buf.baseAddress else { return 0 }
            return protobuf_c_message_pack(cmsg, base)
        }
        guard written == size else {
            throw RPCError.codec("packing \(name(of: descriptor)) wrote \(written) of \(size) bytes")
        }
        return out
    }

    private static func build(_ message: Proto, _ d: MessageDescriptor, _ arena: CArena) throws(RPCError) -> UnsafeMutableRawPointer {
        let mem = try arena.allocate(d.pointee.sizeof_message)
        protobuf_c_message_init(d, mem)
        for f in message.fields {
            guard let field = protobuf_c_message_descriptor_get_field_by_name(d, f.name) else {
                throw RPCError.codec("\(name(of: d)) has no field \(f.name)")
            }
            try set(field, f.value, in: mem, arena)
        }
        return mem
    }

    private static func set(_ f: UnsafePointer<ProtobufCFieldDescriptor>, _ value: ProtoValue,
                            in mem: UnsafeMutableRawPointer, _ arena: CArena) throws(RPCError) {
        let field = f.pointee
        let slot = mem.advanced(by: Int(field.offset))
        if field.label == PROTOBUF_C_LABEL_REPEATED {
            guard case .list(let items) = value else {
                throw RPCError.codec("field \(String(cString: field.name)) is repeated: give a list")
            }
            let width = elementSize(field.type)
            let array = try arena.allocate(max(1, items.count * width))
            for (i, item) in items.enumerated() {
                try write(item, field, at: array.advanced(by: i * width), arena)
            }
            mem.advanced(by: Int(field.quantifier_offset)).storeBytes(of: items.count, as: Int.self)
            slot.storeBytes(of: array, as: UnsafeMutableRawPointer.self)
            return
        }
        try write(value, field, at: slot, arena)
        if field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
            mem.advanced(by: Int(field.quantifier_offset)).storeBytes(of: field.id, as: UInt32.self)
        } else if field.label == PROTOBUF_C_LABEL_OPTIONAL,
                  field.type != PROTOBUF_C_TYPE_STRING, field.type != PROTOBUF_C_TYPE_MESSAGE {
            mem.advanced(by: Int(field.quantifier_offset)).storeBytes(of: 1, as: Int32.self)
        }
    }

    static func elementSize(_ type: ProtobufCType) -> Int {
        switch type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64,
             PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
            return 8
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_MESSAGE:
            return MemoryLayout<UnsafeMutableRawPointer>.size
        case PROTOBUF_C_TYPE_BYTES:
            return MemoryLayout<ProtobufCBinaryData>.size
        default:
            return 4
        }
    }

    private static func write(_ value: ProtoValue, _ field: ProtobufCFieldDescriptor,
                              at p: UnsafeMutableRawPointer, _ arena: CArena) throws(RPCError) {
        let fieldName = String(cString: field.name)
        func mismatch() -> RPCError { RPCError.codec("value \(value) does not fit field \(fieldName)") }
        switch field.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_ENUM:
            switch value {
            case .int(let v): p.storeBytes(of: Int32(truncatingIfNeeded: v), as: Int32.self)
            case .enumeration(let v): p.storeBytes(of: v, as: Int32.self)
            default: throw mismatch()
            }
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            switch value {
            case .uint(let v): p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
            case .int(let v): p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
            default: throw mismatch()
            }
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            switch value {
            case .int(let v): p.storeBytes(of: v, as: Int64.self)
            case .uint(let v): p.storeBytes(of: Int64(bitPattern: v), as: Int64.self)
            default: throw mismatch()
            }
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            switch value {
            case .uint(let v): p.storeBytes(of: v, as: UInt64.self)
            case .int(let v): p.storeBytes(of: UInt64(bitPattern: v), as: UInt64.self)
            default: throw mismatch()
            }
        case PROTOBUF_C_TYPE_FLOAT:
            guard case .double(let v) = value else { throw mismatch() }
            p.storeBytes(of: Float(v), as: Float.self)
        case PROTOBUF_C_TYPE_DOUBLE:
            guard case .double(let v) = value else { throw mismatch() }
            p.storeBytes(of: v, as: Double.self)
        case PROTOBUF_C_TYPE_BOOL:
            guard case .bool(let v) = value else { throw mismatch() }
            p.storeBytes(of: v ? 1 : 0, as: Int32.self)
        case PROTOBUF_C_TYPE_STRING:
            guard case .string(let s) = value else { throw mismatch() }
            p.storeBytes(of: try arena.string(s), as: UnsafeMutablePointer<CChar>.self)
        case PROTOBUF_C_TYPE_BYTES:
            guard case .bytes(let b) = value else { throw mismatch() }
            let data = try arena.allocate(max(1, b.count))
            b.withUnsafeBytes { src in
                if let base = src.baseAddress { data.copyMemory(from: base, byteCount: b.count) }
            }
            let bin = ProtobufCBinaryData(len: b.count, data: data.assumingMemoryBound(to: UInt8.self))
            p.storeBytes(of: bin, as: ProtobufCBinaryData.self)
        case PROTOBUF_C_TYPE_MESSAGE:
            guard case .message(let m) = value, let sub = field.descriptor else { throw mismatch() }
            let child = try build(m, sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self), arena)
            p.storeBytes(of: child, as: UnsafeMutableRawPointer.self)
        default:
            throw RPCError.codec("field \(fieldName) has an unsupported type")
        }
    }

    // MARK: decoding

    static func decode(_ bytes: UnsafeRawBufferPointer, as descriptor: MessageDescriptor) throws(RPCError) -> Proto {
        let allowance = DecodeBudget.allowance(wireBytes: bytes.count)
        switch DecodeBudget.estimate(bytes, as: descriptor, limit: allowance) {
        case .within:
            break
        case .malformed:
            throw RPCError.codec("cannot decode a \(name(of: descriptor)) from \(bytes.count) bytes")
        case .over:
            throw DecodeBudget.tooLarge(name(of: descriptor), wireBytes: bytes.count, allowance: allowance)
        }
        let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let empty: [UInt8] = [0]
        let unpacked: UnsafeMutablePointer<ProtobufCMessage>? = empty.withUnsafeBufferPointer { e in
            protobuf_c_message_unpack(descriptor, nil, bytes.count, base ?? e.baseAddress)
        }
        guard let msg = unpacked else {
            throw RPCError.codec("cannot decode a \(name(of: descriptor)) from \(bytes.count) bytes")
        }
        defer { protobuf_c_message_free_unpacked(msg, nil) }
        return read(UnsafeRawPointer(msg), descriptor)
    }

    /// Decodes a `google.protobuf.Any` payload whose type kctr knows.
    static func decodeAny(typeURL: String, value: [UInt8]) -> Proto? {
        let fullName = typeURL.split(separator: "/").last.map(String.init) ?? typeURL
        guard let d = kctr_message_descriptor(fullName) else { return nil }
        return try? value.withUnsafeBytes { buf throws(RPCError) in try decode(buf, as: d) }
    }

    private static func read(_ msg: UnsafeRawPointer, _ d: MessageDescriptor) -> Proto {
        var out: [ProtoField] = []
        let desc = d.pointee
        guard let fields = desc.fields else { return Proto() }
        for i in 0..<Int(desc.n_fields) {
            let field = fields[i]
            let slot = msg.advanced(by: Int(field.offset))
            if field.label == PROTOBUF_C_LABEL_REPEATED {
                let count = msg.advanced(by: Int(field.quantifier_offset)).load(as: Int.self)
                guard count > 0, let array = slot.load(as: UnsafeRawPointer?.self) else { continue }
                let width = elementSize(field.type)
                var items: [ProtoValue] = []
                items.reserveCapacity(count)
                for j in 0..<count {
                    if let v = element(field, array.advanced(by: j * width)) { items.append(v) }
                }
                out.append(ProtoField(name: String(cString: field.name), value: .list(items)))
                continue
            }
            if field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                let which = msg.advanced(by: Int(field.quantifier_offset)).load(as: UInt32.self)
                if which != field.id { continue }
            } else if field.label == PROTOBUF_C_LABEL_OPTIONAL,
                      field.type != PROTOBUF_C_TYPE_STRING, field.type != PROTOBUF_C_TYPE_MESSAGE {
                if msg.advanced(by: Int(field.quantifier_offset)).load(as: Int32.self) == 0 { continue }
            }
            if let v = element(field, slot) { out.append(ProtoField(name: String(cString: field.name), value: v)) }
        }
        return Proto(unique: out)
    }

    private static func element(_ field: ProtobufCFieldDescriptor, _ p: UnsafeRawPointer) -> ProtoValue? {
        switch field.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            return .int(Int64(p.load(as: Int32.self)))
        case PROTOBUF_C_TYPE_ENUM:
            return .enumeration(p.load(as: Int32.self))
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            return .uint(UInt64(p.load(as: UInt32.self)))
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            return .int(p.load(as: Int64.self))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            return .uint(p.load(as: UInt64.self))
        case PROTOBUF_C_TYPE_FLOAT:
            return .double(Double(p.load(as: Float.self)))
        case PROTOBUF_C_TYPE_DOUBLE:
            return .double(p.load(as: Double.self))
        case PROTOBUF_C_TYPE_BOOL:
            return .bool(p.load(as: Int32.self) != 0)
        case PROTOBUF_C_TYPE_STRING:
            guard let s = p.load(as: UnsafePointer<CChar>?.self) else { return nil }
            return .string(String(cString: s))
        case PROTOBUF_C_TYPE_BYTES:
            let bin = p.load(as: ProtobufCBinaryData.self)
            guard bin.len > 0, let data = bin.data else { return .bytes([]) }
            return .bytes(Array(UnsafeBufferPointer(start: data, count: bin.len)))
        case PROTOBUF_C_TYPE_MESSAGE:
            guard let sub = p.load(as: UnsafeRawPointer?.self), let sd = field.descriptor else { return nil }
            return .message(read(sub, sd.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)))
        default:
            return nil
        }
    }

    static func name(of d: MessageDescriptor) -> String {
        guard let n = d.pointee.name else { return "message" }
        return String(cString: n)
    }
}

/// Owns every C allocation made while building one request message.
private final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    func allocate(_ size: Int) throws(RPCError) -> UnsafeMutableRawPointer {
        guard let p = calloc(1, max(size, 1)) else { throw RPCError.codec("out of memory (\(size) bytes)") }
        blocks.append(p)
        return p
    }

    func string(_ s: String) throws(RPCError) -> UnsafeMutablePointer<CChar> {
        let utf8 = Array(s.utf8)
        let p = try allocate(utf8.count + 1)
        utf8.withUnsafeBytes { src in
            if let base = src.baseAddress { p.copyMemory(from: base, byteCount: utf8.count) }
        }
        return p.assumingMemoryBound(to: CChar.self)
    }

    deinit {
        for p in blocks { free(p) }
    }
}
