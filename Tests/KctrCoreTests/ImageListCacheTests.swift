import Foundation
import Synchronization
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// `images ls` keeps its reading while containerd's metadata is unchanged (ImageListCache, StoreStamp):
/// a kept reading must give exactly the rows a fresh one gives, and nothing may be kept that a later
/// write could leave stale.
final class ImageListCacheTests: ScratchDirectoryTestCase {
    static func digest(_ c: Character) -> String { "sha256:" + String(repeating: c, count: 64) }
    var cacheDir: String { dir + "/cache" }

    /// A stamp reader that answers what the test says, one answer per call (the last one once past the end).
    final class Stamps: StoreStampReading {
        let answers: Mutex<[StoreStamp]>
        init(_ answers: [StoreStamp]) { self.answers = Mutex(answers) }
        func stamp() throws(KctrError) -> StoreStamp {
            answers.withLock { a in a.count > 1 ? a.removeFirst() : a[0] }
        }
    }

    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    static let now = StoreStamp.now()
    /// Settled: written a minute ago.
    static func stamp(modified: Int64 = now - 60_000_000_000, pid: Int32 = 4242) -> StoreStamp {
        StoreStamp(pid: pid, started: 777, device: 2049, inode: 99, size: 4 << 20, modified: modified, changed: modified)
    }

    /// One image of the node's platform (a manifest, its config, one layer), its blobs in the fake daemon,
    /// under `names`.
    static func daemon(names: [String], unpacked: Bool = true) -> FakeDaemon {
        var d = FakeDaemon()
        let layerDiff = digest("1")
        let node = Platform.node
        let config = Array(#"{"architecture":"\#(node.architecture)","os":"\#(node.os)","rootfs":{"type":"layers","diff_ids":["\#(layerDiff)"]}}"#.utf8)
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(Digest.sha256(config))","size":\#(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\#(digest("2"))","size":1000}]}"#.utf8)
        d.blobs = [Digest.sha256(config): config, Digest.sha256(manifest): manifest]
        let target = Descriptor(mediaType: "application/vnd.oci.image.manifest.v1+json", digest: Digest.sha256(manifest), size: Int64(manifest.count))
        d.imageRecords["k8s.io"] = names.map {
            ImageRecord(name: $0, labels: ["io.cri-containerd.image": "managed", "odd\tkey\\-": "line\none\\"], target: target,
                        createdAt: 1_796_523_839.6733649)
        }
        d.criImages = [FakeCRI.image(Digest.sha256(config), tags: names.filter { !$0.hasPrefix("sha256:") })]
        if unpacked, let chain = Digest.chainID([layerDiff]) { d.snapshots = ["overlayfs/\(chain)"] }
        return d
    }

    private func list(_ d: FakeDaemon, _ stamps: any StoreStampReading, pattern: String? = nil, all: Bool = false, resolve: Bool = true,
                      log: Lines? = nil) async throws -> [ImageSummary] {
        var sink: (@Sendable (String) -> Void)?
        if let log { sink = { line in log.lines.withLock { $0.append(line) } } }
        let session = try d.session(cacheDirectory: cacheDir, storeStamp: stamps, log: sink)
        return try await ImageCatalog(session: session).list(includeDigestNames: all, pattern: pattern, resolve: resolve)
    }

    private func calls(_ d: FakeDaemon) -> Int { d.calls.all.count }

    func testKeptReadingGivesTheFreshRowsWithoutACall() async throws {
        let d = Self.daemon(names: ["docker.io/library/busybox:1", "docker.io/library/busybox:2", "sha256:" + String(repeating: "c", count: 64)])
        let stamps = Stamps([Self.stamp()])
        let fresh = try await list(d, stamps)
        XCTAssertEqual(fresh.map(\.name), ["docker.io/library/busybox:1", "docker.io/library/busybox:2"])
        XCTAssertEqual(fresh.first?.unpacked, true)
        XCTAssertEqual(fresh.first?.cri?.known, true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: cacheDir + "/image-list.k8s.io"))
        let before = calls(d)
        let log = Lines()
        let kept = try await list(d, stamps, log: log)
        XCTAssertEqual(kept, fresh)
        XCTAssertEqual(calls(d), before, "a kept reading makes no call: \(d.calls.all.suffix(calls(d) - before))")
        XCTAssertTrue(log.all.contains { $0.contains("image list cache: containerd (pid 4242) has not written its metadata since") }, "\(log.all)")
        // What a kept reading serves besides the plain listing matches the fresh answers too.
        for (pattern, all, resolve) in [("busybox:2", false, true), (nil, true, true), (nil, false, false), (nil, true, false)] as [(String?, Bool, Bool)] {
            let fromKept = try await list(d, stamps, pattern: pattern, all: all, resolve: resolve)
            let fromDaemon = try await list(d, NoStoreStamp(reason: "fresh"), pattern: pattern, all: all, resolve: resolve)
            XCTAssertEqual(fromKept, fromDaemon, "pattern \(pattern ?? "-") all \(all) resolve \(resolve)")
        }
    }

    func testAnotherStampReadsTheDaemonAgain() async throws {
        let first = Self.daemon(names: ["docker.io/library/busybox:1"])
        _ = try await list(first, Stamps([Self.stamp()]))
        // A tag was added: the file was written, so the stamp moved on.
        let second = Self.daemon(names: ["docker.io/library/busybox:1", "docker.io/library/busybox:new"])
        let written = try await list(second, Stamps([Self.stamp(modified: Self.now - 30_000_000_000)]))
        XCTAssertEqual(written.map(\.name), ["docker.io/library/busybox:1", "docker.io/library/busybox:new"])
        XCTAssertEqual(second.calls.count("containerd.services.images.v1.Images/List [k8s.io]"), 1)
        // A restarted daemon (another PID) with the same file: read again.
        let restarted = Self.daemon(names: ["docker.io/library/busybox:1"])
        _ = try await list(restarted, Stamps([Self.stamp(modified: Self.now - 30_000_000_000, pid: 5151)]))
        XCTAssertEqual(restarted.calls.count("containerd.services.images.v1.Images/List [k8s.io]"), 1)
    }

    func testNothingIsKeptThatALaterWriteCouldLeaveStale() async throws {
        let names = ["docker.io/library/busybox:1"]
        // Written half a second ago: a later write could share the kernel's time stamp, or CRI not have caught up.
        let recent = Self.daemon(names: names)
        _ = try await list(recent, Stamps([Self.stamp(modified: StoreStamp.now() - 500_000_000)]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir + "/image-list.k8s.io"))
        // Written while the listing read the daemon.
        let during = Self.daemon(names: names)
        _ = try await list(during, Stamps([Self.stamp(), Self.stamp(modified: Self.now - 1)]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir + "/image-list.k8s.io"))
        // An image whose content is missing (its problem could be a passing failure): read every time.
        var broken = Self.daemon(names: names)
        broken.blobs = [:]
        let rows = try await list(broken, Stamps([Self.stamp()]))
        XCTAssertEqual(rows.first?.problem?.hasPrefix("content missing"), true, "\(rows)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir + "/image-list.k8s.io"))
        // A filtered listing resolved only some images.
        _ = try await list(Self.daemon(names: names), Stamps([Self.stamp()]), pattern: "busybox:1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir + "/image-list.k8s.io"))
        // CRI not serving: its columns would stay empty in every later listing.
        var noCRI = Self.daemon(names: names)
        noCRI.failures["runtime.v1.ImageService/ListImages"] = .unimplemented
        _ = try await list(noCRI, Stamps([Self.stamp()]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cacheDir + "/image-list.k8s.io"))
    }

    func testFileRoundTripsHostileStrings() throws {
        let record = ImageRecord(name: "a\tb\nc\\-", labels: ["\\-": "", "k\r": "\\t"],
                                 target: Descriptor(mediaType: "\\-", digest: Self.digest("a"), size: 12), createdAt: 1.5)
        let reading = ImageListCache.Reading(
            records: [record, ImageRecord(name: "", labels: [:], target: Descriptor(mediaType: "", digest: Self.digest("a"), size: 0))],
            cri: [CRIImage(id: "x\ty", repoTags: ["t\\1"], repoDigests: ["d\n"], size: 3, pinned: true)], snapshotter: nil,
            resolved: [Self.digest("a"): ImageCatalog.Resolved(size: 9, platforms: [Platform(os: "linux", architecture: "arm64", variant: "v8")],
                                                               manifestDigest: Self.digest("b"), configDigest: nil, chainID: Self.digest("d"),
                                                               unpacked: true)])
        let bytes = ImageListCache.encode(reading, header: "h")
        XCTAssertEqual(try ImageListCache.decode(bytes, header: "h").get(), reading)
        XCTAssertEqual(bytes.split(separator: 0x0A).count, 10, "header, settings, two targets, two label sets, two records, a CRI image, a resolved target")
    }

    func testMalformedFileIsIgnoredWhole() throws {
        let a = Self.digest("a")
        let good = "h\nN\toverlayfs\t1\nD\tm\t\(a)\t1\nL\tk\tv\nI\tn\t0\t0\t\\-\nT\t\(a)\t1\tlinux/amd64\t\\-\t\\-\t\\-\t0\n"
        let reading = try ImageListCache.decode(Array(good.utf8), header: "h").get()
        XCTAssertEqual(reading.records, [ImageRecord(name: "n", labels: ["k": "v"], target: Descriptor(mediaType: "m", digest: a, size: 1))])
        let bad: [(String, String)] = [
            ("other header", good.replacingOccurrences(of: "h\n", with: "h2\n")),
            ("empty", ""),
            ("bad escape", good.replacingOccurrences(of: "I\tn\t", with: "I\tn\\x\t")),
            ("bad digest", good.replacingOccurrences(of: "D\tm\t\(a)", with: "D\tm\tsha256:zz")),
            ("negative size", good.replacingOccurrences(of: "\(a)\t1\n", with: "\(a)\t-1\n")),
            ("target not described", good.replacingOccurrences(of: "T\t\(a)", with: "T\t\(Self.digest("b"))")),
            ("target index out of range", good.replacingOccurrences(of: "I\tn\t0", with: "I\tn\t1")),
            ("label set index out of range", good.replacingOccurrences(of: "I\tn\t0\t0", with: "I\tn\t0\t7")),
            ("created not a double's bits", good.replacingOccurrences(of: "\t0\t\\-\n", with: "\t0\t1.5\n")),
            ("unknown line", good + "X\t1\n"),
            ("no settings", good.replacingOccurrences(of: "N\toverlayfs\t1\n", with: "")),
            ("bad platform", good.replacingOccurrences(of: "linux/amd64", with: "Linux/../x")),
            ("label without value", good.replacingOccurrences(of: "L\tk\tv", with: "L\tk")),
            ("CRI tag count past the end", good + "C\tid\t1\t0\t3\tonly\n"),
        ]
        for (what, text) in bad {
            XCTAssertThrowsError(try ImageListCache.decode(Array(text.utf8), header: "h").get(), what)
        }
    }

    func testNamespaceMustBeAPlainFileName() {
        XCTAssertNotNil(ImageListCache(directory: cacheDir, namespace: "k8s.io", address: "/run/containerd/containerd.sock"))
        for ns in ["", "../x", "a/b", ".hidden", "x y", String(repeating: "n", count: 77)] {
            XCTAssertNil(ImageListCache(directory: cacheDir, namespace: ns, address: "/s"), ns)
        }
    }
}

/// ProcStoreStamp against this test process: it listens on a unix socket and holds a file named like
/// containerd's metadata database open, as containerd does.
final class ProcStoreStampTests: ScratchDirectoryTestCase {
    func testStampNamesTheListenerAndFollowsItsMetadataFile() throws {
        let socketPath = dir + "/d.sock"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(listener, 8), 0)

        let reader = ProcStoreStamp(socketPath: socketPath)
        XCTAssertThrowsError(try reader.stamp(), "no metadata file open yet") { error in
            XCTAssertEqual((error as? KctrError)?.message, "containerd (pid \(getpid())) has no io.containerd.metadata.v1.bolt/meta.db open")
        }
        try FileManager.default.createDirectory(atPath: dir + "/io.containerd.metadata.v1.bolt", withIntermediateDirectories: true)
        let db = open(dir + "/io.containerd.metadata.v1.bolt/meta.db", O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(db, 0)
        defer { close(db) }
        let first = try reader.stamp()
        XCTAssertEqual(first.pid, getpid())
        XCTAssertEqual(try reader.stamp(), first, "nothing written: the same stamp")
        // A write a tick later (the kernel stamps times in ticks of the coarse clock).
        usleep(20_000)
        XCTAssertEqual(pwrite(db, [UInt8(1)], 1, 4096), 1)
        let second = try reader.stamp()
        XCTAssertNotEqual(second, first)
        XCTAssertEqual(second.size, 4097)
        XCTAssertFalse(second.settled(at: StoreStamp.now()), "just written")
        XCTAssertTrue(second.settled(at: StoreStamp.now() + StoreStamp.settleNanoseconds))
    }

    func testNoListenerNoStamp() {
        XCTAssertThrowsError(try ProcStoreStamp(socketPath: dir + "/none.sock").stamp()) { error in
            XCTAssertEqual((error as? KctrError)?.message.hasPrefix("cannot connect to \(dir)/none.sock: "), true, "\(error)")
        }
        XCTAssertThrowsError(try ProcStoreStamp(socketPath: "/" + String(repeating: "s", count: 200)).stamp())
    }
}

/// The `cache` fuzz target's seed is a listing the decoder takes (else the fuzzer starts from nothing).
final class CacheSeedTests: XCTestCase {
    func testSeedListingDecodes() throws {
        let seed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("KctrFuzzTests/Corpus/cache/image-list")
        let bytes = Array(try Data(contentsOf: seed))
        let header = String(decoding: bytes.split(separator: 0x0A).first ?? [], as: UTF8.self)
        let reading = try ImageListCache.decode(bytes, header: header).get()
        XCTAssertEqual(reading.records.map(\.name), ["docker.io/library/busybox:1", "docker.io/library/busybox:2"])
        XCTAssertEqual(reading.records.first?.labels["odd\tkey"], "line\none\\")
        XCTAssertEqual(reading.cri?.first?.repoDigests.count, 1)
        CacheFileFuzzing.parse(bytes)
    }
}
