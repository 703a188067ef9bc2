import Foundation
import KctrRPC

/// `kctr events`: containerd's event stream, filtered server-side and printed one line per event.
public struct Events: Sendable {
    public let session: Session

    public init(session: Session) { self.session = session }

    /// Follows the stream until cancelled (rethrown as is) or until the daemon
    /// ends it or goes away (a `KctrError` naming containerd).
    public func watch(filters: [String], onEvent: (EventEnvelope) async throws -> Void) async throws {
        let path = session.config.endpoint.path
        let hint = "the daemon stopped or restarted: check systemctl status containerd and journalctl -u containerd, then run kctr events again"
        do {
            try await session.containerd.subscribe(filters: filters, onEvent: onEvent)
        } catch let e as RPCError {
            if Task.isCancelled || e.code == .cancelled { throw CancellationError() }
            // containerd 1.6 says so with Unknown: "failed parsing subscription filters: ...".
            if e.code == .invalidArgument || e.message.contains("parsing subscription filters") || e.message.contains("filters: parse error") {
                throw KctrError.usage("containerd rejected the event filters \(filters): \(e.message)",
                                      hint: "see --help for the filter syntax, e.g. topic==\"/tasks/exit\"")
            }
            // Never connected: the usual "is containerd running?" explanation.
            if e.code == .unavailable && e.message.contains("failed to connect") {
                throw session.explain(e, doing: "subscribing to events")
            }
            if e.code == .unavailable || e.code == .internal || e.code == .unknown {
                throw KctrError("the event stream from containerd at \(path) broke: \(e.code.name): \(e.message)", hint: hint)
            }
            throw session.explain(e, doing: "following events")
        }
        if Task.isCancelled { throw CancellationError() }
        throw KctrError("containerd at \(path) ended the event stream", hint: hint)
    }
}

/// Containerd filter expressions for `kctr events`.
public enum EventFilters {
    /// `--topic PREFIX` as a containerd filter: `topic~="^PREFIX"` with the
    /// prefix's regular-expression characters made literal. The value is
    /// quoted as containerd unquotes it (Go's rules), so a `\.` in the regexp
    /// is written `\\.`.
    public static func topicPrefix(_ prefix: String) -> String {
        var pattern = "^"
        for c in prefix {
            switch c {
            case ".", "*", "+", "?", "(", ")", "[", "]", "{", "}", "|", "$", "^":
                // A regexp escape, itself escaped for the filter's Go-style quoting.
                pattern += "\\\\" + String(c)
            case "\\":
                pattern += "\\\\\\\\"
            case "\"":
                pattern += "\\\""
            default:
                pattern.append(c)
            }
        }
        return "topic~=\"\(pattern)\""
    }

    /// The filters to send. containerd matches an event when any one filter
    /// matches, and a filter when all its comma-separated selectors do; so the
    /// topics are alternatives, the raw filters are alternatives, and a
    /// namespace, topics and raw filters given together must all hold.
    public static func build(topics: [String], filters: [String], namespace: String?) -> [String] {
        var groups: [[String]] = []
        if !topics.isEmpty { groups.append(topics.map(topicPrefix)) }
        if !filters.isEmpty { groups.append(filters) }
        if let namespace { groups.append(["namespace==\"\(namespace.replacing("\"", with: "\\\""))\""]) }
        var out: [String] = [""]
        for group in groups {
            out = out.flatMap { prefix in group.map { prefix.isEmpty ? $0 : prefix + "," + $0 } }
        }
        return out == [""] ? [] : out
    }
}

/// How `kctr events` prints an event.
public enum EventFormat {
    /// RFC 3339 in UTC with microseconds.
    public static func time(_ seconds: Double) -> String { Timestamps.utcMicros(seconds) }

    /// The payload as JSON: decoded when kctr knows the type, else its type and base64 bytes.
    public static func payload(_ e: EventEnvelope) -> JSONValue {
        if let p = e.payload { return JSONValue(p) }
        if e.typeURL.isEmpty && e.raw.isEmpty { return .object([:]) }
        return .object(["@type": .string(e.typeURL), "value": .string(Data(e.raw).base64EncodedString())])
    }

    /// `TIME NAMESPACE TOPIC PAYLOAD`, the payload as compact JSON.
    public static func line(_ e: EventEnvelope) throws -> String {
        let json = try Render.jsonLine(payload(e))
        return "\(time(e.timestamp)) \(e.namespace.isEmpty ? "-" : e.namespace) \(e.topic) \(json)"
    }

    /// One JSON object on one line.
    public static func jsonLine(_ e: EventEnvelope) throws -> String {
        try Render.jsonLine(JSONValue.object([
            "timestamp": .string(time(e.timestamp)), "namespace": .string(e.namespace), "topic": .string(e.topic),
            "type": .string(e.typeURL), "event": payload(e),
        ]))
    }
}
