import KctrRPC

/// A plugin as `kctr plugins ls` shows it.
public struct PluginStatus: Codable, Sendable, Equatable, Comparable {
    public var type: String
    public var id: String
    public var platforms: [String]
    /// "ok", "skip" (not applicable on this host) or "error".
    public var status: String
    public var initError: String?
    public var requires: [String]
    public var capabilities: [String]
    public var exports: [String: String]

    public init(_ p: PluginRecord) {
        type = p.type
        id = p.id
        platforms = p.platforms.map(\.description)
        initError = p.initError
        if let err = p.initError {
            status = err.contains("skip plugin") ? "skip" : "error"
        } else {
            status = "ok"
        }
        requires = p.requires
        capabilities = p.capabilities
        exports = p.exports
    }

    public static func < (a: PluginStatus, b: PluginStatus) -> Bool {
        (a.type, a.id) < (b.type, b.id)
    }
}
