import Crypto
import Dispatch
import Foundation
import KctrArchive
import KctrRPC

struct UploadedBlob: Sendable {
    var digest: String
    var size: Int64
    var magic: [UInt8]
    /// The store had it already (or another client committed it first): this run wrote none of it.
    var existed = false
}

struct UploadResult: Sendable {
    var blobs: [String: UploadedBlob] = [:]
    var written = 0
    var present = 0
    var bytes: Int64 = 0
}

/// Streams blobs from an archive into containerd's content store, one
/// chunk in memory at a time, checking each digest as it goes.
///
/// libarchive reads synchronously, so the pass runs on its own thread and
/// hands each chunk to the async RPC layer, waiting for it: memory stays at
/// one chunk per blob whatever the archive's size.
struct BlobUploader: Sendable {
    /// nil for `import --dry-run`: every blob is read and hashed, nothing is written.
    let api: ContainerdAPI?
    let session: Session?
    let progress: ProgressSink?
    /// Free space where the content store keeps blobs, checked before each blob is written.
    var room = ContentRoom.unknown

    static let chunkSize = 1 << 20

    /// Uploads `blobs` from the archive at `path`; `archive` names it in messages.
    func upload(path: String, archive: String, blobs: [String: ImportPlan.Blob]) async throws -> UploadResult {
        try await onOwnThread(named: "kctr-upload") { control in
            try self.uploadAll(path: path, archive: archive, blobs: blobs, control: control)
        }
    }

    private func uploadAll(path: String, archive: String, blobs: [String: ImportPlan.Blob], control: UploadControl) throws -> UploadResult {
        var result = UploadResult()
        let overall = TransferProgress(report: progress)
        let reader = try ArchiveCatalog.open(path, source: archive)
        var seen: Set<String> = []
        while let info = try ArchiveCatalog.next(reader, path: archive) {
            let name = ArchiveCatalog.normalize(info.path)
            // The first pass refused duplicates and sparse files; this pass reads the file again, which may have changed since.
            guard info.type != .file || (seen.insert(name).inserted && !info.sparse) else {
                throw KctrError("\(archive) changed while kctr was reading it (\(name) is now a duplicate or sparse member)",
                                hint: "import a copy that nothing else is writing to")
            }
            guard info.type == .file, let blob = blobs[name], result.blobs[name] == nil else { continue }
            try control.check()
            if let expected = blob.digest, info.size != blob.size {
                throw KctrError("\(archive): blob \(expected) is \(info.size) bytes in the archive but its descriptor says \(blob.size)",
                                hint: "the archive is corrupt: export it again")
            }
            let done = try uploadOne(reader: reader, archive: archive, path: name, blob: blob, size: info.size, control: control,
                                     overall: overall)
            var uploaded = done.blob
            uploaded.existed = done.existed
            result.blobs[name] = uploaded
            if done.existed { result.present += 1 } else { result.written += 1; result.bytes += info.size }
        }
        for (path, blob) in blobs where result.blobs[path] == nil {
            throw KctrError("\(archive): \(blob.digest ?? path) is named by the image but missing from the archive",
                            hint: "the archive is incomplete: export it again")
        }
        return result
    }

    /// Streams one blob into the content store while hashing it. Every byte is hashed, whether
    /// or not containerd already has the digest (then nothing is sent): bytes that do not hash to
    /// their descriptor are refused with one message on every node, and a blob the store holds is
    /// never vouched for by an archive whose copy differs.
    private func uploadOne(reader: ArchiveReader, archive: String, path: String, blob: ImportPlan.Blob, size: Int64,
                           control: UploadControl, overall: TransferProgress) throws -> (blob: UploadedBlob, existed: Bool) {
        let expected = blob.digest ?? ""
        let ref = StaleImports.name("\(Digest.short(expected.isEmpty ? path : expected))")
        var writer: ContentWriter?
        if let api {
            do {
                writer = try blocking(control) { try await api.contentWriter(ref: ref, expected: expected, total: size) }
            } catch let e as RPCError where e.code == .alreadyExists {
                writer = nil  // containerd has it, and has added it to this import's lease: hash the archive's copy only
            } catch let e as RPCError {
                throw explain(e, doing: "writing \(path) to the content store")
            }
        }
        if writer != nil { try room.require(size, for: path, source: archive) }
        var existed = writer == nil
        var hasher = expected.isEmpty ? Digest.Hasher(algorithm: .sha256) : (Digest.Hasher(for: expected) ?? Digest.Hasher(algorithm: .sha256))
        var buffer: [UInt8] = []
        buffer.reserveCapacity(Self.chunkSize)
        var magic: [UInt8] = []
        var sent: Int64 = 0
        func send(_ bytes: [UInt8]) throws {
            guard let w = writer else { return }
            do {
                try blocking(control) { try await w.write(bytes) }
                if sent == 0 && size > 2 * Int64(Self.chunkSize) { FaultPoint.importMidBlob.reach() }
                sent += Int64(bytes.count)
            } catch let e as RPCError where e.code == .alreadyExists {
                // Another client committed the same digest meanwhile: go on hashing, send no more.
                writer = nil
                existed = true
            }
        }
        let label = Digest.short(expected.isEmpty ? path : expected)
        do {
            try ArchiveCatalog.readData(reader, path: archive, entry: path) { chunk in
                if magic.count < 8 { magic += chunk.prefix(8 - magic.count) }
                hasher.update(chunk)
                overall.advance(Int64(chunk.count), blob: label)
                buffer.append(contentsOf: chunk)
                if buffer.count >= Self.chunkSize {
                    try control.check()
                    let full = buffer
                    buffer.removeAll(keepingCapacity: true)
                    try send(full)
                }
            }
            if !buffer.isEmpty { try send(buffer) }
            let computed = hasher.finalize()
            if !expected.isEmpty && computed != expected {
                throw ImportPlan.mismatch(source: archive, "blob \(path)", expected: expected, computed: computed)
            }
            // docker save's layers are uncompressed tars whose digest is the config's diff ID.
            if let diffID = blob.diffID, !Self.isCompressed(magic), computed != diffID {
                throw ImportPlan.mismatch(source: archive, "layer \(path)", expected: diffID, computed: computed)
            }
            if let w = writer {
                do {
                    _ = try blocking(control) { try await w.commit(labels: [:]) }
                } catch let e as RPCError where e.code == .alreadyExists {
                    existed = true
                }
            }
            return (UploadedBlob(digest: computed, size: size, magic: magic), existed)
        } catch {
            if let w = writer, let api {
                w.cancel()
                Task.detached { try? await api.abortIngest(ref: ref) }
            }
            if let e = error as? RPCError { throw explain(e, doing: "writing \(path) to the content store") }
            throw error
        }
    }

    private func explain(_ error: RPCError, doing: String) -> Error {
        session?.explain(error, doing: doing) ?? KctrError("\(doing): \(error.message)")
    }

    /// gzip or zstd: a layer whose digest is not its diff ID.
    static func isCompressed(_ magic: [UInt8]) -> Bool {
        magic.starts(with: [0x1f, 0x8b]) || magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd])
    }

    /// Writes a small in-memory blob (a manifest kctr built).
    static func writeSmall(_ bytes: [UInt8], digest: String, api: ContainerdAPI, session: Session) async throws {
        do {
            let writer = try await api.contentWriter(ref: StaleImports.name(Digest.short(digest)),
                                                     expected: digest, total: Int64(bytes.count))
            try await writer.write(bytes)
            _ = try await writer.commit(labels: [:])
        } catch where error.code == .alreadyExists {
            return
        } catch {
            throw session.explain(error, doing: "writing manifest \(digest)")
        }
    }
}

/// Progress of a bulk transfer: bytes as they move, and which blob.
final class TransferProgress: @unchecked Sendable {
    // @unchecked: advanced by the one transfer thread.
    private let report: ProgressSink?
    private var blob = ""

    init(report: ProgressSink?) { self.report = report }

    func advance(_ bytes: Int64, blob: String) {
        guard let report else { return }
        if blob != self.blob {
            self.blob = blob
            report(.step("blob \(blob)"))
        }
        report(.bytes(bytes))
    }
}

/// Cancellation shared between the async caller and the upload thread.
final class UploadControl: @unchecked Sendable {
    // @unchecked: `cancelled` is guarded by `lock`.
    private let lock = NSLock()
    private var cancelled = false

    func cancel() {
        lock.lock()
        cancelled = true
        lock.unlock()
    }

    var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    func check() throws {
        if isCancelled { throw KctrError("import cancelled", exitCode: 130) }
    }
}

/// Runs synchronous, blocking work (libarchive) on a thread of its own, off
/// the concurrency pool; cancelling the caller sets `control`, which the work
/// checks between chunks.
func onOwnThread<T: Sendable>(named name: String, _ work: @escaping @Sendable (UploadControl) throws -> T) async throws -> T {
    let control = UploadControl()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            let thread = Thread {
                do {
                    cont.resume(returning: try work(control))
                } catch {
                    cont.resume(throwing: error)
                }
            }
            thread.name = name
            thread.start()
        }
    } onCancel: {
        control.cancel()
    }
}

/// Runs `op` on the concurrency pool and waits for it on this (non-pool)
/// thread; cancelled when the upload is.
func blocking<T: Sendable>(_ control: UploadControl, _ op: @escaping @Sendable () async throws -> T) throws -> T {
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox<T>()
    let task = Task {
        do { box.set(.success(try await op())) } catch { box.set(.failure(error)) }
        done.signal()
    }
    while done.wait(timeout: .now() + .milliseconds(100)) == .timedOut {
        if control.isCancelled { task.cancel() }
    }
    return try box.get()
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    // @unchecked: written once before the semaphore is signalled, read after.
    private var result: Result<T, Error>?
    func set(_ r: Result<T, Error>) { result = r }
    func get() throws -> T {
        guard let result else { throw KctrError("internal error: an operation finished without a result") }
        return try result.get()
    }
}
