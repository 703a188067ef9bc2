/// A failed call, mapped once from the gRPC status at the RPC boundary.
/// Callers branch on `code`, never on `message`.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Int, Sendable {
        case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists
        case permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange
        case unimplemented, `internal`, unavailable, dataLoss, unauthenticated
        /// Not a status from the wire: kctr could not build or read a message.
        case codec = 1000
        /// Not a status from the wire: the gRPC core refused to start the call.
        case callError = 1001
        /// Not a status from the wire: the reply would cost too much memory to decode (see DecodeBudget).
        case replyTooLarge = 1002

        public var name: String {
            switch self {
            case .ok: return "OK"
            case .cancelled: return "Canceled"
            case .unknown: return "Unknown"
            case .invalidArgument: return "InvalidArgument"
            case .deadlineExceeded: return "DeadlineExceeded"
            case .notFound: return "NotFound"
            case .alreadyExists: return "AlreadyExists"
            case .permissionDenied: return "PermissionDenied"
            case .resourceExhausted: return "ResourceExhausted"
            case .failedPrecondition: return "FailedPrecondition"
            case .aborted: return "Aborted"
            case .outOfRange: return "OutOfRange"
            case .unimplemented: return "Unimplemented"
            case .internal: return "Internal"
            case .unavailable: return "Unavailable"
            case .dataLoss: return "DataLoss"
            case .unauthenticated: return "Unauthenticated"
            case .codec: return "Codec"
            case .callError: return "CallError"
            case .replyTooLarge: return "ReplyTooLarge"
            }
        }
    }

    public let code: Code
    public let message: String
    /// "/containerd.services.images.v1.Images/List", or "" outside a call.
    public var method: String
    /// The deadline the call had, in milliseconds (0: none).
    public var timeoutMilliseconds: Int64

    public init(code: Code, message: String, method: String = "", timeoutMilliseconds: Int64 = 0) {
        self.code = code
        self.message = message
        self.method = method
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    static func codec(_ message: String) -> RPCError { RPCError(code: .codec, message: message) }

    /// "Images/List" out of "/containerd.services.images.v1.Images/List".
    public var shortMethod: String {
        let parts = method.split(separator: "/")
        guard parts.count == 2 else { return method }
        let service = parts[0].split(separator: ".").last.map(String.init) ?? String(parts[0])
        return "\(service)/\(parts[1])"
    }

    public var description: String {
        let what = method.isEmpty ? "rpc" : shortMethod
        return "\(what): \(code.name): \(message)"
    }
}
