import Foundation
import KctrRPC

/// Unpacks an image's layers into a snapshotter exactly as containerd does:
/// one committed snapshot per layer named by its chain ID, applied by the
/// daemon's differ, with the labels containerd's own unpacker sets.
struct Unpacker: Sendable {
    let api: ContainerdAPI
    let session: Session
    let snapshotter: String
    let progress: (@Sendable (String) -> Void)?

    func unpack(_ m: ImportPlan.Manifest) async throws {
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
            progress?("unpacking layer \(i + 1)/\(m.layers.count) \(Digest.short(layer.digest))")
            try await apply(layer, diffID: m.diffIDs[i], chainID: chainID, parent: parent)
            if layer.digest != m.diffIDs[i] {
                do {
                    try await api.updateContentLabels(digest: layer.digest, labels: ["containerd.io/uncompressed": m.diffIDs[i]])
                } catch {
                    throw session.explain(error, doing: "labelling layer \(layer.digest)")
                }
            }
        }
        guard let top = Digest.chainID(chain) else { return }
        do {
            try await api.updateContentLabels(digest: m.config.digest,
                                              labels: ["containerd.io/gc.ref.snapshot.\(snapshotter)": top])
        } catch {
            throw session.explain(error, doing: "labelling config \(m.config.digest)")
        }
    }

    private func apply(_ layer: OCIDescriptor, diffID: String, chainID: String, parent: String) async throws {
        let key = "extract-\(UInt32.random(in: 0...UInt32.max))-\(getpid()) \(chainID)"
        let mounts = try await prepare(key: key, parent: parent, layer: layer)
        let outcome: Error?
        do {
            try await applyAndCommit(layer, diffID: diffID, chainID: chainID, key: key, mounts: mounts)
            outcome = nil
        } catch {
            outcome = error
        }
        guard let failure = outcome else { return }
        try? await api.removeSnapshot(snapshotter: snapshotter, key: key)
        if let rpc = failure as? RPCError, rpc.code == .alreadyExists {
            return  // someone unpacked the same layer meanwhile: theirs serves
        }
        if failure is KctrError { throw failure }
        throw session.explain(failure, doing: "unpacking layer \(layer.digest) into \(snapshotter)")
    }

    private func prepare(key: String, parent: String, layer: OCIDescriptor) async throws -> [Mount] {
        do {
            return try await api.prepareSnapshot(snapshotter: snapshotter, key: key, parent: parent)
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
