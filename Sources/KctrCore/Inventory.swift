import KctrRPC

extension Session {
    /// Namespaces, sorted by name.
    public func namespaces() async throws -> [NamespaceRecord] {
        do {
            return try await store.namespaces().sorted { $0.name < $1.name }
        } catch {
            throw explain(error, doing: "listing namespaces")
        }
    }

    /// Plugins with their status, sorted by type and ID.
    public func plugins(filters: [String]) async throws -> [PluginStatus] {
        do {
            return try await store.plugins(filters: filters).map(PluginStatus.init).sorted()
        } catch where error.code == .invalidArgument {
            throw KctrError("invalid plugin filter \(filters.joined(separator: " ")): \(error.message)",
                            hint: "filters look like type==io.containerd.snapshotter.v1 or id==overlayfs", exitCode: 64)
        } catch {
            throw explain(error, doing: "listing plugins")
        }
    }
}
