import Foundation

/// The table form of `kctr df`.
extension DiskReport {
    /// - Parameter top: image rows shown (largest unique bytes first); 0 shows all.
    public func text(top: Int = 10, noTrunc: Bool = false) -> String {
        var out = ""
        let size = Render.size
        func id(_ s: String) -> String { noTrunc ? s : Self.short(s) }

        // Filesystems
        out += Render.table(["FILESYSTEM", "SIZE", "USED", "AVAIL", "USE%", "INODES FREE", "HOLDS"], filesystems.map { f in
            let u = f.usage
            let inodes = u.inodes > 0 ? "\(u.inodesFree) of \(u.inodes)" : "-"
            return ["\(u.mountpoint ?? u.path)\(u.type.map { " (\($0))" } ?? "")", size(u.sizeBytes), size(u.usedBytes),
                    size(u.availableBytes), "\(u.usedPercent)%", inodes, f.holds.joined(separator: ", ")]
        })
        if filesystems.isEmpty { out += "(containerd's directories cannot be seen from here: no statfs)\n" }
        if let v = imageFsInfo {
            for fs in v.imageFilesystems {
                out += "CRI ImageFsInfo: \(fs.mountpoint): \(fs.usedBytes.map { size(Int64(clamping: $0)) } ?? "-") used, "
                    + "\(fs.inodesUsed.map { "\($0)" } ?? "-") inodes (kctr counts \(size(totals.imageLayers.bytes + totals.writableLayers.bytes + totals.otherSnapshots.bytes)) in snapshots)\n"
            }
            for fs in v.containerFilesystems {
                out += "CRI ImageFsInfo (containers): \(fs.mountpoint): \(fs.usedBytes.map { size(Int64(clamping: $0)) } ?? "-") used, "
                    + "\(fs.inodesUsed.map { "\($0)" } ?? "-") inodes\n"
            }
            if let e = v.error { out += "CRI ImageFsInfo: \(e)\n" }
        }

        // Where the bytes are
        out += "\n"
        let t = totals
        func amount(_ a: Amount, _ noun: String) -> [String] {
            ["\(a.count) \(noun)\(a.count == 1 ? "" : "s")", size(a.bytes), a.inodes.map { "\($0) inodes" } ?? ""]
        }
        var rows: [[String]] = [
            ["content (compressed blobs)"] + amount(t.content, "blob"),
            ["image layers (unpacked)"] + amount(t.imageLayers, "snapshot"),
            ["writable layers (containers)"] + amount(t.writableLayers, "snapshot"),
        ]
        if t.otherSnapshots.count > 0 { rows.append(["other snapshots (unpacks, views)"] + amount(t.otherSnapshots, "snapshot")) }
        if t.ingests.count > 0 { rows.append(["ingests (partial writes)"] + amount(t.ingests, "ingest")) }
        if let m = t.metadataBytes { rows.append(["metadata (meta.db)", "", size(m), ""]) }
        rows.append(["total", "", size(t.bytes), ""])
        out += Render.table(["SPACE", "COUNT", "BYTES", ""], rows)
        func sum(_ items: [HeldItem]) -> Int64 { items.reduce(0) { $0 + $1.bytes } }
        let byContainers = notFromImages.filter { !$0.heldBy.isEmpty && $0.heldBy.allSatisfy { $0.hasPrefix("container ") } }
        let unreferenced = notFromImages.filter(\.unreferenced)
        let otherwise = sum(notFromImages) - sum(byContainers) - sum(unreferenced)
        out += "images in \(namespace): \(images.count), \(size(imagesBytes)) = \(size(imagesUniqueBytes)) unique + \(size(imagesSharedBytes)) shared (each shared layer counted once)\n"
        out += "not reached from any image: \(size(sum(notFromImages))) = \(size(sum(byContainers))) containers' own"
            + " + \(size(otherwise)) held by leases or gc.root labels + \(size(sum(unreferenced))) that nothing holds (the next garbage collection removes it)\n"
        if namespaces.count > 1 {
            out += "\n" + Render.table(["NAMESPACE", "IMAGES", "CONTENT", "SNAPSHOTS", "NOT FROM IMAGES"], namespaces.map {
                [$0.namespace, "\($0.images)", "\($0.content.count) (\(size($0.content.bytes)))",
                 "\($0.snapshots.count) (\(size($0.snapshots.bytes)))", size($0.notFromImagesBytes)]
            })
        }

        // Images
        if !images.isEmpty {
            let shown = top > 0 ? Array(images.prefix(top)) : images
            out += "\nIMAGES in \(namespace)" + (shown.count < images.count ? " (the \(shown.count) largest of \(images.count) by unique bytes; --top 0 shows all)" : "") + "\n"
            out += Render.table(["IMAGE", "UNIQUE", "SHARED", "USED BY", "PINNED", "LAST USED"], shown.map { r in
                [r.names.count > 1 ? "\(r.name) (+\(r.names.count - 1))" : r.name, size(r.uniqueBytes), size(r.sharedBytes),
                 Self.usedBy(r.users, noTrunc: noTrunc), r.protections.isEmpty ? "-" : r.protections.joined(separator: "; "),
                 r.lastUsed.map { "\($0) (\(r.lastUsedFrom))" } ?? "-"]
            })
        }

        // What no image reaches
        let leftovers = notFromImages.filter { !$0.heldBy.allSatisfy { $0.hasPrefix("container ") } || $0.heldBy.isEmpty }
        if !leftovers.isEmpty {
            out += "\nNOT REFERENCED BY ANY IMAGE (containers' writable layers left out)\n"
            out += Render.table(["NAMESPACE", "KIND", "ID", "BYTES", "HELD BY"], leftovers.map {
                [$0.namespace, $0.kind, id($0.id), size($0.bytes),
                 $0.heldBy.isEmpty ? "nothing: containerd's next garbage collection removes it"
                     : $0.heldBy.joined(separator: "; ") + ($0.unreferenced ? ": the next garbage collection removes it" : "")]
            })
        }
        let releasable = leases.filter { $0.expired || $0.stale }
        if !releasable.isEmpty {
            out += "kctr images prune --leaked releases \(releasable.count) lease\(releasable.count == 1 ? "" : "s") (expired, or of a kctr process that is gone): \(size(releasable.reduce(0) { $0 + $1.holdsBytes })); it leaves the others alone\n"
        }
        if !ingests.isEmpty {
            out += "\nINGESTS\n" + Render.table(["NAMESPACE", "REF", "WRITTEN", "UPDATED", "LEASE"], ingests.map {
                [$0.namespace, $0.ref, "\(size($0.offset)) of \($0.total > 0 ? size($0.total) : "?")", $0.updatedAt ?? "-",
                 $0.leases.isEmpty ? "none" : $0.leases.joined(separator: ", ")]
            })
        }
        if let k = kubelet { out += "\n" + k.text(size: size) }
        return out
    }

    static func short(_ id: String) -> String {
        if id.hasPrefix("sha256:") { return String(id.prefix(19)) }
        if let slash = id.firstIndex(of: "/"), id[id.index(after: slash)...].hasPrefix("sha256:") {
            return String(id.prefix(id.distance(from: id.startIndex, to: slash) + 20))
        }
        return id.count > 40 ? String(id.prefix(40)) + "..." : id
    }

    static func usedBy(_ users: [ImageUser], noTrunc: Bool) -> String {
        guard !users.isEmpty else { return "-" }
        let containers = users.filter { $0.kind != "sandbox" }
        let sandboxes = users.count - containers.count
        var parts: [String] = []
        if !containers.isEmpty {
            let running = containers.filter { $0.state == "Running" }.count
            if containers.count == 1, let c = containers.first {
                parts.append("\(c.name) (\(c.pod ?? (noTrunc ? c.id : String(c.id.prefix(13)))), \(c.state ?? "containerd"))")
            } else {
                parts.append("\(containers.count) containers (\(running) running)")
            }
        }
        if sandboxes > 0 { parts.append("\(sandboxes) pod sandbox\(sandboxes == 1 ? "" : "es")") }
        return parts.joined(separator: ", ")
    }
}

extension KubeletView {
    func text(size: (Int64) -> String) -> String {
        var out = "KUBELET (\(policy.configPath)\(policy.configFound ? "" : " not found: the kubelet's defaults")"
            + (policy.configFound && policy.fromConfig.isEmpty ? ": no image GC or eviction settings, the defaults" : "") + ")\n"
        if let gc = imageGC {
            out += "image GC on \(gc.filesystem): \(gc.usagePercent)% used as the kubelet counts; it collects at \(gc.highThresholdPercent)% down to \(gc.lowThresholdPercent)%\n"
            if gc.running {
                out += "  over the threshold: the kubelet collects now, to free \(size(gc.bytesToFree))\n"
            } else {
                out += "  \(size(gc.bytesUntilGC)) more until it starts; it will then free \(size(gc.bytesToFree))\n"
            }
            if gc.candidates.isEmpty {
                out += "  it can remove nothing: \(gc.skippedInUse) image(s) in use, \(gc.skippedPinned) pinned, \(gc.skippedYoung.count) younger than imageMinimumGCAge\n"
            } else {
                let removed = gc.candidates.filter(\.removed)
                out += "  it would remove \(removed.count) of \(gc.candidates.count) unused image(s), least recently used first: \(size(gc.removesCRIBytes)) as CRI counts, \(size(gc.freesBytes)) on disk"
                    + (gc.reachesLow ? "" : " (not enough to reach \(gc.lowThresholdPercent)%)") + "\n"
                out += Render.table(["  ORDER", "IMAGE", "SIZE (CRI)", "FREES", "LAST USED", "REMOVED"], gc.candidates.enumerated().map { k, c in
                    ["  \(k + 1)", c.name + (c.sandboxImage ? " (sandbox image: not pinned on this runtime)" : ""), size(c.criSize),
                     size(c.freesBytes), c.lastUsed.map { "\($0) (\(c.lastUsedFrom))" } ?? "-", c.removed ? "yes" : "no"]
                })
                out += "  kept: \(gc.skippedInUse) in use, \(gc.skippedPinned) pinned, \(gc.skippedYoung.count) younger than imageMinimumGCAge (\(Self.duration(policy.minimumGCAgeSeconds)))\n"
            }
            if !gc.pastMaximumAge.isEmpty {
                out += "  unused for longer than imageMaximumGCAge (\(Self.duration(policy.maximumGCAgeSeconds))), removed whatever the usage: \(gc.pastMaximumAge.joined(separator: ", "))\n"
            }
        }
        if !eviction.isEmpty {
            out += Render.table(["EVICTION SIGNAL", "THRESHOLD", "AVAILABLE", "MARGIN", "STATE"], eviction.map { e in
                let inodes = e.signal.hasSuffix(".inodesFree")
                func show(_ v: Int64?) -> String { v.map { inodes ? "\($0) inodes" : size($0) } ?? "-" }
                let limit = e.limit.map { " = \(show($0))" } ?? ""
                let state = e.available == nil ? "not measured" : e.met ? "MET: the kubelet evicts pods" : "ok"
                return ["\(e.signal) (\(e.kind), \(e.source))", "< \(e.threshold)\(limit)" + (e.gracePeriod.map { " for \($0)" } ?? ""),
                        show(e.available), e.margin.map { $0 < 0 ? "-" + show(-$0) : show($0) + " left" } ?? "-", state]
            })
        }
        if !policy.disabledDefaults.isEmpty {
            out += "evictionHard in \(policy.configPath) leaves out \(policy.disabledDefaults.joined(separator: ", ")): without mergeDefaultEvictionSettings the kubelet disables them\n"
        }
        if sameFilesystem { out += "imagefs and nodefs are the same filesystem\n" }
        for n in notes { out += "note: \(n)\n" }
        return out
    }

    static func duration(_ seconds: Double) -> String {
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        return "\(Int(seconds))s"
    }
}
