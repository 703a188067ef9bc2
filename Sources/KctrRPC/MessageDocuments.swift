/// A JSON-shaped value, what KctrRPC gives out for a message walked by its descriptors (and takes in for a
/// message an operator wrote). KctrCore turns it into its own JSON type.
public enum DocumentValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([DocumentValue])
    case object([String: DocumentValue])
}

/// A document that does not describe the message it should (an operator's `--pod-config`): what is wrong, where.
public struct DocumentError: Error, Sendable, Equatable {
    public var message: String
    public var hint: String?
}

/// Generated messages as documents, walked by protobuf-c's descriptors, so that field names, JSON names and
/// enum names all come from the .proto files.
public enum MessageDocuments {
    /// protobuf's JSON mapping with default values emitted (crictl's `protojson.MarshalOptions{EmitDefaultValues:
    /// true}`): lowerCamelCase names, enum value names, 64-bit integers as strings, bytes as base64, maps as
    /// objects; unset message fields left out, empty lists and maps written.
    public static func protobufJSON<M: GeneratedMessage>(_ message: M) -> DocumentValue {
        guard let schema = ProtoSchema.named(M.protoName) else { return plain(message.anyProto) }
        return protobufJSON(message.anyProto, schema)
    }

    /// `protobufJSON`, with every top-level field present: an unset message as null (crictl's marshalMapInOrder
    /// over the status structs).
    public static func allFields<M: GeneratedMessage>(_ message: M) -> DocumentValue {
        guard let schema = ProtoSchema.named(M.protoName),
              case .object(var out) = protobufJSON(message.anyProto, schema) else { return plain(message.anyProto) }
        for field in schema.fields where out[field.jsonName] == nil { out[field.jsonName] = .null }
        return .object(out)
    }

    /// What Go's encoding/json writes for a generated message (crictl's `info` prints runtime handlers and
    /// features so): proto field names, zero values left out (`omitempty`), 64-bit integers and enums as numbers.
    public static func goStruct<M: GeneratedMessage>(_ message: M) -> DocumentValue {
        guard let schema = ProtoSchema.named(M.protoName) else { return plain(message.anyProto) }
        return goStruct(message.anyProto, schema)
    }

    /// The set fields with protobuf's JSON names, enums as numbers, maps as objects, bytes as base64: a message
    /// whose type only the daemon's reply names (an event payload).
    public static func plain<M: GeneratedMessage>(_ message: M) -> DocumentValue {
        plain(message.anyProto)
    }

    /// The message of type `M` that `document` describes (protobuf's JSON mapping: JSON or proto field names,
    /// enum names or numbers, int64 as numbers or strings, maps as objects). Unknown fields and wrong types
    /// are refused, naming the path.
    public static func message<M: GeneratedMessage>(_ document: DocumentValue, as type: M.Type) throws(DocumentError) -> M {
        guard let schema = ProtoSchema.named(M.protoName), let made = M.self as? any ProtoMessage.Type else {
            throw DocumentError(message: "kctr has no descriptor of \(M.protoName)")
        }
        let proto = try message(from: document, schema: schema, path: "")
        guard let value = made.init(proto: proto) as? M else {
            throw DocumentError(message: "kctr has no descriptor of \(M.protoName)")
        }
        return value
    }

    // MARK: walking Proto along its schema

    static func protobufJSON(_ p: Proto, _ schema: ProtoSchema) -> DocumentValue {
        var out: [String: DocumentValue] = [:]
        for field in schema.fields {
            if let v = p[field.name] {
                out[field.jsonName] = value(v, field, schema)
            } else if field.isMap {
                out[field.jsonName] = .object([:])
            } else if field.repeated {
                out[field.jsonName] = .array([])
            } else if field.kind != .message {
                out[field.jsonName] = defaultValue(field)
            }
        }
        return .object(out)
    }

    static func goStruct(_ p: Proto, _ schema: ProtoSchema) -> DocumentValue {
        var out: [String: DocumentValue] = [:]
        for field in schema.fields {
            guard let v = p[field.name] else { continue }
            let sub = schema.schema(of: field.name)
            func one(_ v: ProtoValue) -> DocumentValue {
                if case .message(let m) = v, let sub { return goStruct(m, sub) }
                if case .enumeration(let n) = v { return .number(Double(n)) }
                return plain(v)
            }
            switch v {
            case .list(let items) where items.isEmpty: continue
            case .list(let items): out[field.name] = .array(items.map(one))
            case .string(""), .bool(false), .int(0), .uint(0), .double(0), .enumeration(0): continue
            default: out[field.name] = one(v)
            }
        }
        return .object(out)
    }

    static func plain(_ p: Proto) -> DocumentValue {
        var out: [String: DocumentValue] = [:]
        for f in p.fields { out[ProtoSchema.jsonName(f.name)] = plain(f.value) }
        return .object(out)
    }

    static func plain(_ v: ProtoValue) -> DocumentValue {
        switch v {
        case .int(let i): return .number(Double(i))
        case .uint(let u): return .number(Double(u))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(Base64.encode(b))
        case .enumeration(let e): return .number(Double(e))
        case .message(let m): return plain(m)
        case .list(let items):
            // map<k, v> fields arrive as entries {key, value}.
            let entries = items.compactMap { item -> (String, ProtoValue)? in
                guard case .message(let m) = item, m.fields.count <= 2, case .string(let k)? = m["key"] else { return nil }
                return (k, m["value"] ?? .string(""))
            }
            if !items.isEmpty && entries.count == items.count {
                return .object(Dictionary(entries.map { ($0.0, plain($0.1)) }, uniquingKeysWith: { a, _ in a }))
            }
            return .array(items.map(plain))
        }
    }

    private static func defaultValue(_ field: ProtoSchema.Field) -> DocumentValue {
        switch field.kind {
        case .int, .uint: return field.is64 ? .string("0") : .number(0)
        case .double: return .number(0)
        case .bool: return .bool(false)
        case .string, .bytes: return .string("")
        case .enumeration(let names): return .string(names.first { $0.value == 0 }?.key ?? "0")
        case .message: return .null
        }
    }

    private static func value(_ v: ProtoValue, _ field: ProtoSchema.Field, _ schema: ProtoSchema) -> DocumentValue {
        switch v {
        case .list(let items):
            if field.isMap, let entry = schema.schema(of: field.name), let valueField = entry.field("value") {
                var out: [String: DocumentValue] = [:]
                for case .message(let m) in items {
                    let key: String
                    switch m["key"] {
                    case .string(let s)?: key = s
                    case .int(let i)?: key = "\(i)"
                    case .uint(let u)?: key = "\(u)"
                    case .bool(let b)?: key = "\(b)"
                    default: key = ""
                    }
                    out[key] = m["value"].map { value($0, valueField, entry) } ?? defaultValue(valueField)
                }
                return .object(out)
            }
            return .array(items.map { scalar($0, field, schema) })
        default:
            return scalar(v, field, schema)
        }
    }

    private static func scalar(_ v: ProtoValue, _ field: ProtoSchema.Field, _ schema: ProtoSchema) -> DocumentValue {
        switch v {
        case .int(let i): return field.is64 ? .string("\(i)") : .number(Double(i))
        case .uint(let u): return field.is64 ? .string("\(u)") : .number(Double(u))
        case .enumeration(let n):
            if case .enumeration(let names) = field.kind, let name = names.first(where: { $0.value == n })?.key {
                return .string(name)
            }
            return .number(Double(n))
        case .message(let m):
            guard let sub = schema.schema(of: field.name) else { return plain(m) }
            return protobufJSON(m, sub)
        default:
            return plain(v)
        }
    }

    // MARK: reading an operator's document

    private static func message(from value: DocumentValue, schema: ProtoSchema, path: String) throws(DocumentError) -> Proto {
        guard case .object(let object) = value else {
            throw DocumentError(message: "\(path.isEmpty ? "the document" : path) must be an object (a \(schema))")
        }
        var out = Proto()
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let at = path.isEmpty ? key : "\(path).\(key)"
            guard let field = schema.field(key) else {
                throw DocumentError(message: "\(at): \(schema) has no field \(key)",
                                    hint: "fields: \(schema.fields.map(\.jsonName).joined(separator: ", "))")
            }
            if case .null = item { continue }
            if field.isMap {
                guard case .object(let entries) = item, let entry = schema.schema(of: field.name),
                      let valueField = entry.field("value") else {
                    throw DocumentError(message: "\(at) must be an object (a map)")
                }
                var list: [ProtoValue] = []
                for (k, v) in entries.sorted(by: { $0.key < $1.key }) {
                    list.append(.message(Proto(["key": .string(k), "value": try scalar(v, valueField, schema: entry, at: "\(at).\(k)")])))
                }
                out[field.name] = .list(list)
            } else if field.repeated {
                guard case .array(let items) = item else { throw DocumentError(message: "\(at) must be a list") }
                var list: [ProtoValue] = []
                for (i, v) in items.enumerated() { list.append(try scalar(v, field, schema: schema, at: "\(at)[\(i)]")) }
                out[field.name] = .list(list)
            } else {
                out[field.name] = try scalar(item, field, schema: schema, at: at)
            }
        }
        return out
    }

    private static func scalar(_ v: DocumentValue, _ field: ProtoSchema.Field, schema: ProtoSchema, at: String) throws(DocumentError) -> ProtoValue {
        func wrong(_ want: String) -> DocumentError { DocumentError(message: "\(at) must be \(want)") }
        switch (field.kind, v) {
        case (.message, _):
            guard let sub = schema.schema(of: field.name) else { throw wrong("a message") }
            return .message(try message(from: v, schema: sub, path: at))
        case (.string, .string(let s)): return .string(s)
        case (.bool, .bool(let b)): return .bool(b)
        case (.double, .number(let d)): return .double(d)
        case (.int, .number(let d)) where d.rounded() == d && abs(d) < 9.2e18: return .int(Int64(d))
        case (.int, .string(let s)): guard let i = Int64(s) else { throw wrong("an integer") }; return .int(i)
        case (.uint, .number(let d)) where d.rounded() == d && d >= 0 && d < 1.8e19: return .uint(UInt64(d))
        case (.uint, .string(let s)): guard let u = UInt64(s) else { throw wrong("an unsigned integer") }; return .uint(u)
        case (.bytes, .string(let s)):
            guard let data = Base64.decode(s) else { throw wrong("base64") }
            return .bytes(data)
        case (.enumeration(let names), .string(let s)):
            guard let n = names[s] else { throw wrong("one of \(names.sorted { $0.value < $1.value }.map(\.key).joined(separator: ", "))") }
            return .enumeration(n)
        case (.enumeration(let names), .number(let d)):
            guard let n = names.values.first(where: { Double($0) == d }) else { throw wrong("one of \(names.keys.sorted().joined(separator: ", "))") }
            return .enumeration(n)
        case (.int, _), (.uint, _): throw wrong("an integer")
        case (.double, _): throw wrong("a number")
        case (.bool, _): throw wrong("true or false")
        case (.string, _), (.bytes, _): throw wrong("a string")
        case (.enumeration(let names), _): throw wrong("one of \(names.keys.sorted().joined(separator: ", "))")
        }
    }
}

/// RFC 4648 base64 with padding, as protobuf's JSON writes bytes (KctrRPC does without Foundation).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i])
            let b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0
            let b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(i + 2 < bytes.count ? alphabet[Int(n & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `text` is not padded base64.
    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var n: UInt32 = 0
            var pad = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if c == UInt8(ascii: "=") && i + 4 == chars.count && j >= 2 {
                    pad += 1
                    n <<= 6
                    continue
                }
                guard pad == 0, let v = alphabet.firstIndex(of: c) else { return nil }
                n = n << 6 | UInt32(v)
            }
            out.append(UInt8(n >> 16 & 255))
            if pad < 2 { out.append(UInt8(n >> 8 & 255)) }
            if pad < 1 { out.append(UInt8(n & 255)) }
            i += 4
        }
        return out
    }
}
