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
        _ = try await rpc.unary(RPCMethod(Service.leases, "Create"), Proto(["id": .string(id), "labels": .map(labels)]))
    }

    public func deleteLease(id: String, sync: Bool) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.leases, "Delete"), Proto(["id": .string(id), "sync": .bool(sync)]))
    }

    /// Puts blob `digest` under `lease` (idempotent): what a lease holds, GC keeps.
    public func addLeaseResource(lease: String, digest: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.leases, "AddResource"), Proto([
            "id": .string(lease), "resource": .message(Proto(["id": .string(digest), "type": .string("content")])),
        ]))
    }

    /// IDs of the leases of the namespace (optionally filtered).
    public func leases(filters: [String] = []) async throws(RPCError) -> [String] {
        let r = try await rpc.unary(RPCMethod(Service.leases, "List"), Proto(["filters": .strings(filters)]))
        return r.messages("leases").map { $0.string("id") }
    }

    // MARK: content

    /// Opens a write of one blob. `expected` may be empty when the digest is
    /// not known yet (containerd computes it); an existing blob with the
    /// expected digest makes the first `write` or `commit` fail with
    /// `.alreadyExists` (and containerd adds it to the current lease).
    public func contentWriter(ref: String, expected: String, total: Int64) async throws(RPCError) -> ContentWriter {
        let stream = try await bulk.openStream(RPCMethod(Service.content, "Write"))
        let writer = ContentWriter(stream: stream, ref: ref, expected: expected, total: total,
                                   idleMilliseconds: rpc.options.timeoutMilliseconds)
        try await writer.stat()
        return writer
    }

    /// Sets the given labels of a blob (other labels stay).
    public func updateContentLabels(digest: String, labels: [String: String]) async throws(RPCError) {
        let info = Proto(["digest": .string(digest), "labels": .map(labels)])
        let mask = Proto(["paths": .strings(labels.keys.sorted().map { "labels.\($0)" })])
        _ = try await rpc.unary(RPCMethod(Service.content, "Update"),
                                Proto(["info": .message(info), "update_mask": .message(mask)]))
    }

    /// Reads a blob in order, chunk by chunk, with bounded memory.
    public func readContent(digest: String, onChunk: ([UInt8]) async throws -> Void) async throws {
        try await bulk.serverStream(RPCMethod(Service.content, "Read"), Proto(["digest": .string(digest)])) { chunk in
            try await onChunk(chunk.bytes("data"))
        }
    }

    /// Ingests in progress (refs), as `ctr content active` lists them.
    public func activeIngests() async throws(RPCError) -> [String] {
        try await ingestStatuses().map(\.ref)
    }

    public func abortIngest(ref: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.content, "Abort"), Proto(["ref": .string(ref)]))
    }

    // MARK: images

    public func createImage(_ image: ImageRecord) async throws(RPCError) -> ImageRecord {
        let r = try await rpc.unary(RPCMethod(Service.images, "Create"), Proto(["image": .message(image.proto)]))
        return r.message("image").map(ImageRecord.init) ?? image
    }

    /// Updates the given fields ("target", "labels", "labels.<key>").
    public func updateImage(_ image: ImageRecord, fields: [String]) async throws(RPCError) -> ImageRecord {
        let r = try await rpc.unary(RPCMethod(Service.images, "Update"),
                                    Proto(["image": .message(image.proto),
                                           "update_mask": .message(Proto(["paths": .strings(fields)]))]))
        return r.message("image").map(ImageRecord.init) ?? image
    }

    public func deleteImage(name: String, sync: Bool) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.images, "Delete"), Proto(["name": .string(name), "sync": .bool(sync)]))
    }

    // MARK: snapshots and diff

    public func prepareSnapshot(snapshotter: String, key: String, parent: String,
                                labels: [String: String] = [:]) async throws(RPCError) -> [Mount] {
        var req = Proto(["snapshotter": .string(snapshotter), "key": .string(key), "parent": .string(parent)])
        if !labels.isEmpty { req["labels"] = .map(labels) }
        let r = try await rpc.unary(RPCMethod(Service.snapshots, "Prepare"), req)
        return r.messages("mounts").map(Mount.init)
    }

    public func commitSnapshot(snapshotter: String, name: String, key: String,
                               labels: [String: String] = [:]) async throws(RPCError) {
        var req = Proto(["snapshotter": .string(snapshotter), "name": .string(name), "key": .string(key)])
        if !labels.isEmpty { req["labels"] = .map(labels) }
        _ = try await rpc.unary(RPCMethod(Service.snapshots, "Commit"), req)
    }

    public func removeSnapshot(snapshotter: String, key: String) async throws(RPCError) {
        _ = try await rpc.unary(RPCMethod(Service.snapshots, "Remove"),
                                Proto(["snapshotter": .string(snapshotter), "key": .string(key)]))
    }

    /// Applies a layer blob onto mounts; returns the uncompressed descriptor.
    public func applyDiff(_ layer: Descriptor, mounts: [Mount]) async throws(RPCError) -> Descriptor {
        let r = try await bulk.unary(RPCMethod(Service.diff, "Apply"),
                                    Proto(["diff": .message(layer.proto), "mounts": .list(mounts.map { .message($0.proto) })]))
        return Descriptor(r.message("applied") ?? Proto())
    }
}

public struct Mount: Sendable, Equatable, Codable {
    public var type: String
    public var source: String
    public var target: String
    public var options: [String]

    init(_ p: Proto) {
        type = p.string("type")
        source = p.string("source")
        target = p.string("target")
        options = p.strings("options")
    }

    var proto: Proto {
        Proto(["type": .string(type), "source": .string(source), "target": .string(target), "options": .strings(options)])
    }
}

extension ImageRecord {
    var proto: Proto {
        var p = Proto(["name": .string(name), "target": .message(target.proto)])
        if !labels.isEmpty { p["labels"] = .map(labels) }
        return p
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
        var req = Proto(["action": .enumeration(0), "ref": .string(ref), "total": .int(total)])
        if !expected.isEmpty { req["expected"] = .string(expected) }
        let stream = self.stream
        let request = req
        let reply = try await withIdleDeadline(idle, stream: stream) { () async throws(RPCError) -> Proto? in
            try await stream.send(request)
            return try await stream.receive()
        }
        guard let reply else {
            throw RPCError(code: .internal, message: "content write of \(ref) ended before its status", method: stream.method)
        }
        offset = reply.int("offset")
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
        var req = Proto(["action": .enumeration(1), "ref": .string(ref), "offset": .int(offset),
                         "data": .bytes(data), "total": .int(total)])
        if !expected.isEmpty { req["expected"] = .string(expected) }
        let request = req
        try await withIdleDeadline(idle, stream: stream) { () async throws(RPCError) in
            try await self.stream.send(request)
            self.offset += Int64(data.count)
            self.pending += 1
            if self.pending > 1 { try await self.drainOne() }
        }
    }

    /// Commits the blob; returns its digest.
    /// containerd fsyncs the blob on commit, which on a loaded node may take
    /// far longer than one chunk: the commit gets at least 5 minutes.
    public func commit(labels: [String: String]) async throws(RPCError) -> String {
        var req = Proto(["action": .enumeration(2), "ref": .string(ref), "offset": .int(offset), "total": .int(offset)])
        if !expected.isEmpty { req["expected"] = .string(expected) }
        if !labels.isEmpty { req["labels"] = .map(labels) }
        let stream = self.stream
        let request = req
        return try await withIdleDeadline(max(idle, Self.commitMilliseconds), stream: stream) { () async throws(RPCError) -> String in
            try await stream.send(request, close: true)
            while self.pending > 0 { try await self.drainOne() }
            guard let reply = try await stream.receive() else {
                throw RPCError(code: .internal, message: "content write of \(self.ref) ended without a commit response", method: stream.method)
            }
            _ = try await stream.receive()
            return reply.string("digest")
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
        let stream = try await bulk.openStream(RPCMethod(Service.content, "Read"))
        try await stream.send(Proto(["digest": .string(digest)]), close: true)
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
