/// Calls that change containerd's state: leases, content, images,
/// snapshots and the differ. One function per RPC, as in ContainerdAPI.
extension ContainerdAPI {
    /// Calls that move or unpack whole blobs take as long as the data does:
    /// they get at least 30 minutes, still cancelled by Ctrl-C.
    var bulk: RPCClient {
        rpc.withTimeout(milliseconds: max(rpc.options.timeoutMilliseconds, 30 * 60 * 1000))
    }

    // MARK: leases

    /// The same API with every call made under `lease`.
    public func leased(_ lease: String) -> ContainerdAPI {
        ContainerdAPI(rpc.with("containerd-lease", lease))
    }

    public func createLease(id: String, labels: [String: String]) async throws(RPCError) {
        _ = try await rpc.call(Leases.create, .init(id: id, labels: labels))
    }

    public func deleteLease(id: String, sync: Bool) async throws(RPCError) {
        _ = try await rpc.call(Leases.delete, .init(id: id, sync: sync))
    }

    /// Puts blob `digest` under `lease` (idempotent): what a lease holds, GC keeps.
    public func addLeaseResource(lease: String, digest: String) async throws(RPCError) {
        _ = try await rpc.call(Leases.addResource, .init(id: lease, resource: .init(id: digest, type: "content")))
    }

    /// IDs of the leases of the namespace (optionally filtered).
    public func leases(filters: [String] = []) async throws(RPCError) -> [String] {
        let r = try await rpc.call(Leases.list, .init(filters: filters))
        return r.leases.map(\.id)
    }

    // MARK: content

    /// Opens a write of one blob. `expected` may be empty when the digest is
    /// not known yet (containerd computes it); an existing blob with the
    /// expected digest makes the first `write` or `commit` fail with
    /// `.alreadyExists` (and containerd adds it to the current lease).
    public func contentWriter(ref: String, expected: String, total: Int64) async throws(RPCError) -> ContentWriter {
        let stream = try await bulk.openStream(Content.write.method)
        let writer = ContentWriter(stream: stream, ref: ref, expected: expected, total: total,
                                   idleMilliseconds: rpc.options.timeoutMilliseconds)
        try await writer.stat()
        return writer
    }

    /// Sets the given labels of a blob (other labels stay).
    public func updateContentLabels(digest: String, labels: [String: String]) async throws(RPCError) {
        _ = try await rpc.call(Content.update, .init(info: .init(digest: digest, labels: labels),
                                                     updateMask: .init(paths: labels.keys.sorted().map { "labels.\($0)" })))
    }

    /// Reads a blob in order, chunk by chunk, with bounded memory.
    public func readContent(digest: String, onChunk: ([UInt8]) async throws -> Void) async throws {
        try await bulk.stream(Content.read, .init(digest: digest)) { chunk in
            try await onChunk(chunk.data)
        }
    }

    /// Ingests in progress (refs), as `ctr content active` lists them.
    public func activeIngests() async throws(RPCError) -> [String] {
        try await ingestStatuses().map(\.ref)
    }

    public func abortIngest(ref: String) async throws(RPCError) {
        _ = try await rpc.call(Content.abort, .init(ref: ref))
    }

    // MARK: images

    public func createImage(_ image: ImageRecord) async throws(RPCError) -> ImageRecord {
        let r = try await rpc.call(Images.create, .init(image: image.message))
        return r.image.map(ImageRecord.init) ?? image
    }

    /// Updates the given fields ("target", "labels", "labels.<key>").
    public func updateImage(_ image: ImageRecord, fields: [String]) async throws(RPCError) -> ImageRecord {
        let r = try await rpc.call(Images.update, .init(image: image.message, updateMask: .init(paths: fields)))
        return r.image.map(ImageRecord.init) ?? image
    }

    public func deleteImage(name: String, sync: Bool) async throws(RPCError) {
        _ = try await rpc.call(Images.delete, .init(name: name, sync: sync))
    }

    // MARK: snapshots and diff

    public func prepareSnapshot(snapshotter: String, key: String, parent: String,
                                labels: [String: String] = [:]) async throws(RPCError) -> [Mount] {
        let r = try await rpc.call(Snapshots.prepare, .init(snapshotter: snapshotter, key: key, parent: parent, labels: labels))
        return r.mounts.map(Mount.init)
    }

    public func commitSnapshot(snapshotter: String, name: String, key: String,
                               labels: [String: String] = [:]) async throws(RPCError) {
        _ = try await rpc.call(Snapshots.commit, .init(snapshotter: snapshotter, name: name, key: key, labels: labels))
    }

    public func removeSnapshot(snapshotter: String, key: String) async throws(RPCError) {
        _ = try await rpc.call(Snapshots.remove, .init(snapshotter: snapshotter, key: key))
    }

    /// Applies a layer blob onto mounts; returns the uncompressed descriptor.
    public func applyDiff(_ layer: Descriptor, mounts: [Mount]) async throws(RPCError) -> Descriptor {
        let r = try await bulk.call(Diff.apply, .init(diff: layer.message, mounts: mounts.map(\.message)))
        return Descriptor(r.applied ?? .init())
    }
}

public struct Mount: Sendable, Equatable, Codable {
    public var type: String
    public var source: String
    public var target: String
    public var options: [String]

    init(_ p: Containerd.Types.Mount) {
        type = p.type
        source = p.source
        target = p.target
        options = p.options
    }

    var message: Containerd.Types.Mount {
        Containerd.Types.Mount(type: type, source: source, target: target, options: options)
    }
}

/// One blob being written to the content store (Content.Write, bidi).
/// Writes are pipelined: a response is read one message behind.
public final class ContentWriter: @unchecked Sendable {
    // @unchecked: used by one task at a time (the importer's upload of this blob).
    private let stream: RPCStream
    public let ref: String
    private let expected: String
    private let total: Int64
    private var offset: Int64 = 0
    private var pending = 0
    /// The longest wait for one step (a STAT, a chunk sent and the one
    /// before it acknowledged): the session's --timeout.
    private let idle: Int64

    init(stream: RPCStream, ref: String, expected: String, total: Int64, idleMilliseconds: Int64) {
        self.stream = stream
        self.ref = ref
        self.expected = expected
        self.total = total
        self.idle = idleMilliseconds
    }

    /// Opens the ingest as containerd's own client does: a STAT first, so an
    /// existing blob ends the stream with `.alreadyExists` before any data is
    /// sent (a send after the server has closed the stream is never answered).
    func stat() async throws(RPCError) {
        let request = Containerd.Content.WriteContentRequest(action: .stat, ref: ref, total: total, expected: expected)
        let stream = self.stream
        let reply = try await withIdleDeadline(idle, stream: stream) { () async throws(RPCError) -> Containerd.Content.WriteContentResponse? in
            try await stream.send(request.proto)
            return try await stream.receive().map(Containerd.Content.WriteContentResponse.init(proto:))
        }
        guard let reply else {
            throw RPCError(code: .internal, message: "content write of \(ref) ended before its status", method: stream.method)
        }
        offset = reply.offset
        // The bytes are already on disk (another namespace has them): commit only.
        if offset > 0 && offset == total { complete = true; return }
        if offset != 0 {
            throw RPCError(code: .failedPrecondition,
                           message: "ingest \(ref) already holds \(offset) of \(total) bytes", method: stream.method)
        }
    }

    /// True when containerd already holds every byte and only a commit is needed.
    public private(set) var complete = false

    /// Appends `data` at the current offset.
    public func write(_ data: [UInt8]) async throws(RPCError) {
        guard !data.isEmpty, !complete else { return }
        let request = Containerd.Content.WriteContentRequest(action: .write, ref: ref, total: total, expected: expected,
                                                             offset: offset, data: data)
        try await withIdleDeadline(idle, stream: stream) { () async throws(RPCError) in
            try await self.stream.send(request.proto)
            self.offset += Int64(data.count)
            self.pending += 1
            if self.pending > 1 { try await self.drainOne() }
        }
    }

    /// Commits the blob; returns its digest.
    /// containerd fsyncs the blob on commit, which on a loaded node may take
    /// far longer than one chunk: the commit gets at least 5 minutes.
    public func commit(labels: [String: String]) async throws(RPCError) -> String {
        let request = Containerd.Content.WriteContentRequest(action: .commit, ref: ref, total: offset, expected: expected,
                                                             offset: offset, labels: labels)
        let stream = self.stream
        return try await withIdleDeadline(max(idle, Self.commitMilliseconds), stream: stream) { () async throws(RPCError) -> String in
            try await stream.send(request.proto, close: true)
            while self.pending > 0 { try await self.drainOne() }
            guard let reply = try await stream.receive() else {
                throw RPCError(code: .internal, message: "content write of \(self.ref) ended without a commit response", method: stream.method)
            }
            _ = try await stream.receive()
            return Containerd.Content.WriteContentResponse(proto: reply).digest
        }
    }

    static let commitMilliseconds: Int64 = 5 * 60 * 1000

    public func cancel() { stream.cancel() }

    private func drainOne() async throws(RPCError) {
        guard try await stream.receive() != nil else {
            throw RPCError(code: .internal, message: "content write of \(ref) ended early", method: stream.method)
        }
        pending -= 1
    }
}

extension ContainerdAPI {
    /// Opens a streaming read of a blob; pull chunks with `next()`.
    public func contentReader(digest: String) async throws(RPCError) -> ContentReader {
        let stream = try await bulk.openStream(Content.read.method)
        try await stream.send(Containerd.Content.ReadContentRequest(digest: digest).proto, close: true)
        return ContentReader(stream: stream, idleMilliseconds: rpc.options.timeoutMilliseconds)
    }
}

/// A blob read in order (Content.Read, server-streaming), one chunk at a time.
public final class ContentReader: Sendable {
    private let stream: RPCStream
    /// The longest wait for one chunk: the session's --timeout.
    private let idle: Int64

    init(stream: RPCStream, idleMilliseconds: Int64) {
        self.stream = stream
        self.idle = idleMilliseconds
    }

    /// The next chunk, or nil at the end of the blob.
    public func next() async throws(RPCError) -> [UInt8]? {
        let stream = self.stream
        return try await withIdleDeadline(idle, stream: stream) { () async throws(RPCError) -> [UInt8]? in
            // ReadContentResponse: offset = 1, data = 2.
            while let data = try await stream.receiveBytes(field: 2) {
                if !data.isEmpty { return data }
            }
            return nil
        }
    }

    public func cancel() { stream.cancel() }
}
