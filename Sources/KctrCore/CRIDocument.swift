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
    /// Protobuf's JSON of `message` (EmitDefaultValues).
    public static func message<M: GeneratedMessage>(_ message: M) -> JSONValue {
        JSONValue(MessageDocuments.protobufJSON(message))
    }

    /// What Go's encoding/json writes for a generated message (crictl's `info` prints runtime handlers and
    /// features so): proto field names, zero values left out (`omitempty`), 64-bit integers as numbers.
    public static func goStruct<M: GeneratedMessage>(_ message: M) -> JSONValue {
        JSONValue(MessageDocuments.goStruct(message))
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
    public static func containerStatus(_ status: CRI.ContainerStatus) -> JSONValue {
        guard case .object(var out) = JSONValue(MessageDocuments.allFields(status)) else { return .null }
        out["createdAt"] = .string(rfc3339(nanoseconds: status.createdAt))
        // Go's zero time until the container started (CREATED) or finished (EXITED, or UNKNOWN with a time).
        out["startedAt"] = .string(status.state == .containerCreated ? zeroTime : rfc3339(nanoseconds: status.startedAt))
        let finished = status.state == .containerExited || (status.state == .containerUnknown && status.finishedAt > 0)
        out["finishedAt"] = .string(finished ? rfc3339(nanoseconds: status.finishedAt) : zeroTime)
        return .object(out)
    }

    /// crictl's `status` of a pod sandbox (inspectp): every top-level field, createdAt as RFC 3339.
    public static func podSandboxStatus(_ status: CRI.PodSandboxStatus) -> JSONValue {
        guard case .object(var out) = JSONValue(MessageDocuments.allFields(status)) else { return .null }
        out["createdAt"] = .string(rfc3339(nanoseconds: status.createdAt))
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
}
