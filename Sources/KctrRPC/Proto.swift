/// Swift values for protobuf messages, independent of any C type. Internal to KctrRPC: above it,
/// messages are the generated structs of Generated/swift.
///
/// The RPC layer decodes every response into a `Proto` by walking
/// protobuf-c's descriptors, and encodes requests the same way, so that no
/// generated C struct ever leaves KctrRPC. Field names are the .proto names.
enum ProtoValue: Sendable, Equatable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string(String)
    case bytes([UInt8])
    case enumeration(Int32)
    case message(Proto)
    case list([ProtoValue])
}

/// One field of a `Proto`.
struct ProtoField: Sendable, Equatable {
    var name: String
    var value: ProtoValue

    init(name: String, value: ProtoValue) {
        self.name = name
        self.value = value
    }
}

/// A message as its set fields.
///
/// The fields are a small array searched in order, not a dictionary: a message has a handful of fields,
/// and a dictionary's hash buckets (plus a boxed value each while the enum was `indirect`) made a
/// 5,000-image `Images.List` response take ~10 MiB more at its peak than the fields themselves.
/// Equality ignores the order of the fields.
struct Proto: Sendable, Equatable {
    private(set) var fields: [ProtoField]

    init(_ fields: [String: ProtoValue] = [:]) {
        self.fields = fields.map { ProtoField(name: $0.key, value: $0.value) }
    }

    /// Fields known to have distinct names (the decoder's, one per descriptor field).
    init(unique fields: [ProtoField]) {
        self.fields = fields
    }

    subscript(_ name: String) -> ProtoValue? {
        get {
            for f in fields where f.name == name { return f.value }
            return nil
        }
        set {
            if let i = fields.firstIndex(where: { $0.name == name }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append(ProtoField(name: name, value: newValue))
            }
        }
    }

    static func == (a: Proto, b: Proto) -> Bool {
        guard a.fields.count == b.fields.count else { return false }
        return a.fields.allSatisfy { b[$0.name] == $0.value }
    }

    // Accessors return the proto3 default when a field is absent.

    func string(_ name: String) -> String {
        if case .string(let s)? = self[name] { return s }
        return ""
    }

    func int(_ name: String) -> Int64 {
        switch self[name] {
        case .int(let v)?: return v
        case .uint(let v)?: return Int64(clamping: v)
        case .enumeration(let v)?: return Int64(v)
        default: return 0
        }
    }

    func uint(_ name: String) -> UInt64 {
        switch self[name] {
        case .uint(let v)?: return v
        case .int(let v)?: return v < 0 ? 0 : UInt64(v)
        default: return 0
        }
    }

    func bool(_ name: String) -> Bool {
        if case .bool(let b)? = self[name] { return b }
        return false
    }

    func double(_ name: String) -> Double {
        if case .double(let d)? = self[name] { return d }
        return 0
    }

    func bytes(_ name: String) -> [UInt8] {
        if case .bytes(let b)? = self[name] { return b }
        return []
    }

    func enumValue(_ name: String) -> Int32 {
        switch self[name] {
        case .enumeration(let v)?: return v
        case .int(let v)?: return Int32(truncatingIfNeeded: v)
        default: return 0
        }
    }

    /// The sub-message, or nil when it is not set.
    func message(_ name: String) -> Proto? {
        if case .message(let m)? = self[name] { return m }
        return nil
    }

    func has(_ name: String) -> Bool { self[name] != nil }

    func messages(_ name: String) -> [Proto] {
        guard case .list(let items)? = self[name] else { return [] }
        return items.compactMap { if case .message(let m) = $0 { return m } else { return nil } }
    }

    func strings(_ name: String) -> [String] {
        guard case .list(let items)? = self[name] else { return [] }
        return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    /// A `map<string, string>` field (repeated key/value entries).
    func map(_ name: String) -> [String: String] {
        var out: [String: String] = [:]
        for entry in messages(name) {
            out[entry.string("key")] = entry.string("value")
        }
        return out
    }

    /// A `google.protobuf.Timestamp` field as seconds since 1970, or nil.
    func timestamp(_ name: String) -> Double? {
        guard let t = message(name) else { return nil }
        return Double(t.int("seconds")) + Double(t.int("nanos")) / 1e9
    }
}

extension ProtoValue {
    /// A `map<string, string>` field value.
    static func map(_ dict: [String: String]) -> ProtoValue {
        .list(dict.keys.sorted().map { key in
            .message(Proto(["key": .string(key), "value": .string(dict[key] ?? "")]))
        })
    }

    static func strings(_ values: [String]) -> ProtoValue {
        .list(values.map { .string($0) })
    }
}
