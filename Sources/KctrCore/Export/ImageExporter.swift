import Crypto
import Foundation
import KctrArchive
import KctrRPC

public struct ExportOptions: Sendable {
    public var platforms: ImportPlan.PlatformChoice = .node
    public var skipMissing = false

    public init() {}
}

public struct ExportedImage: Codable, Sendable, Equatable {
    public var name: String
    /// The digest written in index.json (a new index when platforms were left out).
    public var digest: String
    public var platforms: [String]
    public var skippedPlatforms: [String]
}

public struct ExportReport: Codable, Sendable, Equatable {
    public var output: String
    public var images: [ExportedImage]
    public var blobs: Int
    public var bytes: Int64
}

/// Writes images as an OCI layout archive that also carries a docker
/// `manifest.json`, so kctr, ctr and docker all load it.
public struct ImageExporter: Sendable {
    public let session: Session
    public var progress: ProgressSink?

    public init(session: Session, progress: ProgressSink? = nil) {
        self.session = session
        self.progress = progress
    }

    /// A blob to write: small ones carried in memory, layers streamed.
    struct Blob: Sendable {
        var descriptor: OCIDescriptor
        var bytes: [UInt8]?
    }

    struct Selected: Sendable {
        var name: String
        var top: OCIDescriptor
        var platforms: [String]
        var skipped: [String]
        /// The node-platform manifest, for docker's manifest.json.
        var dockerEntry: (config: String, layers: [String])?
    }

    public func run(refs: [String], output: String, options: ExportOptions) async throws -> ExportReport {
        var blobs: [Blob] = []
        var seen: Set<String> = []
        func add(_ b: Blob) {
            if seen.insert(b.descriptor.digest).inserted { blobs.append(b) }
        }
        var selected: [Selected] = []
        for ref in refs {
            let record = try await find(ref)
            let s = try await select(record, options: options, add: add)
            selected.append(s)
        }
        var index = OCIIndex(schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [], annotations: nil)
        var docker: [ImportPlan.DockerManifest] = []
        for s in selected {
            var d = s.top
            var annotations = d.annotations ?? [:]
            annotations["io.containerd.image.name"] = s.name
            annotations["org.opencontainers.image.ref.name"] = ImageReference.parse(s.name)?.tag ?? s.name
            d.annotations = annotations
            index.manifests.append(d)
            if let entry = s.dockerEntry {
                docker.append(ImportPlan.DockerManifest(Config: entry.config, RepoTags: [s.name], Layers: entry.layers))
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let indexJSON = Array(try encoder.encode(index))
        // Codable, not JSONSerialization: its sortedKeys compares keys through CoreFoundation with a locale,
        // which loads ICU's collator (~2 MiB of resident code and data for three ASCII keys).
        let manifestJSON = Array(try encoder.encode(docker))

        let writer = ArchiveSink(output: output)
        let (count, bytes) = try await writer.write(blobs: blobs, trailer: [("index.json", indexJSON), ("manifest.json", manifestJSON)],
                                                    api: session.containerd, session: session, progress: progress)
        return ExportReport(output: output, images: selected.map {
            ExportedImage(name: $0.name, digest: $0.top.digest, platforms: $0.platforms, skippedPlatforms: $0.skipped)
        }, blobs: count, bytes: bytes)
    }

    private func find(_ ref: String) async throws -> ImageRecord {
        try await ImageCatalog(session: session).record(named: ref)
    }

    private func select(_ record: ImageRecord, options: ExportOptions, add: (Blob) -> Void) async throws -> Selected {
        let reader = BlobJSONReader(api: session.store)
        let top = OCIDescriptor(mediaType: record.target.mediaType, digest: record.target.digest, size: record.target.size)
        var result = Selected(name: record.name, top: top, platforms: [], skipped: [], dockerEntry: nil)
        do {
            if MediaType.isIndex(record.target.mediaType) {
                let bytes = try await reader.bytes(top)
                var index: OCIIndex = try reader.decode(bytes, top)
                var kept: [OCIDescriptor] = []
                for m in index.manifests {
                    let p = m.platform?.platform
                    guard options.platforms.accepts(p) else { continue }
                    let name = p?.description ?? m.digest
                    do {
                        try await manifest(m, platform: name, image: record.name, reader: reader, add: add, result: &result)
                        kept.append(m)
                        result.platforms.append(name)
                    } catch let e as MissingContent where options.skipMissing {
                        result.skipped.append("\(name) (\(e.digest) missing)")
                    } catch let e as MissingContent {
                        throw KctrError("cannot export \(record.name): platform \(name) needs \(e.digest), which is not in the content store",
                                        hint: "export another platform (--platform), pass --skip-missing to export what exists, or pull the image again")
                    }
                }
                guard !kept.isEmpty else {
                    throw KctrError("cannot export \(record.name): no platform of it matches \(describe(options.platforms)) with all its content present",
                                    hint: "choose a platform with --platform or --all-platforms; `kctr images ls -o json` lists its platforms")
                }
                if kept.count == index.manifests.count {
                    add(Blob(descriptor: top, bytes: bytes))
                } else {
                    index.manifests = kept
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                    let filtered = Array(try encoder.encode(index))
                    let d = OCIDescriptor(mediaType: top.mediaType, digest: Digest.sha256(filtered), size: Int64(filtered.count))
                    add(Blob(descriptor: d, bytes: filtered))
                    result.top = d
                }
            } else {
                do {
                    try await manifest(top, platform: "", image: record.name, reader: reader, add: add, result: &result)
                } catch let e as MissingContent {
                    throw KctrError("cannot export \(record.name): it needs \(e.digest), which is not in the content store",
                                    hint: "pull or import the image again")
                }
                add(Blob(descriptor: top, bytes: nil))
            }
        } catch let e as RPCError {
            throw session.explain(e, doing: "reading image \(record.name)")
        }
        return result
    }

    struct MissingContent: Error { var digest: String }

    private func manifest(_ d: OCIDescriptor, platform: String, image: String, reader: BlobJSONReader,
                          add: (Blob) -> Void, result: inout Selected) async throws {
        guard try await session.store.contentInfo(digest: d.digest) != nil else { throw MissingContent(digest: d.digest) }
        let bytes = try await reader.bytes(d)
        let manifest: OCIManifest = try reader.decode(bytes, d)
        guard try await session.store.contentInfo(digest: manifest.config.digest) != nil else {
            throw MissingContent(digest: manifest.config.digest)
        }
        let configBytes = try await reader.bytes(manifest.config)
        let config: OCIImageConfig = try reader.decode(configBytes, manifest.config)
        for layer in manifest.layers {
            guard try await session.store.contentInfo(digest: layer.digest) != nil else { throw MissingContent(digest: layer.digest) }
        }
        add(Blob(descriptor: manifest.config, bytes: configBytes))
        for layer in manifest.layers { add(Blob(descriptor: layer, bytes: nil)) }
        if d.digest != result.top.digest { add(Blob(descriptor: d, bytes: bytes)) }
        let p = config.os.map { Platform(os: $0, architecture: config.architecture ?? "", variant: config.variant ?? "") }
        if result.dockerEntry == nil, p.map({ $0.matches(.node) }) ?? true {
            result.dockerEntry = (try ImportPlan.blobPath(manifest.config.digest), try manifest.layers.map { try ImportPlan.blobPath($0.digest) })
        }
        if platform.isEmpty, let p { result.platforms = [p.description] }
    }

    private func describe(_ choice: ImportPlan.PlatformChoice) -> String {
        switch choice {
        case .node: return "the node's platform \(Platform.node)"
        case .all: return "any platform"
        case .some(let list): return list.map(\.description).joined(separator: ", ")
        }
    }
}

/// Writes the archive to a temp file beside the output (renamed on
/// success) or to standard output, streaming layers from the store.
struct ArchiveSink: Sendable {
    let output: String

    static let ociLayout = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)

    /// Writes `oci-layout`, the blobs, then the `trailer` files (index.json and manifest.json,
    /// last so that a reader knows every blob is there once it sees them).
    func write(blobs: [ImageExporter.Blob], trailer: [(String, [UInt8])], api: ContainerdAPI, session: Session,
               progress: ProgressSink?) async throws -> (Int, Int64) {
        try await onOwnThread(named: "kctr-export") { control in
            try self.writeSync(blobs: blobs, trailer: trailer, api: api, session: session, progress: progress, control: control)
        }
    }

    private func writeSync(blobs: [ImageExporter.Blob], trailer: [(String, [UInt8])], api: ContainerdAPI, session: Session,
                           progress: ProgressSink?, control: UploadControl) throws -> (Int, Int64) {
        let temp = output == "-" ? nil : try TempFile(beside: output)
        do {
            let writer = try ArchiveWriter(fileDescriptor: temp?.fd ?? 1)
            try writer.addFile("oci-layout", bytes: Self.ociLayout)
            try writer.addDirectory("blobs")
            try writer.addDirectory("blobs/sha256")
            var total: Int64 = 0
            progress?(.job(bytes: blobs.reduce(0) { $0 + $1.descriptor.size }, images: 0))
            let overall = TransferProgress(report: progress)
            for blob in blobs {
                try control.check()
                let path = try ImportPlan.blobPath(blob.descriptor.digest)
                if let bytes = blob.bytes {
                    try writer.addFile(path, bytes: bytes)
                    overall.advance(Int64(bytes.count), blob: Digest.short(blob.descriptor.digest))
                } else {
                    try stream(blob.descriptor, to: writer, path: path, api: api, session: session, overall: overall, control: control)
                }
                total += blob.descriptor.size
            }
            for (name, bytes) in trailer { try writer.addFile(name, bytes: bytes) }
            try writer.finish()
            try temp?.commit()
            return (blobs.count, total)
        } catch let e as ArchiveError {
            temp?.discard()
            throw KctrError("cannot write \(output): \(e.message)", hint: "check free space and permissions of the output's directory")
        } catch {
            temp?.discard()
            throw error
        }
    }

    private func stream(_ d: OCIDescriptor, to writer: ArchiveWriter, path: String, api: ContainerdAPI, session: Session,
                        overall: TransferProgress, control: UploadControl) throws {
        let reader: KctrRPC.ContentReader
        do {
            reader = try blocking(control) { try await api.contentReader(digest: d.digest) }
        } catch {
            throw session.explain(error, doing: "reading blob \(d.digest)")
        }
        var hasher = SHA256()
        try writer.addFile(path, size: d.size) { write in
            while true {
                let chunk: [UInt8]?
                do {
                    chunk = try blocking(control) { try await reader.next() }
                } catch let e as RPCError {
                    throw session.explain(e, doing: "reading blob \(d.digest)")
                }
                guard let chunk else { break }
                hasher.update(data: chunk)
                try chunk.withUnsafeBytes { try write($0) }
                overall.advance(Int64(chunk.count), blob: Digest.short(d.digest))
            }
        }
        let computed = Digest.string(hasher.finalize())
        guard computed == d.digest else {
            throw KctrError("blob \(d.digest) in the content store hashes to \(computed)",
                            hint: "the content store is corrupt: remove the image (kctr images rm) and import or pull it again")
        }
    }
}

/// A temp file created beside `target`, in the same directory (so the final rename stays on one
/// file system and never moves data elsewhere), renamed over `target` on commit.
///
/// Created with open(O_CREAT|O_EXCL|O_NOFOLLOW, 0600) under a random name: whatever sits at that
/// name already (a file, or a symlink planted to redirect the write) makes the open fail, and the
/// next random name is tried. Mode 0600 while written; once complete, just before the rename, the mode
/// a shell's `>` would give it (0666 less the umask: 0644 under 022, 0640 under 027).
final class TempFile: @unchecked Sendable {
    // @unchecked: used by the export thread alone.
    let fd: Int32
    let path: String
    let target: String
    /// The mode the output gets on commit.
    let mode: mode_t
    private var closed = false

    /// Random names tried before giving up (each clash needs something already at that name).
    static let attempts = 100

    /// `suffix` makes the random part of the name; tests pass one that returns planted names.
    init(beside target: String, mode: mode_t = Umask.fileMode(umask: Umask.current()),
         suffix: () -> String = TempFile.randomSuffix) throws {
        self.mode = mode
        let dir = (target as NSString).deletingLastPathComponent
        // NAME_MAX is 255 bytes: keep room for the prefix and suffix.
        let base = String(decoding: (target as NSString).lastPathComponent.utf8.prefix(200), as: UTF8.self)
        TempFile.sweep(dir: dir.isEmpty ? "." : dir, prefix: ".\(base).kctr-")
        var lastError: Int32 = EEXIST
        for _ in 0..<Self.attempts {
            let candidate = "\(dir.isEmpty ? "." : dir)/.\(base).kctr-\(suffix())"
            let fd = open(candidate, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                self.fd = fd
                self.path = candidate
                self.target = target
                return
            }
            lastError = errno
            guard lastError == EEXIST || lastError == ELOOP else { break }
        }
        let why = lastError == EEXIST || lastError == ELOOP
            ? "\(Self.attempts) names were taken (something keeps creating files or symlinks there)"
            : String(cString: strerror(lastError))
        throw KctrError("cannot create a temp file beside \(target): \(why)",
                        hint: "check that the directory exists and is writable, and who else writes to it")
    }

    /// `<pid namespace>-<pid>-<random>`: the owner tells a temp file of a killed export from a live one.
    static func randomSuffix() -> String {
        "\(StaleImports.pidNamespace)-\(getpid())-"
            + String((0..<12).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement() ?? "x" })
    }

    /// Removes temp files that earlier exports of the same OUT left when they were killed (SIGKILL gives
    /// no chance to clean up): only regular files of this user, named by a kctr process of this pid
    /// namespace that no longer exists. Symlinks and anything else are left alone.
    static func sweep(dir: String, prefix: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(prefix) && StaleImports.ownerIsGone(name.dropFirst(prefix.count)) {
            let path = "\(dir)/\(name)"
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid() else { continue }
            unlink(path)
        }
    }

    func commit() throws {
        guard fsync(fd) == 0 else { throw KctrError("cannot flush \(path): \(String(cString: strerror(errno)))", hint: "check free space") }
        guard fchmod(fd, mode) == 0 else { throw KctrError("cannot set the mode of \(path): \(String(cString: strerror(errno)))") }
        let rc = close(fd)
        closed = true
        guard rc == 0 else {
            let err = String(cString: strerror(errno))
            unlink(path)
            throw KctrError("cannot write \(path): \(err)", hint: "check free space")
        }
        guard rename(path, target) == 0 else {
            let err = String(cString: strerror(errno))
            unlink(path)
            throw KctrError("cannot rename \(path) to \(target): \(err)", hint: "check that \(target) is not a directory")
        }
    }

    func discard() {
        if !closed { close(fd); closed = true }
        unlink(path)
    }

    deinit { if !closed { close(fd); unlink(path) } }
}
