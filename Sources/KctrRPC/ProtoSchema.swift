internal import CGRPCShim

/// A message type's fields as the generated descriptors describe them, for building a `Proto`
/// from a document an operator wrote (crictl's `--pod-config` JSON or YAML): names, JSON names,
/// kinds, enum names. Pure Swift values: no C type leaves KctrRPC.
struct ProtoSchema: Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case int, uint, double, bool, string, bytes
        /// Enum value names -> numbers.
        case enumeration([String: Int32])
        case message
    }

    public struct Field: Sendable {
        /// The proto field name (`pod_sandbox_id`).
        public var name: String
        /// protobuf's JSON name (`podSandboxId`).
        public var jsonName: String
        public var kind: Kind
        public var repeated: Bool
        /// A `map<K, V>` field: repeated `{key, value}` entries.
        public var isMap: Bool
        /// A 64-bit integer (protobuf's JSON writes these as strings).
        public var is64: Bool
    }

    // @unchecked: the descriptor is protobuf-c's static, immutable generated data.
    private struct Descriptor: @unchecked Sendable { let pointer: MessageDescriptor }
    private let descriptor: Descriptor

    private init(_ d: MessageDescriptor) { descriptor = Descriptor(pointer: d) }

    /// The full type name, e.g. `runtime.v1.PodSandboxConfig`.
    public var description: String { String(cString: descriptor.pointer.pointee.name) }

    /// The message type named `fullName` (`runtime.v1.Container`) among those kctr's services and
    /// event payloads reach, or nil.
    static func named(_ fullName: String) -> ProtoSchema? {
        index[fullName].map { ProtoSchema($0.pointer) }
    }

    /// Every message type the services and event payloads reach, by full name: built once.
    private static let index: [String: Descriptor] = {
        var out: [String: Descriptor] = [:]
        func add(_ d: MessageDescriptor) {
            let name = String(cString: d.pointee.name)
            guard out[name] == nil else { return }
            out[name] = Descriptor(pointer: d)
            for i in 0..<Int(d.pointee.n_fields) {
                let f = d.pointee.fields[i]
                if f.type == PROTOBUF_C_TYPE_MESSAGE, let sub = f.descriptor {
                    add(sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
                }
            }
        }
        var i = 0
        while let service = kctr_service_descriptor_at(i) {
            for m in 0..<Int(service.pointee.n_methods) {
                let method = service.pointee.methods[m]
                if let input = method.input { add(input) }
                if let output = method.output { add(output) }
            }
            i += 1
        }
        i = 0
        while let message = kctr_message_descriptor_at(i) {
            add(message)
            i += 1
        }
        return out
    }()

    /// The request type of `method`.
    public static func request(of method: RPCMethod) throws(RPCError) -> ProtoSchema {
        ProtoSchema(try method.descriptors().input)
    }

    /// The reply type of `method`.
    public static func reply(of method: RPCMethod) throws(RPCError) -> ProtoSchema {
        ProtoSchema(try method.descriptors().output)
    }

    public var fields: [Field] {
        let d = descriptor.pointer.pointee
        return (0..<Int(d.n_fields)).map { i in Self.field(d.fields[i]) }
    }

    /// The field whose proto name or JSON name is `name`.
    public func field(_ name: String) -> Field? {
        if let f = protobuf_c_message_descriptor_get_field_by_name(descriptor.pointer, name) { return Self.field(f.pointee) }
        return fields.first { $0.jsonName == name }
    }

    /// The schema of a message field (for a map field: its entry type, with fields key and value).
    public func schema(of field: String) -> ProtoSchema? {
        guard let f = protobuf_c_message_descriptor_get_field_by_name(descriptor.pointer, field),
              f.pointee.type == PROTOBUF_C_TYPE_MESSAGE, let sub = f.pointee.descriptor else { return nil }
        return ProtoSchema(sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
    }

    /// protobuf's JSON name: underscores dropped, the letter after each upper-cased
    /// (protobuf-c 1.4 does not carry it in its descriptors).
    public static func jsonName(_ name: String) -> String {
        var out = ""
        var upper = false
        for c in name {
            if c == "_" { upper = true; continue }
            out.append(upper ? Character(c.uppercased()) : c)
            upper = false
        }
        return out
    }

    private static func field(_ f: ProtobufCFieldDescriptor) -> Field {
        let name = String(cString: f.name)
        var kind: Kind
        switch f.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32,
             PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            kind = .int
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            kind = .uint
        case PROTOBUF_C_TYPE_FLOAT, PROTOBUF_C_TYPE_DOUBLE: kind = .double
        case PROTOBUF_C_TYPE_BOOL: kind = .bool
        case PROTOBUF_C_TYPE_STRING: kind = .string
        case PROTOBUF_C_TYPE_BYTES: kind = .bytes
        case PROTOBUF_C_TYPE_ENUM:
            var names: [String: Int32] = [:]
            if let raw = f.descriptor {
                let e = raw.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee
                for i in 0..<Int(e.n_values) { names[String(cString: e.values[i].name)] = Int32(e.values[i].value) }
            }
            kind = .enumeration(names)
        default: kind = .message
        }
        var isMap = false
        if kind == .message, f.label == PROTOBUF_C_LABEL_REPEATED, let raw = f.descriptor {
            let sub = raw.assumingMemoryBound(to: ProtobufCMessageDescriptor.self).pointee
            isMap = sub.n_fields == 2 && String(cString: sub.name).hasSuffix("Entry")
                && String(cString: sub.fields[0].name) == "key" && String(cString: sub.fields[1].name) == "value"
        }
        let is64 = [PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64,
                    PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64].contains(f.type)
        return Field(name: name, jsonName: jsonName(name), kind: kind, repeated: f.label == PROTOBUF_C_LABEL_REPEATED,
                     isMap: isMap, is64: is64)
    }
}
