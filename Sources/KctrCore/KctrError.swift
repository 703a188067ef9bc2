import KctrRPC

/// A failure as the operator reads it: what failed, on which object, why,
/// and what to do next. Rendered as `kctr: <message> (hint: <hint>)`.
public struct KctrError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var hint: String?
    /// 1 for failures; 64 for usage problems found after parsing.
    public var exitCode: Int32

    public init(_ message: String, hint: String? = nil, exitCode: Int32 = 1) {
        self.message = message
        self.hint = hint
        self.exitCode = exitCode
    }

    public var description: String {
        guard let hint, !hint.isEmpty else { return message }
        return "\(message) (hint: \(hint))"
    }

    public static func usage(_ message: String, hint: String? = nil) -> KctrError {
        KctrError(message, hint: hint, exitCode: 64)
    }
}

extension KctrError {
    /// A failed call that no layer translated: which call failed, and how to see more.
    public static func unexplained(_ error: Error) -> KctrError? {
        guard let e = error as? RPCError else { return nil }
        return KctrError("\(e)", hint: "rerun with --debug to see each call and its status")
    }
}
