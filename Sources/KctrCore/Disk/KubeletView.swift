import Foundation
import KctrRPC

/// The node against the kubelet's thresholds: when image GC starts and what it would remove, in its
/// order; how far each disk eviction signal is from its threshold.
public struct KubeletView: Codable, Sendable, Equatable {
    public struct GCCandidate: Codable, Sendable, Equatable {
        public var name: String
        public var id: String
        /// CRI's size: what the kubelet counts as freed.
        public var criSize: Int64
        /// What removing it frees on disk after the candidates before it are gone.
        public var freesBytes: Int64
        public var lastUsed: String?
        public var lastUsedFrom: String
        public var ageSeconds: Double?
        /// Within what the kubelet would remove at its next collection (or the one the threshold starts).
        public var removed: Bool
        public var sandboxImage: Bool
    }

    public struct ImageGC: Codable, Sendable, Equatable {
        public var filesystem: String
        /// The kubelet's count: 100 - int(available*100/capacity).
        public var usagePercent: Int
        public var highThresholdPercent: Int
        public var lowThresholdPercent: Int
        /// Usage is at or above the high threshold: the kubelet collects now.
        public var running: Bool
        /// Bytes still to be written before it starts (0 when running).
        public var bytesUntilGC: Int64
        /// What it then tries to free, down to the low threshold.
        public var bytesToFree: Int64
        /// Every image it may remove, in its order (unused, not pinned, older than imageMinimumGCAge,
        /// least recently used first).
        public var candidates: [GCCandidate]
        /// Of those, what it removes: CRI's count and the bytes that really go.
        public var removesCRIBytes: Int64
        public var freesBytes: Int64
        /// False when removing every candidate still leaves usage above the low threshold.
        public var reachesLow: Bool
        public var skippedInUse: Int
        public var skippedPinned: Int
        /// Unused images younger than imageMinimumGCAge.
        public var skippedYoung: [String]
        /// Unused images older than imageMaximumGCAge (removed whatever the usage), when it is set.
        public var pastMaximumAge: [String]
    }

    public struct EvictionRow: Codable, Sendable, Equatable {
        public var signal: String
        public var kind: String
        public var source: String
        public var threshold: String
        public var filesystem: String?
        /// The threshold in bytes (inodes for *.inodesFree).
        public var limit: Int64?
        public var available: Int64?
        /// available - limit: how much more can be used before the signal fires (negative: it has).
        public var margin: Int64?
        public var met: Bool
        public var gracePeriod: String?
    }

    public var policy: KubeletDiskPolicy
    public var imagefs: FilesystemUsage?
    public var nodefs: FilesystemUsage?
    public var sameFilesystem: Bool
    public var imageGC: ImageGC?
    public var eviction: [EvictionRow]
    public var notes: [String]

    static func build(policy: KubeletDiskPolicy, model: ImageSpaceModel, facts: StorageFacts, kubeletRoot: String,
                      measure: (String) -> FilesystemUsage?) -> KubeletView {
        var notes: [String] = []
        let cri = facts.cri
        let imagePath = cri?.imageFs?.imageFilesystems.first?.mountpoint
            ?? cri.flatMap { facts.paths.snapshotterRoots[$0.snapshotter] }
        let imagefs = imagePath.flatMap(measure)
        if imagefs == nil { notes.append("the image filesystem (\(imagePath ?? "CRI's snapshotter root")) cannot be measured from here") }
        let nodefs = measure(kubeletRoot)
        if nodefs == nil { notes.append("\(kubeletRoot) cannot be measured (no kubelet root dir here?): nodefs signals skipped; pass --kubelet-root") }
        let same = imagefs != nil && imagefs?.device == nodefs?.device
        var view = KubeletView(policy: policy, imagefs: imagefs, nodefs: nodefs, sameFilesystem: same, imageGC: nil,
                               eviction: [], notes: notes)
        if let imagefs { view.imageGC = imageGC(policy: policy, fs: imagefs, model: model, now: facts.now) }
        view.eviction = policy.thresholds.map { t in
            let fs = t.signal.hasPrefix("imagefs.") ? imagefs : nodefs
            let inodes = t.signal.hasSuffix(".inodesFree")
            guard let fs else {
                return EvictionRow(signal: t.signal, kind: t.kind, source: t.source, threshold: t.value, filesystem: nil,
                                   limit: nil, available: nil, margin: nil, met: false, gracePeriod: t.gracePeriod)
            }
            let capacity = inodes ? fs.inodes : fs.sizeBytes
            let available = inodes ? fs.inodesFree : fs.availableBytes
            let limit = KubeletDiskPolicy.limit(t, capacity: capacity)
            return EvictionRow(signal: t.signal, kind: t.kind, source: t.source, threshold: t.value, filesystem: fs.mountpoint ?? fs.path,
                               limit: limit, available: available, margin: available - limit, met: available < limit,
                               gracePeriod: t.gracePeriod)
        }
        return view
    }

    static func imageGC(policy: KubeletDiskPolicy, fs: FilesystemUsage, model: ImageSpaceModel, now: Double) -> ImageGC {
        let capacity = fs.sizeBytes, available = fs.availableBytes
        let usage = KubeletDiskPolicy.usagePercent(capacity: capacity, available: available)
        let running = usage >= policy.highThresholdPercent
        let until = running ? 0 : KubeletDiskPolicy.bytesUntilGC(capacity: capacity, available: available, high: policy.highThresholdPercent)
        let availableAtStart = available - until
        let toFree = KubeletDiskPolicy.bytesToFree(capacity: capacity, available: availableAtStart, low: policy.lowThresholdPercent)
        var eligible: [Int] = []
        var inUse = 0, pinned = 0
        var young: [String] = [], old: [String] = []
        for (i, u) in model.units.enumerated() where u.criID != nil {
            if !model.users[i].isEmpty { inUse += 1; continue }
            if u.criPinned { pinned += 1; continue }
            let age = u.createdAt.map { now - $0 }
            if policy.maximumGCAgeSeconds > 0, let last = model.lastUsed(i).time, now - last > policy.maximumGCAgeSeconds {
                old.append(u.displayName)
            }
            if let age, age < policy.minimumGCAgeSeconds { young.append(u.displayName); continue }
            eligible.append(i)
        }
        eligible.sort {
            let a = model.lastUsed($0).time ?? 0, b = model.lastUsed($1).time ?? 0
            return (a, model.units[$0].createdAt ?? 0, model.units[$0].displayName) < (b, model.units[$1].createdAt ?? 0, model.units[$1].displayName)
        }
        let frees = model.simulateRemoval(eligible)
        var candidates: [GCCandidate] = []
        var counted: Int64 = 0, removesCRI: Int64 = 0, freed: Int64 = 0
        for (k, i) in eligible.enumerated() {
            let u = model.units[i]
            let removed = counted < toFree
            let size = u.criSize ?? 0
            if removed {
                counted += size
                removesCRI += size
                freed += frees[k]
            }
            let (last, from) = model.lastUsed(i)
            candidates.append(GCCandidate(name: u.displayName, id: u.id, criSize: size, freesBytes: frees[k],
                                          lastUsed: last.map(Timestamps.utc), lastUsedFrom: from,
                                          ageSeconds: u.createdAt.map { now - $0 }, removed: removed, sandboxImage: u.sandboxImage))
        }
        return ImageGC(filesystem: fs.mountpoint ?? fs.path, usagePercent: usage, highThresholdPercent: policy.highThresholdPercent,
                       lowThresholdPercent: policy.lowThresholdPercent, running: running, bytesUntilGC: until, bytesToFree: toFree,
                       candidates: candidates, removesCRIBytes: removesCRI, freesBytes: freed, reachesLow: counted >= toFree,
                       skippedInUse: inUse, skippedPinned: pinned, skippedYoung: young.sorted(), pastMaximumAge: old.sorted())
    }
}
