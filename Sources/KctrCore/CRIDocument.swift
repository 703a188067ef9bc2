import Foundation
import KctrRPC

/// The documents crictl prints for `-o json` and `-o yaml`, built the way crictl 1.36 builds them, so that
/// a jq line written for crictl reads kctr's output too. What kctr adds goes under the key `kctr`.
///
/// - Messages: protobuf's JSON mapping with default values emitted (crictl's `protojson.MarshalOptions
///   {EmitDefaultValues: true}`): lowerCamelCase names, enum value names, 64-bit integers as strings,
///   bytes as base64, maps as objects; unset message fields left out, empty lists and maps written.
/// - `inspect`, `inspectp`, `images inspect`, `info`: an object with `status` (the message) and each entry
///   of the runtime's verbose info next to it, parsed when it is a JSON object, else a string without its quotes.
///   The statuses of containers and sandboxes list every top-level field (an unset message as null) and
///   carry their times as RFC 3339 (crictl's marshalContainerStatus / marshalPodSandboxStatus).
public enum CRIDocument {
    /// Protobuf's JSON of `p` (EmitDefaultValues).
    public static func message(_ p: Proto, _ schema: ProtoSchema) -> JSONValue {
        var out: [String: JSONValue] = [:]
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

    /// What Go's encoding/json writes for a generated message (crictl's `info` prints runtime handlers and
    /// features so): proto field names, zero values left out (`omitempty`), 64-bit integers as numbers.
    public static func goStruct(_ p: Proto, _ schema: ProtoSchema) -> JSONValue {
        var out: [String: JSONValue] = [:]
        for field in schema.fields {
            guard let v = p[field.name] else { continue }
            let sub = schema.schema(of: field.name)
            func one(_ v: ProtoValue) -> JSONValue {
                if case .message(let m) = v, let sub { return goStruct(m, sub) }
                if case .enumeration(let n) = v { return .number(Double(n)) }
                return ProtoJSON.value(v)
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

    /// crictl's document of one status: `status`, and each entry of the runtime's verbose info next to it
    /// (containerd's is one entry, `info`).
    public static func status(_ status: JSONValue, info: [String: String]) -> JSONValue {
        var out = self.info(info)
        out["status"] = status
        return .object(out)
    }

    /// The verbose info as crictl prints it next to `status`: an entry that starts with `{` parsed as JSON,
    /// any other kept as a string with its double quotes trimmed.
    public static func info(_ info: [String: String]) -> [String: JSONValue] {
        info.mapValues { text in
            if text.hasPrefix("{"), case .object(let o)? = JSONParser.parse(text) { return .object(o) }
            return .string(text.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
    }

    /// crictl's `status` of a container (inspect): every top-level field, times as RFC 3339.
    public static func containerStatus(_ p: Proto, _ schema: ProtoSchema) -> JSONValue {
        guard case .object(var out) = allFields(p, schema) else { return .null }
        let state = p.enumValue("state")
        out["createdAt"] = .string(rfc3339(nanoseconds: p.int("created_at")))
        // Go's zero time until the container started (CREATED) or finished (EXITED, or UNKNOWN with a time).
        out["startedAt"] = .string(state == 0 ? zeroTime : rfc3339(nanoseconds: p.int("started_at")))
        let finished = state == 2 || (state == 3 && p.int("finished_at") > 0)
        out["finishedAt"] = .string(finished ? rfc3339(nanoseconds: p.int("finished_at")) : zeroTime)
        return .object(out)
    }

    /// crictl's `status` of a pod sandbox (inspectp): every top-level field, createdAt as RFC 3339.
    public static func podSandboxStatus(_ p: Proto, _ schema: ProtoSchema) -> JSONValue {
        guard case .object(var out) = allFields(p, schema) else { return .null }
        out["createdAt"] = .string(rfc3339(nanoseconds: p.int("created_at")))
        return .object(out)
    }

    /// crictl prints one status as the object itself and several as an array.
    public static func statuses(_ items: [JSONValue]) -> JSONValue {
        items.count == 1 ? items[0] : .array(items)
    }

    /// `base` (an object) with `extra` under the key `kctr`; `base` unchanged when `extra` is empty.
    public static func adding(_ extra: [String: JSONValue], to base: JSONValue) -> JSONValue {
        guard case .object(var o) = base, !extra.isEmpty else { return base }
        o["kctr"] = .object(extra)
        return .object(o)
    }

    /// An Encodable value as a JSON document (for kctr's own rows under `kctr`).
    public static func encoded<T: Encodable>(_ value: T) throws -> JSONValue {
        JSONValue.parse(try Render.jsonLine(value))
    }

    /// Go's `time.Time{}` as RFC 3339.
    static let zeroTime = "0001-01-01T00:00:00Z"

    /// Go's `time.Unix(0, ns).Format(time.RFC3339Nano)` in UTC: nanoseconds with trailing zeros dropped.
    public static func rfc3339(nanoseconds ns: Int64) -> String {
        let seconds = ns >= 0 ? ns / 1_000_000_000 : (ns + 1) / 1_000_000_000 - 1
        let fraction = ns - seconds * 1_000_000_000
        var t = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return "\(ns)" }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        var year = "\(Int(parts.tm_year) + 1900)"
        while year.count < 4 { year = "0" + year }
        var text = "\(year)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        if fraction > 0 {
            var digits = String(fraction)
            digits = String(repeating: "0", count: 9 - digits.count) + digits
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "Z"
    }

    /// Every top-level field of the struct crictl walks (marshalMapInOrder): unset messages as null.
    private static func allFields(_ p: Proto, _ schema: ProtoSchema) -> JSONValue {
        guard case .object(var out) = message(p, schema) else { return .null }
        for field in schema.fields where out[field.jsonName] == nil { out[field.jsonName] = .null }
        return .object(out)
    }

    private static func defaultValue(_ field: ProtoSchema.Field) -> JSONValue {
        switch field.kind {
        case .int, .uint: return field.is64 ? .string("0") : .number(0)
        case .double: return .number(0)
        case .bool: return .bool(false)
        case .string, .bytes: return .string("")
        case .enumeration(let names): return .string(names.first { $0.value == 0 }?.key ?? "0")
        case .message: return .null
        }
    }

    private static func value(_ v: ProtoValue, _ field: ProtoSchema.Field, _ schema: ProtoSchema) -> JSONValue {
        switch v {
        case .list(let items):
            if field.isMap, let entry = schema.schema(of: field.name), let valueField = entry.field("value") {
                var out: [String: JSONValue] = [:]
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

    private static func scalar(_ v: ProtoValue, _ field: ProtoSchema.Field, _ schema: ProtoSchema) -> JSONValue {
        switch v {
        case .int(let i): return field.is64 ? .string("\(i)") : .number(Double(i))
        case .uint(let u): return field.is64 ? .string("\(u)") : .number(Double(u))
        case .enumeration(let n):
            if case .enumeration(let names) = field.kind, let name = names.first(where: { $0.value == n })?.key {
                return .string(name)
            }
            return .number(Double(n))
        case .message(let m):
            guard let sub = schema.schema(of: field.name) else { return ProtoJSON.value(m) }
            return message(m, sub)
        default:
            return ProtoJSON.value(v)
        }
    }
}
