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

    static func camel(_ snake: String) -> String {
        var out = ""
        var upper = false
        for c in snake {
            if c == "_" { upper = true; continue }
            out.append(upper ? Character(c.uppercased()) : c)
            upper = false
        }
        return out
    }
}
