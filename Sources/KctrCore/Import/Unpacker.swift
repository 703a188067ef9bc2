import Foundation
import KctrRPC

/// Unpacks an image's layers into a snapshotter exactly as containerd does:
/// one committed snapshot per layer named by its chain ID, applied by the
/// daemon's differ, with the labels containerd's own unpacker sets.
struct Unpacker: Sendable {
    let api: ContainerdAPI
    let session: Session
    let snapshotter: String
    let progress: ProgressSink?

    /// Passes over the layers before giving up on snapshots that other
    /// callers remove under this import (see `unpack`).
    static let maxPasses = 3

    /// Another import or `images rm` + GC may remove a committed snapshot this
    /// import found and skipped, before anything of this import references it
    /// (a found snapshot is not added to our lease). As containerd's unpacker
    /// does, a parent that vanished restarts the pass; the top snapshot is
    /// checked again once the config (leased) references it, after which GC
    /// keeps it.
    func unpack(_ m: ImportPlan.Manifest) async throws {
        guard let top = Digest.chainID(Array(m.diffIDs.prefix(m.layers.count))) else { return }
        for pass in 1...Self.maxPasses {
            guard try await unpackPass(m) else {
                session.debug("unpacking \(m.descriptor.digest): a parent snapshot vanished (pass \(pass)), starting over")
                continue
            }
            do {
                try await api.updateContentLabels(digest: m.config.digest,
                                                  labels: ["containerd.io/gc.ref.snapshot.\(snapshotter)": top])
            } catch {
                throw session.explain(error, doing: "labelling config \(m.config.digest)")
            }
            do {
                if try await api.snapshot(snapshotter: snapshotter, key: top) != nil { return }
            } catch {
                throw session.explain(error, doing: "looking up snapshot \(top) in \(snapshotter)")
            }
            session.debug("unpacking \(m.descriptor.digest): snapshot \(top) vanished (pass \(pass)), starting over")
        }
        throw KctrError("unpacking \(m.descriptor.digest) into \(snapshotter): its snapshots were removed \(Self.maxPasses) times while kctr was unpacking them",
                        hint: "another client is removing images or snapshots of this namespace; import again when it is done")
    }

    /// One pass over the layers; false when a parent snapshot vanished.
    private func unpackPass(_ m: ImportPlan.Manifest) async throws -> Bool {
        var chain: [String] = []
        var parent = ""
        for (i, layer) in m.layers.enumerated() {
            chain.append(m.diffIDs[i])
            guard let chainID = Digest.chainID(chain) else { continue }
            defer { parent = chainID }
            do {
                if try await api.snapshot(snapshotter: snapshotter, key: chainID) != nil { continue }
            } catch {
                throw session.explain(error, doing: "looking up snapshot \(chainID) in \(snapshotter)")
            }
            progress?(.step("unpacking layer \(i + 1)/\(m.layers.count) \(Digest.short(layer.digest))"))
            guard try await apply(layer, diffID: m.diffIDs[i], chainID: chainID, parent: parent) else { return false }
            if layer.digest != m.diffIDs[i] {
                do {
                    try await api.updateContentLabels(digest: layer.digest, labels: ["containerd.io/uncompressed": m.diffIDs[i]])
                } catch {
                    throw session.explain(error, doing: "labelling layer \(layer.digest)")
                }
            }
        }
        return true
    }

    /// Applies one layer onto `parent` and commits it as `chainID`; false
    /// when `parent` vanished before the prepare (the caller starts over).
    private func apply(_ layer: OCIDescriptor, diffID: String, chainID: String, parent: String) async throws -> Bool {
        let key = "extract-\(UInt32.random(in: 0...UInt32.max))-\(getpid()) \(chainID)"
        guard let mounts = try await prepare(key: key, parent: parent, layer: layer) else { return false }
        let outcome: Error?
        do {
            try await applyAndCommit(layer, diffID: diffID, chainID: chainID, key: key, mounts: mounts)
            outcome = nil
        } catch {
            outcome = error
        }
        guard let failure = outcome else { return true }
        try? await api.removeSnapshot(snapshotter: snapshotter, key: key)
        if let rpc = failure as? RPCError, rpc.code == .alreadyExists {
            return true  // someone unpacked the same layer meanwhile: theirs serves
        }
        if failure is KctrError { throw failure }
        throw session.explain(failure, doing: "unpacking layer \(layer.digest) into \(snapshotter)")
    }

    /// The mounts of a new active snapshot, or nil when `parent` is gone.
    private func prepare(key: String, parent: String, layer: OCIDescriptor) async throws -> [Mount]? {
        do {
            return try await api.prepareSnapshot(snapshotter: snapshotter, key: key, parent: parent)
        } catch where error.code == .notFound && !parent.isEmpty {
            return nil  // removed since we found it (containerd's unpacker re-applies it too)
        } catch {
            if error.code == .notFound || error.message.contains("snapshotter not loaded") {
                throw KctrError("snapshotter \(snapshotter) is not available in containerd: \(error.message)",
                                hint: "check `kctr plugins ls type==io.containerd.snapshotter.v1`, or pass --snapshotter / --no-unpack")
            }
            throw session.explain(error, doing: "preparing a snapshot for layer \(layer.digest)")
        }
    }

    private func applyAndCommit(_ layer: OCIDescriptor, diffID: String, chainID: String, key: String, mounts: [Mount]) async throws {
        let applied = try await api.applyDiff(Descriptor(mediaType: layer.mediaType ?? "", digest: layer.digest, size: layer.size),
                                              mounts: mounts)
        guard applied.digest == diffID else {
            throw KctrError("layer \(layer.digest) unpacks to \(applied.digest), not to the diff ID \(diffID) its config names",
                            hint: "the image is corrupt or its config does not belong to its layers")
        }
        try await api.commitSnapshot(snapshotter: snapshotter, name: chainID, key: key)
    }
}
