import Foundation
import KctrRPC

/// A decoded message as JSON, with protobuf's JSON field names
/// (lowerCamelCase); map fields become objects, bytes base64.
public enum ProtoJSON {
    public static func value(_ p: Proto) -> JSONValue {
        var out: [String: JSONValue] = [:]
        for f in p.fields { out[camel(f.name)] = value(f.value) }
        return .object(out)
    }

    static func value(_ v: ProtoValue) -> JSONValue {
        switch v {
        case .int(let i): return .number(Double(i))
        case .uint(let u): return .number(Double(u))
        case .double(let d): return .number(d)
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        case .bytes(let b): return .string(Data(b).base64EncodedString())
        case .enumeration(let e): return .number(Double(e))
        case .message(let m): return value(m)
        case .list(let items):
            // map<k, v> fields arrive as entries {key, value}.
            let entries = items.compactMap { item -> (String, ProtoValue)? in
                guard case .message(let m) = item, m.fields.count <= 2, case .string(let k)? = m["key"] else { return nil }
                return (k, m["value"] ?? .string(""))
            }
            if !items.isEmpty && entries.count == items.count {
                return .object(Dictionary(entries.map { ($0.0, value($0.1)) }, uniquingKeysWith: { a, _ in a }))
            }
            return .array(items.map(value))
        }
    }

    static func camel(_ snake: String) -> String { ProtoSchema.jsonName(snake) }

    /// The message `schema` describes, built from a document an operator wrote (protobuf's JSON
    /// mapping: JSON or proto field names, enum names or numbers, int64 as numbers or strings,
    /// maps as objects). Unknown fields and wrong types are refused, naming the path.
    public static func proto(from value: JSONValue, schema: ProtoSchema, path: String = "") throws -> Proto {
        guard case .object(let object) = value else {
            throw KctrError("\(path.isEmpty ? "the document" : path) must be an object (a \(schema))")
        }
        var out = Proto()
        for (key, item) in object.sorted(by: { $0.key < $1.key }) {
            let at = path.isEmpty ? key : "\(path).\(key)"
            guard let field = schema.field(key) else {
                throw KctrError("\(at): \(schema) has no field \(key)",
                                hint: "fields: \(schema.fields.map(\.jsonName).joined(separator: ", "))")
            }
            if case .null = item { continue }
            if field.isMap {
                guard case .object(let entries) = item, let entry = schema.schema(of: field.name),
                      let valueField = entry.field("value") else {
                    throw KctrError("\(at) must be an object (a map)")
                }
                out[field.name] = .list(try entries.sorted(by: { $0.key < $1.key }).map { k, v in
                    .message(Proto(["key": .string(k), "value": try scalar(v, valueField, schema: entry, at: "\(at).\(k)")]))
                })
            } else if field.repeated {
                guard case .array(let items) = item else { throw KctrError("\(at) must be a list") }
                out[field.name] = .list(try items.enumerated().map { i, v in try scalar(v, field, schema: schema, at: "\(at)[\(i)]") })
            } else {
                out[field.name] = try scalar(item, field, schema: schema, at: at)
            }
        }
        return out
    }

    private static func scalar(_ v: JSONValue, _ field: ProtoSchema.Field, schema: ProtoSchema, at: String) throws -> ProtoValue {
        func wrong(_ want: String) -> KctrError { KctrError("\(at) must be \(want)") }
        switch (field.kind, v) {
        case (.message, _):
            guard let sub = schema.schema(of: field.name) else { throw wrong("a message") }
            return .message(try proto(from: v, schema: sub, path: at))
        case (.string, .string(let s)): return .string(s)
        case (.bool, .bool(let b)): return .bool(b)
        case (.double, .number(let d)): return .double(d)
        case (.int, .number(let d)) where d.rounded() == d && abs(d) < 9.2e18: return .int(Int64(d))
        case (.int, .string(let s)): guard let i = Int64(s) else { throw wrong("an integer") }; return .int(i)
        case (.uint, .number(let d)) where d.rounded() == d && d >= 0 && d < 1.8e19: return .uint(UInt64(d))
        case (.uint, .string(let s)): guard let u = UInt64(s) else { throw wrong("an unsigned integer") }; return .uint(u)
        case (.bytes, .string(let s)):
            guard let data = Data(base64Encoded: s) else { throw wrong("base64") }
            return .bytes(Array(data))
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
