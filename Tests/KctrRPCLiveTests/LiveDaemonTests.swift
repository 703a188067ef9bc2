import Foundation
@testable import KctrRPC
import XCTest

/// The RPC layer in-process against a private containerd (scripts/lab/containerd-lab):
/// unary, server-streaming and bidi calls, many calls from many tasks on one
/// channel, cancellation and deadlines. This is the code `make sanitize` runs
/// under AddressSanitizer and ThreadSanitizer, so it must drive the poller
/// thread, CallHandle batches and their completion from several threads.
final class LiveDaemonTests: XCTestCase {
    static let lab = LiveLab()

    override class func tearDown() { lab.stop() }

    static func client(_ lab: LiveLab.Running, timeout: Int64 = 30_000, namespace: String = "rpc-live") throws -> (RPCChannel, ContainerdAPI) {
        let channel = RPCChannel(target: "unix://\(lab.socket)")
        let rpc = RPCClient(channel: channel, options: CallOptions(
            timeoutMilliseconds: timeout, metadata: [("containerd-namespace", namespace)]))
        return (channel, ContainerdAPI(rpc))
    }

    /// 200 unary calls from 50 tasks at once on one channel: every one answers, and alike.
    func testManyUnaryCallsFromManyTasksShareOneChannel() async throws {
        let (_, api) = try Self.client(try Self.lab.get())
        let expected = try await api.version()
        XCTAssertFalse(expected.version.isEmpty)
        let versions: [String] = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<50 {
                group.addTask {
                    var seen: [String] = []
                    for _ in 0..<4 { seen.append(try await api.version().version) }
                    return seen
                }
            }
            var all: [String] = []
            for try await v in group { all += v }
            return all
        }
        XCTAssertEqual(versions.count, 200)
        XCTAssertEqual(Set(versions), [expected.version])
    }

    /// Channels created and dropped while calls run on others: the poller
    /// thread of each is joined and its queue drained (ASan/LSan check the frees).
    func testChannelsComeAndGoWhileOthersCall() async throws {
        let lab = try Self.lab.get()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<5 {
                        let (_, api) = try Self.client(lab)
                        _ = try await api.version()
                        _ = try await api.namespaces()
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Bidi (Content.Write) then server streaming (Content.Read) of several
    /// blobs at once, each several chunks; the same blob from four writers at
    /// once ends as one blob, the others told it already exists.
    func testConcurrentWritesAndReadsOfBlobs() async throws {
        let (_, base) = try Self.client(try Self.lab.get())
        let lease = "rpc-live-\(UUID().uuidString.prefix(8))"
        try await base.createLease(id: lease, labels: [:])
        let api = base.leased(lease)
        var jobs: [([UInt8], String)] = []
        for i in 0..<6 {
            let size: Int = 2 * 1_048_576 + 1234 * i
            let bytes = Self.pattern(seed: UInt8(i + 1), count: size)
            jobs.append((bytes, Self.digest(bytes)))
        }
        let shared = Self.pattern(seed: 99, count: 3 * 1_048_576)
        let sharedDigest = Self.digest(shared)
        for _ in 0..<4 { jobs.append((shared, sharedDigest)) }

        let outcomes: [String] = try await withThrowingTaskGroup(of: String.self) { group in
            for (index, job) in jobs.enumerated() {
                group.addTask { try await Self.write(job.0, digest: job.1, ref: "rpc-live-\(index)-\(lease)", api: api) }
            }
            var all: [String] = []
            for try await o in group { all.append(o) }
            return all
        }
        XCTAssertEqual(outcomes.filter { $0 == "written" }.count, 7, "\(outcomes)")  // six blobs, the shared one once
        XCTAssertEqual(outcomes.filter { $0 == "exists" }.count, 3, "\(outcomes)")

        // Read each back, two ways, all at once.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (bytes, digest) in jobs.prefix(7) {
                group.addTask {
                    var streamed: [UInt8] = []
                    try await api.readContent(digest: digest) { streamed += $0 }
                    XCTAssertEqual(streamed.count, bytes.count)
                    XCTAssertTrue(streamed == bytes, "readContent \(digest)")
                    let reader = try await api.contentReader(digest: digest)
                    var pulled: [UInt8] = []
                    while let chunk = try await reader.next() { pulled += chunk }
                    XCTAssertTrue(pulled == bytes, "contentReader \(digest)")
                }
            }
            try await group.waitForAll()
        }
        let ingests = try await base.activeIngests().filter { $0.hasPrefix("rpc-live-") }
        XCTAssertEqual(ingests, [])
        try await base.deleteLease(id: lease, sync: true)
    }

    static func write(_ bytes: [UInt8], digest: String, ref: String, api: ContainerdAPI) async throws -> String {
        let outcome: RPCError?
        do {
            try await writeAll(bytes, digest: digest, ref: ref, api: api)
            outcome = nil
        } catch let e as RPCError {
            outcome = e
        }
        guard let outcome else { return "written" }
        if outcome.code == .alreadyExists { return "exists" }
        throw outcome
    }

    static func writeAll(_ bytes: [UInt8], digest: String, ref: String, api: ContainerdAPI) async throws {
        let writer = try await api.contentWriter(ref: ref, expected: digest, total: Int64(bytes.count))
        var at = 0
        while at < bytes.count {
            let end = min(at + 1_048_576, bytes.count)
            try await writer.write(Array(bytes[at..<end]))
            at = end
        }
        let committed = try await writer.commit(labels: [:])
        XCTAssertEqual(committed, digest)
    }

    /// A deadline ends a stream that would never end by itself (Events.Subscribe).
    func testDeadlineEndsAServerStream() async throws {
        let (_, api) = try Self.client(try Self.lab.get(), timeout: 300)
        let started = Date()
        do {
            try await api.rpc.stream(Containerd.EventService.EventsService.subscribe, .init()) { _ in }
            XCTFail("Subscribe returned without an error")
        } catch let e as RPCError {
            XCTAssertEqual(e.code, .deadlineExceeded, "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 20)
    }

    /// Cancelling tasks cancels their calls (streams and unary), from another
    /// thread, while other calls on the same channel carry on.
    func testCancellingTasksCancelsTheirCallsOnly() async throws {
        let (_, api) = try Self.client(try Self.lab.get(), timeout: 0)
        var subscribers: [Task<RPCError.Code?, Never>] = []
        for _ in 0..<6 {
            subscribers.append(Task {
                do {
                    try await api.subscribe(filters: []) { _ in }
                    return nil
                } catch let e as RPCError {
                    return e.code
                } catch {
                    return .unknown
                }
            })
        }
        // Calls keep working while the subscribers wait.
        for _ in 0..<10 { _ = try await api.version() }
        try await Task.sleep(nanoseconds: 200_000_000)
        for s in subscribers { s.cancel() }
        for s in subscribers {
            let code = await s.value
            XCTAssertEqual(code, .cancelled)
        }
        // A task cancelled before it starts its call fails at once, cancelled.
        let early = Task { () -> RPCError.Code? in
            withUnsafeCurrentTask { $0?.cancel() }
            do { _ = try await api.version(); return nil } catch let e as RPCError { return e.code } catch { return .unknown }
        }
        let earlyCode = await early.value
        XCTAssertEqual(earlyCode, .cancelled)
        _ = try await api.version()
    }

    /// A stream that fails while one task receives and another asks for the
    /// status: both see the same status, and the status batch starts once.
    func testBothDirectionsOfAFailedStreamSeeOneStatus() async throws {
        let (channel, _) = try Self.client(try Self.lab.get())
        for _ in 0..<20 {
            let rpc = RPCClient(channel: channel, options: CallOptions(timeoutMilliseconds: 10_000,
                                                                        metadata: [("containerd-namespace", "rpc-live")]))
            let stream = try await rpc.openStream(Containerd.Content.ContentService.write.method)
            // A WRITE with no ref: containerd refuses it (InvalidArgument) and ends the stream.
            try? await stream.send(Containerd.Content.WriteContentRequest(action: .write, offset: 0, data: [1, 2, 3]).proto)
            async let received = Self.receiveCode(stream)
            async let status = Self.statusCode(stream)
            let (r, s) = await (received, status)
            XCTAssertEqual(r, .invalidArgument)
            XCTAssertEqual(s, .invalidArgument)
        }
    }

    /// A failed unary call carries the daemon's status and message.
    func testUnaryErrorCarriesTheDaemonStatus() async throws {
        let (_, api) = try Self.client(try Self.lab.get())
        let missing = "sha256:" + String(repeating: "0", count: 64)
        do {
            _ = try await api.rpc.call(Containerd.Content.ContentService.info, .init(digest: missing))
            XCTFail("Info of a missing blob succeeded")
        } catch {
            XCTAssertEqual(error.code, .notFound, "\(error)")
            XCTAssertTrue(error.message.contains(missing), error.message)
            XCTAssertEqual(error.method, "/containerd.services.content.v1.Content/Info")
        }
    }

    // MARK: helpers

    static func receiveCode(_ stream: RPCStream) async -> RPCError.Code? {
        do {
            _ = try await stream.receive()
            return nil
        } catch {
            return error.code
        }
    }

    static func statusCode(_ stream: RPCStream) async -> RPCError.Code? {
        do {
            return try await stream.finalStatus()?.code
        } catch {
            return .callError
        }
    }

    static func pattern(seed: UInt8, count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var x: UInt32 = UInt32(seed) &* 2_654_435_761
        for i in 0..<count {
            x ^= x << 13
            x ^= x >> 17
            x ^= x << 5
            out[i] = UInt8(truncatingIfNeeded: x)
        }
        return out
    }

    /// sha256 with sha256sum (independent of kctr).
    static func digest(_ bytes: [UInt8]) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-rpc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("blob")
        _ = FileManager.default.createFile(atPath: file.path, contents: Data(bytes))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        p.arguments = [file.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        try? p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return "sha256:" + (out.split(separator: " ").first.map(String.init) ?? "?")
    }
}

/// One private containerd for the class, started on first use. Which containerd: `KCTR_CONTAINERD_DIR`,
/// read by the lab script from the environment this process passes on (unset: Debian's on PATH).
final class LiveLab: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var base: String?
    private var failure: String?

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/lab/containerd-lab").path

    func get() throws -> LiveLab.Running {
        lock.lock()
        defer { lock.unlock() }
        if let failure { throw LabError(description: failure) }
        if let base { return Running(socket: base + "/containerd.sock") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-rpclab-\(UUID().uuidString.prefix(8))").path
        let (status, err) = Self.run([Self.script, "up", dir])
        guard status == 0 else {
            failure = "cannot start a private containerd with \(Self.script) (\(status)): \(err)"
            throw LabError(description: failure ?? "")
        }
        base = dir
        return Running(socket: dir + "/containerd.sock")
    }

    func stop() {
        lock.lock()
        defer { lock.unlock() }
        if let base { _ = Self.run([Self.script, "down", base]) }
        base = nil
    }

    struct Running { let socket: String }
    struct LabError: Error, CustomStringConvertible { let description: String }

    static func run(_ argv: [String]) -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-rpclab-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errFile) }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try? FileHandle(forWritingTo: errFile)
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch { return (-1, "\(error)") }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: errFile, encoding: .utf8)) ?? "")
    }
}
