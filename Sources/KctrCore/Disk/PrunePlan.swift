import Foundation
import KctrRPC

/// What `kctr images prune` removes and keeps, and why: decided from the facts alone (no daemon).
public struct PrunePlan: Codable, Sendable, Equatable {
    public struct Removal: Codable, Sendable, Equatable {
        public var name: String
        /// Every record name that goes (tags, digest names, CRI's sha256: record).
        public var names: [String]
        public var id: String
        /// Bytes it frees, after the removals before it in the plan.
        public var freesBytes: Int64
    }

    public struct Kept: Codable, Sendable, Equatable {
        public var name: String
        public var id: String
        public var reasons: [String]
    }

    public struct LeaseAction: Codable, Sendable, Equatable {
        public var namespace: String
        public var id: String
        /// "expired <time>", or "kctr import, pid N, gone".
        public var why: String
        public var holdsBytes: Int64
    }

    public struct IngestAction: Codable, Sendable, Equatable {
        public var namespace: String
        public var ref: String
        public var why: String
        public var bytes: Int64
    }

    /// --leaked: leases and ingests kctr removes, what containerd's collector then removes, what stays.
    public struct Leaked: Codable, Sendable, Equatable {
        public var leases: [LeaseAction]
        public var ingests: [IngestAction]
        /// Content, snapshots and ingests nothing will reference: containerd's collector removes them.
        public var collected: [DiskReport.HeldItem]
        public var collectedBytes: Int64
        /// Leases kctr leaves alone: not expired and not kctr's own (or kctr's, with a live process).
        public var keptLeases: [LeaseView]
    }

    public var namespace: String
    public var remove: [Removal]
    public var keep: [Kept]
    /// What the removals free, each node counted once (content other namespaces also have is not counted).
    public var estimatedBytes: Int64
    public var leaked: Leaked?

    /// - Parameters:
    ///   - leaked: also plan the release of expired and stale leases (every namespace).
    public static func make(facts: StorageFacts, namespace: String, leaked: Bool) -> PrunePlan {
        let cri = facts.cri
        let storage = facts.namespace(namespace) ?? NamespaceStorage(namespace: namespace)
        let released = leaked ? releasable(facts) : [:]
        let model = ImageSpaceModel(storage: storage, cri: cri, now: facts.now, releasedLeases: Set(released[namespace]?.map(\.id) ?? []))
        var remove: [Int] = []
        var keep: [Kept] = []
        for (i, u) in model.units.enumerated() {
            var reasons = u.protections
            let users = model.users[i]
            if !users.isEmpty { reasons.append(Self.usedBy(users)) }
            if reasons.isEmpty { remove.append(i) } else { keep.append(Kept(name: u.displayName, id: u.id, reasons: reasons)) }
        }
        // Blobs another namespace also records stay on disk.
        var elsewhere: Set<String> = []
        for ns in facts.namespaces where ns.namespace != namespace { for c in ns.content { elsewhere.insert(c.digest) } }
        let frees = model.simulateRemoval(remove, keptElsewhere: elsewhere)
        let removals = remove.enumerated().map { k, i in
            Removal(name: model.units[i].displayName, names: model.units[i].names, id: model.units[i].id, freesBytes: frees[k])
        }
        var plan = PrunePlan(namespace: namespace, remove: removals, keep: keep.sorted { $0.name < $1.name },
                             estimatedBytes: frees.reduce(0, +), leaked: nil)
        if leaked { plan.leaked = leakedPlan(facts: facts, namespace: namespace, removing: Set(remove), model: model, released: released) }
        return plan
    }

    static func usedBy(_ users: [ImageUser]) -> String {
        let shown = users.prefix(3).map { u -> String in
            switch u.kind {
            case "sandbox": return "pod sandbox \(u.pod ?? u.name) (\(u.state ?? "?"))"
            case "container": return "container \(u.id.prefix(13)) (\(u.name)\(u.pod.map { " in \($0)" } ?? ""), \(u.state ?? "?"))"
            default: return "containerd container \(u.id)"
            }
        }
        return "used by " + shown.joined(separator: ", ") + (users.count > 3 ? " and \(users.count - 3) more" : "")
    }

    /// Per namespace, the leases --leaked removes: expired ones, and kctr's own whose process is gone.
    static func releasable(_ facts: StorageFacts) -> [String: [LeaseAction]] {
        var out: [String: [LeaseAction]] = [:]
        for ns in facts.namespaces {
            for lease in ns.leases {
                let (owner, stale) = LeaseView.owner(lease.id)
                if LeaseView.isExpired(lease, now: facts.now) {
                    out[ns.namespace, default: []].append(LeaseAction(namespace: ns.namespace, id: lease.id,
                                                                      why: "expired \(lease.labels[ReferenceGraph.expireLabel] ?? "")", holdsBytes: 0))
                } else if stale, let owner {
                    out[ns.namespace, default: []].append(LeaseAction(namespace: ns.namespace, id: lease.id, why: owner, holdsBytes: 0))
                }
            }
        }
        return out
    }

    static func leakedPlan(facts: StorageFacts, namespace: String, removing: Set<Int>, model: ImageSpaceModel,
                           released: [String: [LeaseAction]]) -> Leaked {
        var result = Leaked(leases: [], ingests: [], collected: [], collectedBytes: 0, keptLeases: [])
        for ns in facts.namespaces {
            let releasedIDs = Set(released[ns.namespace]?.map(\.id) ?? [])
            let m = ns.namespace == namespace ? model : ImageSpaceModel(storage: ns, cri: facts.cri, now: facts.now, releasedLeases: releasedIDs)
            let g = m.graph
            // What stays reachable: the images kept (all of them in other namespaces), containers, leases kept, gc.root labels.
            var kept = m.otherwiseHeld
            for (i, closure) in m.closures.enumerated() where ns.namespace != namespace || !removing.contains(i) { kept.formUnion(closure) }
            let views = DiskReport.leaseViews(ns, model: m, now: facts.now)
            for lease in released[ns.namespace] ?? [] {
                var action = lease
                action.holdsBytes = views.first { $0.id == lease.id }?.holdsBytes ?? 0
                result.leases.append(action)
            }
            result.keptLeases += views.filter { !releasedIDs.contains($0.id) }
            for i in ns.ingests where StaleImports.isStale(i.ref) {
                result.ingests.append(IngestAction(namespace: ns.namespace, ref: i.ref, why: LeaseView.owner(i.ref).owner ?? "kctr import, gone",
                                                   bytes: i.offset))
            }
            let aborted = Set(result.ingests.filter { $0.namespace == ns.namespace }.map { StorageNode.ingest($0.ref) })
            // Nodes of the removed images are the prune's own; the rest that nothing keeps is the leak.
            var pruned: Set<StorageNode> = []
            if ns.namespace == namespace { for i in removing { pruned.formUnion(m.closures[i]) } }
            for n in g.nodes.sorted() where !kept.contains(n) && !pruned.contains(n) {
                let item = DiskReport.HeldItem(namespace: ns.namespace, kind: n.kind, id: n.id, bytes: g.size[n] ?? 0,
                                               heldBy: [], unreferenced: true)
                result.collected.append(item)
                if !aborted.contains(n) { result.collectedBytes += item.bytes }
            }
        }
        result.collectedBytes += result.ingests.reduce(0) { $0 + $1.bytes }
        return result
    }
}
