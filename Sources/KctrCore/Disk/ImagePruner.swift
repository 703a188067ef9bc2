import Foundation
import KctrRPC

/// Disk space and counts at one moment, before or after a prune.
public struct SpaceState: Codable, Sendable, Equatable {
    public var filesystems: [DiskReport.Filesystem]
    public var totals: DiskReport.Totals
}

/// `kctr images prune`: the plan, what was done, and the space before and after containerd's collection.
public struct PruneResult: Codable, Sendable, Equatable {
    public var plan: PrunePlan
    public var dryRun: Bool
    /// Images removed (every name of each), by their shown name.
    public var removed: [String] = []
    /// Images the plan would remove that a container started using before kctr removed them.
    public var nowInUse: [PrunePlan.Kept] = []
    public var releasedLeases: [String] = []
    public var abortedIngests: [String] = []
    public var failures: [String] = []
    /// Seconds containerd's synchronous garbage collection took; nil when none ran.
    public var gcSeconds: Double?
    public var before: SpaceState
    public var after: SpaceState?

    public init(plan: PrunePlan, dryRun: Bool, before: SpaceState) {
        self.plan = plan
        self.dryRun = dryRun
        self.before = before
    }

    /// Available bytes gained on each filesystem (after - before).
    public var freedOnFilesystems: [String: Int64] {
        guard let after else { return [:] }
        var out: [String: Int64] = [:]
        for b in before.filesystems {
            if let a = after.filesystems.first(where: { $0.usage.device == b.usage.device }) {
                out[b.usage.mountpoint ?? b.usage.path] = a.usage.availableBytes - b.usage.availableBytes
            }
        }
        return out
    }
}

public struct ImagePruner: Sendable {
    public let session: Session

    public init(session: Session) { self.session = session }

    /// Reads every namespace and plans.
    /// Refuses k8s.io when CRI does not serve: kctr could not tell the sandbox image or the pinned ones.
    public func plan(leaked: Bool) async throws -> (PrunePlan, StorageFacts) {
        let facts = try await StorageScan(session: session).gather(allNamespaces: true)
        if session.config.namespace == Workloads.criNamespace && facts.cri == nil {
            throw KctrError("cannot prune images in k8s.io: CRI is not serving, so kctr cannot tell which image is the sandbox image or which are pinned",
                            hint: "fix the CRI plugin first (kctr verify-runtime says why it is off), or remove images by name with kctr images rm")
        }
        return (PrunePlan.make(facts: facts, namespace: session.config.namespace, leaked: leaked), facts)
    }

    public static func state(_ facts: StorageFacts) -> SpaceState {
        SpaceState(filesystems: DiskReport.filesystems(facts, kubeletRoot: nil), totals: DiskReport.totals(of: facts))
    }

    /// Carries out the plan: removes the images (after checking again that no container took one up), then,
    /// with --leaked, the leases and ingests of the plan; runs containerd's collector and waits for it;
    /// measures again. Keeps going past failures; `emit` gets one line per thing done.
    public func run(_ plan: PrunePlan, facts: StorageFacts, emit: @Sendable (String) -> Void) async throws -> PruneResult {
        var result = PruneResult(plan: plan, dryRun: false, before: Self.state(facts))
        let api = session.containerd
        let busy = try await nowUsed(plan, facts: facts)
        for r in plan.remove {
            if let reason = busy[r.id] {
                result.nowInUse.append(PrunePlan.Kept(name: r.name, id: r.id, reasons: [reason]))
                emit("kept \(r.name): \(reason) (since the plan was made)")
                continue
            }
            var failed = false
            for name in r.names {
                do {
                    try await api.deleteImage(name: name, sync: false)
                } catch where error.code == .notFound {
                    continue  // another client removed it first: gone either way
                } catch {
                    failed = true
                    result.failures.append("\(session.explain(error, doing: "removing image \(name)"))")
                }
            }
            if !failed {
                result.removed.append(r.name)
                emit("removed \(r.name)" + (r.names.count > 1 ? " (\(r.names.count) names)" : ""))
            }
        }
        if let leaked = plan.leaked {
            for lease in leaked.leases {
                if await release("removing lease \(lease.id) in namespace \(lease.namespace)", into: &result.failures, { () async throws(RPCError) in
                    try await api.namespaced(lease.namespace).deleteLease(id: lease.id, sync: false)
                }) {
                    result.releasedLeases.append(lease.id)
                    emit("removed lease \(lease.id) in \(lease.namespace) (\(lease.why))")
                }
            }
            for ingest in leaked.ingests {
                if await release("aborting ingest \(ingest.ref) in namespace \(ingest.namespace)", into: &result.failures, { () async throws(RPCError) in
                    try await api.namespaced(ingest.namespace).abortIngest(ref: ingest.ref)
                }) {
                    result.abortedIngests.append(ingest.ref)
                    emit("aborted ingest \(ingest.ref) in \(ingest.namespace) (\(ingest.why))")
                }
            }
        }
        let changed = !result.removed.isEmpty || !result.releasedLeases.isEmpty || !result.abortedIngests.isEmpty || plan.leaked != nil
        if changed {
            let started = Date()
            do {
                try await collectGarbage()
                result.gcSeconds = Date().timeIntervalSince(started)
            } catch {
                result.failures.append("\(session.explain(error, doing: "waiting for containerd's garbage collection"))")
            }
            if plan.leaked != nil {
                // Directories the snapshotters no longer record (removed snapshots whose removal was cut short).
                for snapshotter in facts.paths.snapshotterRoots.keys.sorted() {
                    do {
                        _ = try await api.cleanupSnapshots(snapshotter: snapshotter)
                    } catch {
                        result.failures.append("\(session.explain(error, doing: "asking snapshotter \(snapshotter) to clean up"))")
                    }
                }
            }
        }
        let after = try await StorageScan(session: session).gather(allNamespaces: true, withCRI: false)
        result.after = Self.state(after)
        return result
    }

    /// One release step: true when done; false when already gone (another client released it) or when it
    /// failed (recorded in `failures`, and the prune goes on).
    private func release(_ what: String, into failures: inout [String], _ body: () async throws(RPCError) -> Void) async -> Bool {
        do {
            try await body()
            return true
        } catch where error.code == .notFound {
            return false
        } catch {
            failures.append("\(session.explain(error, doing: what))")
            return false
        }
    }

    /// Images of the plan that a container uses now (a pod started after the plan was made): id -> why.
    func nowUsed(_ plan: PrunePlan, facts: StorageFacts) async throws -> [String: String] {
        guard !plan.remove.isEmpty else { return [:] }
        var storage = facts.namespace(plan.namespace) ?? NamespaceStorage(namespace: plan.namespace)
        var cri = facts.cri
        do {
            storage.containers = try await session.store.containers()
            if cri != nil, plan.namespace == Workloads.criNamespace {
                cri?.containers = try await session.cri.listContainers()
                cri?.sandboxes = try await session.cri.listPodSandboxes()
            }
        } catch {
            throw session.explain(error, doing: "listing containers again before removing images")
        }
        let model = ImageSpaceModel(storage: storage, cri: cri, now: facts.now)
        var out: [String: String] = [:]
        for (i, u) in model.units.enumerated() where !model.users[i].isEmpty {
            out[u.id] = PrunePlan.usedBy(model.users[i])
        }
        return out
    }

    /// Runs containerd's garbage collection and waits for it: a lease of kctr's own, deleted with sync
    /// (containerd collects before answering). The lease expires in 10 minutes should kctr die in between.
    public func collectGarbage() async throws {
        let id = "kctr-gc-\(StaleImports.pidNamespace)-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
        let expiry = Timestamps.utc(Date().timeIntervalSince1970 + 600)
        let api = session.containerd
        try await api.createLease(id: id, labels: [ReferenceGraph.expireLabel: expiry])
        // A collection over a large store takes longer than one call's deadline.
        let slow = ContainerdAPI(api.rpc.withTimeout(milliseconds: max(api.rpc.options.timeoutMilliseconds, 5 * 60 * 1000)))
        try await slow.deleteLease(id: id, sync: true)
    }
}

extension ImagePruner {
    /// `kctr rmi NAME...`: removes each named record, as `images rm` does, but refuses an image a container
    /// or pod sandbox uses (in any state), as CRI reports it. Keeps going past failures.
    public func removeNamed(_ refs: [String], sync: Bool, emit: @escaping (String) -> Void) async throws -> [Error] {
        let facts = try await StorageScan(session: session).gather(allNamespaces: false)
        let storage = facts.namespace(session.config.namespace) ?? NamespaceStorage(namespace: session.config.namespace)
        let model = ImageSpaceModel(storage: storage, cri: facts.cri, now: facts.now)
        let (removed, failures) = await ImageCatalog(session: session).remove(refs, sync: sync) { record in
            if let i = model.units.firstIndex(where: { $0.names.contains(record.name) }), !model.users[i].isEmpty {
                throw KctrError("cannot remove image \(record.name): it is \(PrunePlan.usedBy(model.users[i]))",
                                hint: "remove those containers first (kctr rm -f ID, kctr rmp -f ID); kctr never removes an image in use")
            }
            emit("removing image \(record.name)")
        }
        for name in removed { emit("removed image \(name)") }
        return failures
    }
}
