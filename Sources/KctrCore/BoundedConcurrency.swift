/// `call` on every key, at most `limit` calls at once (a node with thousands of images or snapshots must not
/// open thousands of streams on the daemon's socket); the results by key. The first error cancels the rest.
func boundedMap<K: Hashable & Sendable, V: Sendable>(_ keys: [K], limit: Int,
                                                     _ call: @escaping @Sendable (K) async throws -> V) async throws -> [K: V] {
    try await withThrowingTaskGroup(of: (K, V).self) { group in
        var out: [K: V] = [:]
        var next = 0
        func add() {
            guard next < keys.count else { return }
            let key = keys[next]
            next += 1
            group.addTask { (key, try await call(key)) }
        }
        for _ in 0..<min(max(limit, 1), keys.count) { add() }
        while let (key, value) = try await group.next() {
            out[key] = value
            add()
        }
        return out
    }
}
