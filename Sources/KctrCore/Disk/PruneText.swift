import Foundation

/// The text of `kctr images prune`.
extension PrunePlan {
    /// What will go and what stays, said before anything is removed.
    public func text(dryRun: Bool) -> String {
        let size = Render.size
        var out = ""
        if remove.isEmpty {
            out += "no image to remove in \(namespace): every image is in use or protected\n"
        } else {
            out += "\(dryRun ? "would remove" : "removing") \(remove.count) image\(remove.count == 1 ? "" : "s") from \(namespace), freeing about \(size(estimatedBytes)):\n"
            out += Render.table(["  IMAGE", "NAMES", "FREES"], remove.map { ["  \($0.name)", "\($0.names.count)", size($0.freesBytes)] })
        }
        if !keep.isEmpty {
            out += "keeping \(keep.count) image\(keep.count == 1 ? "" : "s"):\n"
            out += Render.table(["  IMAGE", "WHY"], keep.map { ["  \($0.name)", $0.reasons.joined(separator: "; ")] })
        }
        if let l = leaked {
            out += "--leaked: \(dryRun ? "would release" : "releasing") \(l.leases.count) lease\(l.leases.count == 1 ? "" : "s") and \(l.ingests.count) ingest\(l.ingests.count == 1 ? "" : "s")"
            out += ", then containerd's garbage collection removes what nothing references: \(l.collected.count) item\(l.collected.count == 1 ? "" : "s"), \(size(l.collectedBytes))\n"
            if !l.leases.isEmpty || !l.ingests.isEmpty {
                out += Render.table(["  RELEASE", "NAMESPACE", "WHY", "HOLDS"],
                                    l.leases.map { ["  lease \($0.id)", $0.namespace, $0.why, size($0.holdsBytes)] }
                                        + l.ingests.map { ["  ingest \($0.ref)", $0.namespace, $0.why, size($0.bytes)] })
            }
            if !l.collected.isEmpty {
                out += Render.table(["  COLLECTED", "NAMESPACE", "ID", "BYTES"],
                                    l.collected.map { ["  \($0.kind)", $0.namespace, DiskReport.short($0.id), size($0.bytes)] })
            }
            for lease in l.keptLeases {
                var why = lease.owner.map { "\($0)" } ?? "not kctr's"
                why += lease.expires.map { ", expires \($0)" } ?? ", never expires"
                out += "  leaving lease \(lease.id) in \(lease.namespace) alone (\(why)): it holds \(size(lease.holdsBytes))"
                    + (lease.owner == nil ? "; once nothing uses it: ctr -n \(lease.namespace) leases rm \(lease.id)" : "") + "\n"
            }
        }
        return out
    }
}

extension PruneResult {
    /// What changed on disk, after containerd's collection.
    public var text: String {
        let size = Render.size
        var out = ""
        if let s = gcSeconds { out += "containerd's garbage collection ran (kctr waited \(Int((s * 1000).rounded())) ms)\n" }
        guard let after else { return out }
        for b in before.filesystems {
            guard let a = after.filesystems.first(where: { $0.usage.device == b.usage.device }) else { continue }
            let gained = a.usage.availableBytes - b.usage.availableBytes
            out += "\(b.usage.mountpoint ?? b.usage.path): available \(size(b.usage.availableBytes)) -> \(size(a.usage.availableBytes)) (\(gained >= 0 ? "+" : "-")\(size(abs(gained)))), used \(b.usage.usedPercent)% -> \(a.usage.usedPercent)%\n"
        }
        func line(_ what: String, _ x: DiskReport.Amount, _ y: DiskReport.Amount) -> String {
            "\(what): \(x.count) (\(size(x.bytes))) -> \(y.count) (\(size(y.bytes))), \(size(x.bytes - y.bytes)) freed\n"
        }
        let b = before.totals, a = after.totals
        out += line("content", b.content, a.content)
        out += line("image layers", b.imageLayers, a.imageLayers)
        if b.otherSnapshots.count + a.otherSnapshots.count > 0 { out += line("other snapshots", b.otherSnapshots, a.otherSnapshots) }
        if b.ingests.count + a.ingests.count > 0 { out += line("ingests", b.ingests, a.ingests) }
        out += "containerd in all: \(size(b.bytes)) -> \(size(a.bytes)), \(size(b.bytes - a.bytes)) freed\n"
        return out
    }
}
