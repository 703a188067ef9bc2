import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC
#if canImport(Glibc)
import Glibc
#endif

/// The daemon-facing checks of `kctr verify-runtime`, fed facts built by hand
/// (no daemon). Groups that only need "a session exists" get a Session on a
/// socket nobody listens on: the checks under test make no RPC, and the one
/// that does (daemon.cri-serving) fails as it would against a dead daemon.
final class DaemonChecksTests: XCTestCase {
    private var scratch: [String] = []

    override func tearDown() {
        for dir in scratch { try? FileManager.default.removeItem(atPath: dir) }
        scratch = []
        super.tearDown()
    }

    // MARK: - helpers

    /// A fresh temporary directory, removed in tearDown.
    private func tempDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("kctr-daemonchecks-\(UUID().uuidString.prefix(8))").resolvingSymlinksInPath().path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        scratch.append(dir)
        return dir
    }

    /// An executable shell script at `path`.
    private func script(_ path: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
    }

    /// A unix socket bound in a fresh directory, with no listener (connect is refused).
    private func boundSocket() throws -> String {
        let path = try tempDir() + "/containerd.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        XCTAssertLessThan(bytes.count, MemoryLayout.size(ofValue: addr.sun_path))
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            for (i, b) in bytes.enumerated() { buf[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(rc, 0, "bind \(path): errno \(errno)")
        return path
    }

    /// A Session on a unix socket that exists but has no listener (connect is refused).
    private func deadSession() throws -> Session {
        let path = try boundSocket()
        let config = SessionConfig(endpoint: Endpoint(path: path, source: "--address"), namespace: "k8s.io",
                                   timeoutMilliseconds: 2_000, maxReceiveBytes: 16 << 20, debug: false)
        return try Session(config: config, log: { _ in })
    }

    private func version(_ v: String) throws -> DaemonVersion {
        try JSONDecoder().decode(DaemonVersion.self, from: Data(#"{"version":"\#(v)","revision":"abc123"}"#.utf8))
    }

    private func plugin(_ type: String, _ id: String, initError: String? = nil) throws -> PluginStatus {
        var object: [String: Any] = ["type": type, "id": id, "requires": [], "platforms": [], "exports": [:], "capabilities": []]
        if let initError { object["initError"] = initError }
        return PluginStatus(try JSONDecoder().decode(PluginRecord.self, from: JSONSerialization.data(withJSONObject: object)))
    }

    private func criImage(id: String = "sha256:pauseid", tags: [String] = ["registry.k8s.io/pause:3.9"],
                          digests: [String] = ["registry.k8s.io/pause@sha256:abcd"], pinned: Bool) throws -> CRIImage {
        let object: [String: Any] = ["id": id, "repoTags": tags, "repoDigests": digests, "size": 321_538, "pinned": pinned]
        return try JSONDecoder().decode(CRIImage.self, from: JSONSerialization.data(withJSONObject: object))
    }

    private func running(_ json: String) -> RuntimeConfigView {
        RuntimeConfigView(configJSON: JSONValue.parse(json))
    }

    /// CRI config with one runtime per (name, type, BinaryName).
    private func runtimesConfig(default def: String, _ runtimes: [(String, String, String?)]) -> RuntimeConfigView {
        var table: [String: JSONValue] = [:]
        for (name, type, binary) in runtimes {
            var options: [String: JSONValue] = ["SystemdCgroup": .bool(false)]
            if let binary { options["BinaryName"] = .string(binary) }
            table[name] = .object(["runtimeType": .string(type), "options": .object(options)])
        }
        return RuntimeConfigView(configJSON: .object([
            "sandboxImage": .string("registry.k8s.io/pause:3.9"),
            "containerd": .object(["snapshotter": .string("overlayfs"), "defaultRuntimeName": .string(def),
                                   "runtimes": .object(table)]),
        ]))
    }

    private func context(root: String = "", config: String = "/etc/containerd/config.toml") -> VerifyContext {
        var paths = VerifyPaths()
        paths.root = root
        paths.containerdConfig = config
        return VerifyContext(paths: paths, endpoint: Endpoint(path: "/run/containerd/containerd.sock", source: "default"))
    }

    private func byID(_ results: [CheckResult], group: String, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        for r in results {
            XCTAssertEqual(r.group, group, r.id, file: file, line: line)
            XCTAssertFalse(r.evidence.isEmpty, "\(r.id) has no evidence", file: file, line: line)
            if r.status == .warn || r.status == .fail {
                XCTAssertNotNil(r.fix, "\(r.id) has no fix", file: file, line: line)
            } else {
                XCTAssertNil(r.fix, "\(r.id) is \(r.status) but has a fix", file: file, line: line)
            }
        }
        return Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0) })
    }

    private func assertFix(_ r: CheckResult?, _ needles: String..., file: StaticString = #filePath, line: UInt = #line) {
        guard let r else { return XCTFail("no result", file: file, line: line) }
        let fix = r.fix ?? ""
        for n in needles { XCTAssertTrue(fix.contains(n), "\(r.id) fix lacks \"\(n)\": \(fix)", file: file, line: line) }
    }

    // MARK: - daemon.version

    func testDaemonVersionSupportedPasses() async throws {
        var ctx = context()
        ctx.session = try deadSession()
        ctx.endpoint = ctx.session!.config.endpoint
        ctx.version = try version("1.7.20")
        let c = byID(await DaemonChecks.daemon(ctx), group: "daemon")
        XCTAssertEqual(c.keys.sorted(), ["daemon.cri-plugin", "daemon.cri-serving", "daemon.socket", "daemon.version"])
        XCTAssertEqual(c["daemon.socket"]?.status, .pass)
        XCTAssertEqual(c["daemon.version"]?.status, .pass)
        XCTAssertEqual(c["daemon.version"]?.found, "containerd 1.7.20")
        XCTAssertTrue(c["daemon.version"]!.evidence.contains("revision abc123"), c["daemon.version"]!.evidence)
        var v2 = ctx
        v2.version = try version("v2.0.0")
        let v2Results = await DaemonChecks.daemon(v2)
        XCTAssertEqual(v2Results.first { $0.id == "daemon.version" }?.status, .pass)
        // No plugin list: daemon.cri-plugin cannot tell.
        XCTAssertEqual(c["daemon.cri-plugin"]?.status, .skip)
        // Nothing listens on the socket: CRI does not answer.
        XCTAssertEqual(c["daemon.cri-serving"]?.status, .fail, c["daemon.cri-serving"]?.found ?? "")
    }

    func testDaemonVersionOlderThan16Warns() async throws {
        var ctx = context()
        ctx.session = try deadSession()
        ctx.version = try version("1.5.13")
        let c = byID(await DaemonChecks.daemon(ctx), group: "daemon")
        let v = try XCTUnwrap(c["daemon.version"])
        XCTAssertEqual(v.status, .warn)
        XCTAssertTrue(v.found.contains("1.5.13") && v.found.contains("older than 1.6"), v.found)
        assertFix(v, "upgrade containerd", "apt-get install containerd")
    }

    func testDaemonVersionUnparsableWarns() async throws {
        var ctx = context()
        ctx.session = try deadSession()
        ctx.version = try version("devel")
        let results = await DaemonChecks.daemon(ctx)
        let v = try XCTUnwrap(byID(results, group: "daemon")["daemon.version"])
        XCTAssertEqual(v.status, .warn)
        XCTAssertTrue(v.found.contains("cannot parse the version \"devel\""), v.found)
        assertFix(v, "socket is containerd's")
    }

    func testVersionParts() {
        XCTAssertTrue(DaemonChecks.versionParts("1.6.20~ds1")! == (1, 6))
        XCTAssertTrue(DaemonChecks.versionParts("v2.0.0")! == (2, 0))
        XCTAssertNil(DaemonChecks.versionParts("devel"))
        XCTAssertNil(DaemonChecks.versionParts("1"))
    }

    // MARK: - daemon.cri-plugin (unit counterpart of the criDisabled lab)

    func testCRIPluginLoadedFailedOrMissing() throws {
        var ctx = context()
        ctx.plugins = [try plugin("io.containerd.grpc.v1", "cri")]
        XCTAssertEqual(DaemonChecks.criPlugin(ctx).status, .pass)

        ctx.plugins = [try plugin("io.containerd.grpc.v1", "cri", initError: "invalid plugin config: sandbox_image is empty")]
        let broken = DaemonChecks.criPlugin(ctx)
        XCTAssertEqual(broken.status, .fail)
        XCTAssertTrue(broken.found.contains("sandbox_image is empty"), broken.found)
        assertFix(broken, "plugins.\"io.containerd.grpc.v1.cri\"", "systemctl restart containerd")

        ctx.plugins = [try plugin("io.containerd.snapshotter.v1", "overlayfs")]
        ctx.containerdConfig = .object(["disabled_plugins": .array([.string("cri")])])
        let disabled = DaemonChecks.criPlugin(ctx)
        XCTAssertEqual(disabled.status, .fail)
        XCTAssertTrue(disabled.evidence.contains("disabled_plugins = [\"cri\"]"), disabled.evidence)
        assertFix(disabled, "disabled_plugins", "/etc/containerd/config.toml")
    }

    // MARK: - cri.runtime-ready / cri.network-ready

    private func criStatus(runtimeReady: Bool?, networkReady: Bool = true) -> CRIStatus {
        var conditions: [CRICondition] = []
        if let runtimeReady {
            conditions.append(CRICondition(type: "RuntimeReady", status: runtimeReady,
                                           reason: runtimeReady ? "" : "RuntimeNotReady",
                                           message: runtimeReady ? "" : "failed to create shim task: runc not found"))
        }
        conditions.append(CRICondition(type: "NetworkReady", status: networkReady,
                                       reason: networkReady ? "" : "NetworkPluginNotReady",
                                       message: networkReady ? "" : "cni plugin not initialized"))
        return CRIStatus(conditions: conditions, info: [:])
    }

    /// A context whose CNI config is the daemon-cni fixture and bin dir `binDir`.
    private func criContext(_ status: CRIStatus, binDir: String) throws -> VerifyContext {
        var ctx = context()
        let confDir = try ConfigChecksTests.fixtureDir("daemon-cni") + "/net.d"
        ctx.criStatus = status
        ctx.running = RuntimeConfigView(configJSON: .object(["cni": .object(["confDir": .string(confDir), "binDir": .string(binDir)])]))
        return ctx
    }

    /// A bin dir with the plugins the daemon-cni conflist names.
    private func cniBinDir(_ plugins: [String] = ["bridge", "host-local", "portmap"]) throws -> String {
        let dir = try tempDir() + "/cni-bin"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for p in plugins { try script(dir + "/" + p, "exit 0") }
        return dir
    }

    func testRuntimeAndNetworkReadyPass() async throws {
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: true), binDir: try cniBinDir())), group: "cri")
        XCTAssertEqual(c["cri.runtime-ready"]?.status, .pass)
        XCTAssertEqual(c["cri.network-ready"]?.status, .pass)
        XCTAssertEqual(c["cri.cni-config"]?.status, .pass, c["cri.cni-config"]?.found ?? "")
        XCTAssertTrue(c["cri.cni-config"]!.found.contains("10-bridge.conflist (network kctr-test)"), c["cri.cni-config"]!.found)
    }

    func testRuntimeNotReadyFails() async throws {
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: false), binDir: try cniBinDir())), group: "cri")
        let r = try XCTUnwrap(c["cri.runtime-ready"])
        XCTAssertEqual(r.status, .fail)
        XCTAssertTrue(r.found.contains("RuntimeReady is false (RuntimeNotReady: failed to create shim task: runc not found)"), r.found)
        XCTAssertEqual(r.evidence, "runtime.v1.RuntimeService/Status: conditions[type=RuntimeReady]")
        assertFix(r, "journalctl -u containerd", "restart containerd")
        XCTAssertEqual(c["cri.network-ready"]?.status, .pass)
    }

    func testMissingRuntimeReadyConditionWarns() async throws {
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: nil), binDir: try cniBinDir())), group: "cri")
        XCTAssertEqual(c["cri.runtime-ready"]?.status, .warn)
        XCTAssertEqual(c["cri.runtime-ready"]?.found, "the runtime reports no RuntimeReady condition")
        assertFix(c["cri.runtime-ready"], "kctr info")
    }

    func testNetworkNotReadyFailsNamingTheCNIDirs() async throws {
        let bin = try cniBinDir()
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: true, networkReady: false), binDir: bin)), group: "cri")
        XCTAssertEqual(c["cri.network-ready"]?.status, .fail)
        XCTAssertTrue(c["cri.network-ready"]!.found.contains("cni plugin not initialized"), c["cri.network-ready"]!.found)
        assertFix(c["cri.network-ready"], "CNI network add-on", "/net.d", bin)
    }

    // MARK: - cri.cni-binaries

    func testCNIBinariesAllPresentPass() async throws {
        let bin = try cniBinDir()
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: true), binDir: bin)), group: "cri")
        let b = try XCTUnwrap(c["cri.cni-binaries"])
        XCTAssertEqual(b.status, .pass, b.found)
        XCTAssertTrue(b.found.hasSuffix(": bridge, host-local, portmap"), b.found)
        XCTAssertEqual(b.evidence, "runtime.v1.RuntimeService/Status: config.cni.binDir = \(bin)")
    }

    func testCNIBinariesFoundAcrossSeveralBinDirs() async throws {
        let a = try cniBinDir(["bridge"]), b = try cniBinDir(["host-local", "portmap"])
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: true), binDir: "\(a), \(b)")), group: "cri")
        XCTAssertEqual(c["cri.cni-binaries"]?.status, .pass, c["cri.cni-binaries"]?.found ?? "")
    }

    func testCNIBinaryMissingFails() async throws {
        let bin = try cniBinDir(["bridge"])
        // A plugin file that is not executable does not count either.
        try "".write(toFile: bin + "/portmap", atomically: true, encoding: .utf8)
        let c = byID(await DaemonChecks.cri(try criContext(criStatus(runtimeReady: true), binDir: bin)), group: "cri")
        let b = try XCTUnwrap(c["cri.cni-binaries"])
        XCTAssertEqual(b.status, .fail)
        XCTAssertEqual(b.found, "missing from \(bin): host-local (from 10-bridge.conflist), portmap (from 10-bridge.conflist)")
        assertFix(b, "apt-get install containernetworking-plugins", bin, "bin_dir in [plugins.\"io.containerd.grpc.v1.cri\".cni]")
    }

    // MARK: - cri.cni-config: files read with bounds

    /// A FIFO at `path` with `payload` waiting in it; its one writer closes after a second, on
    /// another thread. (A reader that opens the FIFO without O_NONBLOCK and reads to the end gets
    /// the payload at the close instead of waiting forever: the old code fails the test, not hangs.)
    private func fifo(_ path: String, payload: String) throws -> DispatchSemaphore {
        XCTAssertEqual(mkfifo(path, 0o644), 0)
        let fd = open(path, O_RDWR)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let bytes = Array(payload.utf8)
        XCTAssertEqual(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, bytes.count)
        let closed = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) {
            close(fd)
            closed.signal()
        }
        return closed
    }

    func testCNIConfigThatIsAFIFOOrTooLargeIsNotRead() async throws {
        let conf = try tempDir() + "/net.d"
        try FileManager.default.createDirectory(atPath: conf, withIntermediateDirectories: true)
        let good = try String(contentsOfFile: try ConfigChecksTests.fixtureDir("daemon-cni") + "/net.d/10-bridge.conflist", encoding: .utf8)
        try good.write(toFile: conf + "/05-ok.conflist", atomically: true, encoding: .utf8)
        let big = #"{"cniVersion": "1.0.0", "name": "big", "plugins": [{"type": "bridge"}], "pad": ""# + String(repeating: "x", count: 2 << 20) + "\"}"
        try big.write(toFile: conf + "/20-big.conflist", atomically: true, encoding: .utf8)
        let closed = try fifo(conf + "/10-fifo.conflist", payload: good)
        defer { closed.wait() }
        var ctx = context()
        ctx.criStatus = criStatus(runtimeReady: true)
        ctx.running = RuntimeConfigView(configJSON: .object(["cni": .object(["confDir": .string(conf), "binDir": .string(try cniBinDir())])]))
        let c = byID(DaemonChecks.cni(ctx), group: "cri")
        let config = try XCTUnwrap(c["cri.cni-config"])
        XCTAssertEqual(config.status, .warn, config.found)
        XCTAssertEqual(config.found, "3 config(s); containerd uses 05-ok.conflist (network kctr-test), but these are invalid: "
                       + "10-fifo.conflist (\(conf)/10-fifo.conflist is not a regular file); "
                       + "20-big.conflist (\(conf)/20-big.conflist is 2.0 MiB, more than the 1.0 MiB a configuration file may have)")
        assertFix(config, "remove the invalid files from \(conf)")

        // The FIFO first by name: the config containerd would use cannot be read.
        try FileManager.default.removeItem(atPath: conf + "/05-ok.conflist")
        let first = try XCTUnwrap(byID(DaemonChecks.cni(ctx), group: "cri")["cri.cni-config"])
        XCTAssertEqual(first.status, .fail)
        XCTAssertEqual(first.found, "\(conf)/10-fifo.conflist, the config containerd uses (first by name), is invalid: \(conf)/10-fifo.conflist is not a regular file")
        assertFix(first, "fix or remove \(conf)/10-fifo.conflist")
    }

    func testCRINotServingSkipsAll() async throws {
        var ctx = context()
        ctx.session = try deadSession()
        let results = await DaemonChecks.cri(ctx)
        XCTAssertEqual(results.map(\.id), ["cri.runtime-ready", "cri.network-ready", "cri.cni-config", "cri.cni-binaries"])
        XCTAssertTrue(results.allSatisfy { $0.status == .skip && $0.found == "CRI is not serving (see daemon.cri-plugin)" })
    }

    // MARK: - snapshotter.plugin

    private func snapshotterContext(_ snapshotter: String, plugins: [PluginStatus]) throws -> VerifyContext {
        var ctx = context(root: try ConfigChecksTests.fixtureDir("daemon-overlay"))
        ctx.session = try deadSession()
        ctx.plugins = plugins
        ctx.running = running(#"{"containerd": {"snapshotter": "\#(snapshotter)"}}"#)
        return ctx
    }

    func testSnapshotterPluginLoadedPasses() async throws {
        let ctx = try snapshotterContext("overlayfs", plugins: [try plugin("io.containerd.snapshotter.v1", "native"),
                                                                try plugin("io.containerd.snapshotter.v1", "overlayfs")])
        let c = byID(await DaemonChecks.snapshotter(ctx), group: "snapshotter")
        XCTAssertEqual(c["snapshotter.plugin"]?.status, .pass)
        XCTAssertEqual(c["snapshotter.plugin"]?.found, "CRI's snapshotter overlayfs is loaded (status ok)")
    }

    func testSnapshotterPluginInErrorFails() async throws {
        let err = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs does not support d_type. If the backing filesystem is xfs, please reformat with ftype=1 to enable d_type support"
        let ctx = try snapshotterContext("overlayfs", plugins: [try plugin("io.containerd.snapshotter.v1", "native"),
                                                                try plugin("io.containerd.snapshotter.v1", "overlayfs", initError: err)])
        let results = await DaemonChecks.snapshotter(ctx)
        let p = try XCTUnwrap(byID(results, group: "snapshotter")["snapshotter.plugin"])
        XCTAssertEqual(p.status, .fail)
        XCTAssertTrue(p.found.contains("overlayfs did not load: " + err), p.found)
        assertFix(p, "modprobe overlay", "ftype=1", "systemctl restart containerd")

        // Another snapshotter in error: the fix points back at overlayfs.
        let zfs = try snapshotterContext("zfs", plugins: [try plugin("io.containerd.snapshotter.v1", "zfs", initError: "path /var/lib/containerd/io.containerd.snapshotter.v1.zfs must be a zfs filesystem to be used with the zfs snapshotter: skip plugin")])
        let zResults = await DaemonChecks.snapshotter(zfs)
        let z = try XCTUnwrap(byID(zResults, group: "snapshotter")["snapshotter.plugin"])
        XCTAssertEqual(z.status, .fail)
        assertFix(z, "snapshotter = \"overlayfs\"", "[plugins.\"io.containerd.grpc.v1.cri\".containerd]")
    }

    func testSnapshotterPluginMissingFailsListingTheLoadedOnes() async throws {
        let ctx = try snapshotterContext("stargz", plugins: [try plugin("io.containerd.snapshotter.v1", "native"),
                                                             try plugin("io.containerd.snapshotter.v1", "overlayfs"),
                                                             try plugin("io.containerd.snapshotter.v1", "btrfs", initError: "not btrfs: skip plugin"),
                                                             try plugin("io.containerd.grpc.v1", "cri")])
        let c = byID(await DaemonChecks.snapshotter(ctx), group: "snapshotter")
        let p = try XCTUnwrap(c["snapshotter.plugin"])
        XCTAssertEqual(p.status, .fail)
        XCTAssertEqual(p.found, "CRI's snapshotter stargz is not a loaded snapshotter plugin (loaded: native, overlayfs)")
        assertFix(p, "set snapshotter in [plugins.\"io.containerd.grpc.v1.cri\".containerd] of /etc/containerd/config.toml",
                  "native, overlayfs", "stargz proxy plugin")
        // Not overlayfs: the filesystem check does not apply.
        XCTAssertEqual(c["snapshotter.filesystem"]?.status, .skip)
    }

    func testSnapshotterWithoutPluginListSkips() async throws {
        let ctx = try snapshotterContext("overlayfs", plugins: [])
        let results = await DaemonChecks.snapshotter(ctx)
        XCTAssertEqual(byID(results, group: "snapshotter")["snapshotter.plugin"]?.status, .skip)
    }

    // MARK: - snapshotter.filesystem

    /// A containerd root dir and a mountinfo that mounts it with `fstype` (over an ext4 /).
    private func mounted(_ fstype: String) throws -> (root: String, mountinfo: String) {
        let dir = try tempDir()
        let root = dir + "/var-lib-containerd"
        try FileManager.default.createDirectory(atPath: root + "/io.containerd.snapshotter.v1.overlayfs", withIntermediateDirectories: true)
        let mountinfo = dir + "/mountinfo"
        try """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        23 22 0:21 / /proc rw,nosuid shared:2 - proc proc rw
        90 22 0:52 / \(root) rw,relatime - \(fstype) \(fstype) rw,lowerdir=/l,upperdir=/u,workdir=/w

        """.write(toFile: mountinfo, atomically: true, encoding: .utf8)
        return (root, mountinfo)
    }

    private func filesystemContext(_ fixture: String, containerdRoot: String?) throws -> VerifyContext {
        var ctx = context(root: try ConfigChecksTests.fixtureDir(fixture))
        if let containerdRoot {
            ctx.criStatus = CRIStatus(conditions: [], info: ["config": #"{"containerdRootDir": "\#(containerdRoot)"}"#])
        }
        return ctx
    }

    func testFilesystemOverlayKernelAndExt4RootPass() throws {
        let m = try mounted("ext4")
        let r = DaemonChecks.filesystem(try filesystemContext("daemon-overlay", containerdRoot: m.root), snapshotter: "overlayfs",
                                        mountinfo: m.mountinfo)
        XCTAssertEqual(r.status, .pass, r.found)
        XCTAssertNil(r.fix)
        XCTAssertEqual(r.found, "the kernel has overlay; \(m.root)/io.containerd.snapshotter.v1.overlayfs is on ext4")
        XCTAssertTrue(r.evidence.contains("proc/filesystems: overlay listed"), r.evidence)
    }

    func testFilesystemRootFromCRIRootDirParent() throws {
        let m = try mounted("ext4")
        var ctx = try filesystemContext("daemon-overlay", containerdRoot: nil)
        ctx.running = running(#"{"rootDir": "\#(m.root)/io.containerd.grpc.v1.cri"}"#)
        XCTAssertEqual(DaemonChecks.containerdRoot(ctx), m.root)
        XCTAssertEqual(DaemonChecks.filesystem(ctx, snapshotter: "overlayfs", mountinfo: m.mountinfo).status, .pass)
    }

    func testFilesystemWithoutOverlayInTheKernelFails() async throws {
        let m = try mounted("ext4")
        let ctx = try filesystemContext("daemon-no-overlay", containerdRoot: m.root)
        let r = DaemonChecks.filesystem(ctx, snapshotter: "overlayfs", mountinfo: m.mountinfo)
        XCTAssertEqual(r.status, .fail)
        XCTAssertTrue(r.found.contains("does not list overlay in \(ctx.paths.root)/proc/filesystems"), r.found)
        assertFix(r, "modprobe overlay", "/etc/modules-load.d/containerd.conf")
        // Through the group as well (the root's proc/filesystems decides before any mount lookup).
        var group = ctx
        group.plugins = [try plugin("io.containerd.snapshotter.v1", "overlayfs")]
        group.running = running(#"{"containerd": {"snapshotter": "overlayfs"}}"#)
        group.session = try deadSession()
        let viaGroup = byID(await DaemonChecks.snapshotter(group), group: "snapshotter")
        XCTAssertEqual(viaGroup["snapshotter.plugin"]?.status, .pass)
        XCTAssertEqual(viaGroup["snapshotter.filesystem"]?.status, .fail)
    }

    func testFilesystemRootOnOverlayFails() throws {
        let m = try mounted("overlay")
        let r = DaemonChecks.filesystem(try filesystemContext("daemon-overlay", containerdRoot: m.root), snapshotter: "overlayfs",
                                        mountinfo: m.mountinfo)
        XCTAssertEqual(r.status, .fail)
        XCTAssertTrue(r.found.contains("\(m.root)/io.containerd.snapshotter.v1.overlayfs is itself on overlayfs"), r.found)
        XCTAssertTrue(r.evidence.contains("statfs(\(m.root)/io.containerd.snapshotter.v1.overlayfs): overlay"), r.evidence)
        assertFix(r, "root = in /etc/containerd/config.toml", "ext4 or xfs (ftype=1)", "native snapshotter")
    }

    func testFilesystemSkipsForOtherSnapshotters() throws {
        let r = DaemonChecks.filesystem(try filesystemContext("daemon-no-overlay", containerdRoot: nil), snapshotter: "native")
        XCTAssertEqual(r.status, .skip)
    }

    func testMountPicksTheLongestMatchingMountPoint() throws {
        let m = try mounted("xfs")
        XCTAssertEqual(DaemonChecks.mount(m.root + "/io.containerd.snapshotter.v1.overlayfs/snapshots", mountinfo: m.mountinfo)?.point, m.root)
        XCTAssertEqual(DaemonChecks.filesystemType(m.root + "x", mountinfo: m.mountinfo), "ext4")
        XCTAssertEqual(DaemonChecks.filesystemType("/proc/self", mountinfo: m.mountinfo), "proc")
    }

    // MARK: - pause.*

    private let image = "registry.k8s.io/pause:3.9"

    private func record() -> ImageRecord {
        ImageRecord(name: image, labels: [:],
                    target: Descriptor(mediaType: "application/vnd.oci.image.index.v1+json", digest: "sha256:7031c1b2", size: 2_405))
    }

    private func resolved(unpacked: Bool, problem: String? = nil) -> ImageCatalog.Resolved {
        ImageCatalog.Resolved(size: 321_538, configDigest: "sha256:e6f18168", chainID: problem == nil ? "sha256:e3e5579d" : nil,
                              unpacked: unpacked, problem: problem)
    }

    private func pauseContext(daemon: String) throws -> VerifyContext {
        var ctx = context()
        ctx.version = try version(daemon)
        return ctx
    }

    private func pause(daemon: String = "1.7.20", snapshotter: String = "overlayfs", criImage: CRIImage?, record: ImageRecord?,
                       resolved: ImageCatalog.Resolved?, sandboxes: DaemonChecks.Listing = .success([]),
                       file: StaticString = #filePath, line: UInt = #line) throws -> [String: CheckResult] {
        let results = DaemonChecks.pauseResults(try pauseContext(daemon: daemon), image: image, snapshotter: snapshotter,
                                                criImage: criImage, record: record, resolved: resolved, sandboxes: sandboxes)
        XCTAssertEqual(results.map(\.id), ["pause.present", "pause.unpacked", "pause.pinned", "pause.in-use"], file: file, line: line)
        return byID(results, group: "pause", file: file, line: line)
    }

    func testPausePresentUnpackedPinnedPass() throws {
        let c = try pause(criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: true))
        XCTAssertEqual(c["pause.present"]?.status, .pass)
        XCTAssertEqual(c["pause.unpacked"]?.status, .pass)
        XCTAssertEqual(c["pause.unpacked"]?.found, "\(image) is unpacked for overlayfs")
        XCTAssertTrue(c["pause.unpacked"]!.evidence.contains("chain ID sha256:e3e5579d"), c["pause.unpacked"]!.evidence)
        XCTAssertEqual(c["pause.pinned"]?.status, .pass)
        XCTAssertEqual(c["pause.in-use"]?.status, .skip)
        XCTAssertEqual(c["pause.in-use"]?.found, "no running sandboxes")
    }

    func testPauseInStoreButNotInCRIWarns() throws {
        let c = try pause(criImage: nil, record: record(), resolved: resolved(unpacked: true))
        XCTAssertEqual(c["pause.present"]?.status, .warn)
        assertFix(c["pause.present"], "restart containerd", "kctr import pause.tar")
        XCTAssertEqual(c["pause.pinned"]?.status, .skip)
    }

    func testPauseNotUnpackedWarns() throws {
        let c = try pause(snapshotter: "native", criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: false))
        let u = try XCTUnwrap(c["pause.unpacked"])
        XCTAssertEqual(u.status, .warn)
        XCTAssertTrue(u.found.contains("not unpacked for CRI's snapshotter native"), u.found)
        assertFix(u, "ctr -n k8s.io images unpack --snapshotter native registry.k8s.io/pause:3.9", "kctr import pause.tar")
    }

    func testPauseUnresolvableFails() throws {
        let c = try pause(criImage: try criImage(pinned: true), record: record(),
                          resolved: resolved(unpacked: false, problem: "content missing: content digest sha256:7031c1b2: not found"))
        let u = try XCTUnwrap(c["pause.unpacked"])
        XCTAssertEqual(u.status, .fail)
        XCTAssertTrue(u.found.contains("cannot be resolved: content missing"), u.found)
        XCTAssertTrue(u.evidence.contains("chain ID ?"), u.evidence)
        assertFix(u, "remove and re-import it", "kctr import pause.tar", "crictl pull registry.k8s.io/pause:3.9")
    }

    func testPauseAbsentFailsAndSkipsTheRest() throws {
        let c = try pause(criImage: nil, record: nil, resolved: nil)
        XCTAssertEqual(c["pause.present"]?.status, .fail)
        assertFix(c["pause.present"], "crictl pull registry.k8s.io/pause:3.9", "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"]")
        XCTAssertEqual(c["pause.unpacked"]?.status, .skip)
        XCTAssertEqual(c["pause.pinned"]?.status, .skip)
    }

    func testPausePinnedOn17() throws {
        let c = try pause(daemon: "1.7.13", criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: true))
        let p = try XCTUnwrap(c["pause.pinned"])
        XCTAssertEqual(p.status, .pass)
        XCTAssertEqual(p.found, "\(image) is pinned (the kubelet's image GC keeps it)")
        XCTAssertEqual(p.evidence, "runtime.v1.ImageService/ImageStatus: image.pinned")
        XCTAssertEqual(try pause(daemon: "2.0.1", criImage: try criImage(pinned: true), record: record(),
                                 resolved: resolved(unpacked: true))["pause.pinned"]?.status, .pass)
    }

    func testPauseNotPinnedOn17Warns() throws {
        let c = try pause(daemon: "1.7.13", criImage: try criImage(pinned: false), record: record(), resolved: resolved(unpacked: true))
        let p = try XCTUnwrap(c["pause.pinned"])
        XCTAssertEqual(p.status, .warn)
        XCTAssertTrue(p.found.contains("is not pinned"), p.found)
        XCTAssertEqual(p.evidence, "runtime.v1.ImageService/ImageStatus: image.pinned = false")
        assertFix(p, "ctr -n k8s.io images label registry.k8s.io/pause:3.9 io.cri-containerd.pinned=pinned")
    }

    func testPausePinnedSkipsOn16() throws {
        // 1.6 has no pinning: an unpinned image is not a warning there.
        let c = try pause(daemon: "1.6.20", criImage: try criImage(pinned: false), record: record(), resolved: resolved(unpacked: true))
        XCTAssertEqual(c["pause.pinned"]?.status, .skip)
        XCTAssertTrue(c["pause.pinned"]!.found.contains("no image pinning (added in 1.7)"), c["pause.pinned"]!.found)
    }

    func testPauseInUseByEverySandboxPasses() throws {
        let sandboxes: [DaemonChecks.SandboxImage] = [
            .init(name: "coredns-5d78c9869d-abcde", namespace: "kube-system", image: image),
            // By repo digest, by image id, by short name: all the configured image.
            .init(name: "kube-proxy-x1", namespace: "kube-system", image: "registry.k8s.io/pause@sha256:abcd"),
            .init(name: "web-0", namespace: "default", image: "sha256:pauseid"),
            .init(name: "old", namespace: "default", image: nil),
        ]
        let c = try pause(criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: true),
                          sandboxes: .success(sandboxes))
        let u = try XCTUnwrap(c["pause.in-use"])
        XCTAssertEqual(u.status, .pass, u.found)
        XCTAssertEqual(u.found, "all 3 running sandboxes use \(image) (1 did not say)")
    }

    func testPauseInUseByAnotherImageWarns() throws {
        let sandboxes: [DaemonChecks.SandboxImage] = [
            .init(name: "coredns-5d78c9869d-abcde", namespace: "kube-system", image: image),
            .init(name: "web-0", namespace: "default", image: "registry.k8s.io/pause:3.6"),
        ]
        let c = try pause(criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: true),
                          sandboxes: .success(sandboxes))
        let u = try XCTUnwrap(c["pause.in-use"])
        XCTAssertEqual(u.status, .warn)
        XCTAssertEqual(u.found, "1 of 2 running sandboxes use another image than \(image): default/web-0 uses registry.k8s.io/pause:3.6")
        assertFix(u, "--pod-infra-container-image", "sandbox_image in [plugins.\"io.containerd.grpc.v1.cri\"] of /etc/containerd/config.toml", "drain the node")
    }

    func testPauseInUseSkipsWhenUnknownOrUnlisted() throws {
        let unknown = try pause(criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: true),
                                sandboxes: .success([.init(name: "a", namespace: "default", image: nil)]))
        XCTAssertEqual(unknown["pause.in-use"]?.status, .skip)
        let failed = try pause(criImage: try criImage(pinned: true), record: record(), resolved: resolved(unpacked: true),
                               sandboxes: .failure("listing sandboxes: DeadlineExceeded"))
        XCTAssertEqual(failed["pause.in-use"]?.status, .skip)
        XCTAssertEqual(failed["pause.in-use"]?.found, "cannot list sandboxes: listing sandboxes: DeadlineExceeded")
    }

    func testPauseWithoutDaemonOrCRISkips() async throws {
        let none = await DaemonChecks.pause(context())
        XCTAssertEqual(none.map(\.status), [.skip, .skip, .skip, .skip])
        var ctx = context()
        ctx.session = try deadSession()
        let noCRI = await DaemonChecks.pause(ctx)
        XCTAssertTrue(noCRI.allSatisfy { $0.status == .skip && $0.found == "CRI is not serving (see daemon.cri-plugin)" })
    }

    // MARK: - runtimes.default / runtimes.type

    private func runtimes(_ running: RuntimeConfigView) async throws -> [String: CheckResult] {
        var ctx = context()
        ctx.session = try deadSession()
        ctx.running = running
        let results = await DaemonChecks.runtimes(ctx)
        XCTAssertEqual(results.map(\.id), ["runtimes.default", "runtimes.type", "runtimes.binary"])
        return byID(results, group: "runtimes")
    }

    func testDefaultRuntimeConfiguredPasses() async throws {
        let c = try await runtimes(runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", nil),
                                                                    ("gvisor", "io.containerd.runsc.v1", nil)]))
        XCTAssertEqual(c["runtimes.default"]?.status, .pass)
        XCTAssertEqual(c["runtimes.default"]?.found, "the default runtime runc is configured")
        XCTAssertEqual(c["runtimes.type"]?.status, .pass)
        XCTAssertEqual(c["runtimes.type"]?.found, "gvisor=io.containerd.runsc.v1, runc=io.containerd.runc.v2")
    }

    func testDefaultRuntimeMissingFails() async throws {
        let c = try await runtimes(runtimesConfig(default: "crun", [("runc", "io.containerd.runc.v2", nil)]))
        let d = try XCTUnwrap(c["runtimes.default"])
        XCTAssertEqual(d.status, .fail)
        XCTAssertTrue(d.found.contains("default_runtime_name = \"crun\" but there is no runtime crun (configured: runc)"), d.found)
        assertFix(d, "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.crun]",
                  "plugins.\"io.containerd.grpc.v1.cri\".containerd.default_runtime_name to one of runc", "systemctl restart containerd")

        let empty = try await runtimes(runtimesConfig(default: "", []))
        XCTAssertEqual(empty["runtimes.default"]?.status, .fail)
        XCTAssertTrue(empty["runtimes.default"]!.found.contains("configured: none"), empty["runtimes.default"]!.found)
        assertFix(empty["runtimes.default"], ".containerd.runtimes.runc]")
        XCTAssertEqual(empty["runtimes.type"]?.status, .skip)
        XCTAssertEqual(empty["runtimes.binary"]?.status, .skip)
    }

    func testDeprecatedRuntimeTypeWarns() async throws {
        let c = try await runtimes(runtimesConfig(default: "runc", [("runc", "io.containerd.runtime.v1.linux", nil)]))
        let t = try XCTUnwrap(c["runtimes.type"])
        XCTAssertEqual(t.status, .warn)
        XCTAssertEqual(t.found, "deprecated runtime type: runc=io.containerd.runtime.v1.linux (removed in containerd 2.0)")
        assertFix(t, "runtime_type = \"io.containerd.runc.v2\"", "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<name>]",
                  "/etc/containerd/config.toml")
        let v1 = try await runtimes(runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v1", nil)]))
        XCTAssertEqual(v1["runtimes.type"]?.status, .warn)
    }

    func testUnknownRuntimeTypeWarns() async throws {
        let c = try await runtimes(runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", nil),
                                                                    ("typo", "io.containerd.runcc.v2", nil),
                                                                    ("blank", "", nil)]))
        let t = try XCTUnwrap(c["runtimes.type"])
        XCTAssertEqual(t.status, .warn)
        XCTAssertEqual(t.found, "runtime type kctr does not know: blank=(empty), typo=io.containerd.runcc.v2")
        assertFix(t, "containerd-shim-<name>-<version>", "io.containerd.runc.v2 -> containerd-shim-runc-v2")
    }

    func testRuntimesWithoutDaemonOrCRISkip() async throws {
        let none = await DaemonChecks.runtimes(context())
        XCTAssertEqual(none.map(\.status), [.skip, .skip, .skip])
        var ctx = context()
        ctx.session = try deadSession()
        let noCRI = await DaemonChecks.runtimes(ctx)
        XCTAssertTrue(noCRI.allSatisfy { $0.status == .skip && $0.found == "CRI is not serving (see daemon.cri-plugin)" })
    }

    // MARK: - runtimes.binary

    /// A fake host: `root` holds the runc shim (found under --root when the host has none),
    /// `bin` (outside root, so it is run) the runtime binaries; the endpoint is a socket root owns.
    private func binaryContext() throws -> (ctx: VerifyContext, bin: String) {
        let dir = try tempDir()
        try script(dir + "/root/usr/bin/containerd-shim-runc-v2", "exit 0")
        try script(dir + "/root/usr/local/sbin/kctrtest-runc", "exit 1")
        try script(dir + "/bin/good-runc", "echo 'runc version 1.1.12-kctrtest'; echo 'commit: v1.1.12'")
        try script(dir + "/bin/bad-runc", "echo 'error while loading shared libraries: libseccomp.so.2' >&2; exit 127")
        var ctx = context(root: dir + "/root")
        ctx.endpoint = Endpoint(path: try boundSocket(), source: "--address")
        return (ctx, dir + "/bin")
    }

    func testRuntimeBinaryRunsPasses() throws {
        let (ctx, bin) = try binaryContext()
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", bin + "/good-runc")]))
        XCTAssertEqual(r.status, .pass, r.found)
        XCTAssertNil(r.fix)
        XCTAssertEqual(r.found, "runc: \(bin)/good-runc (runc version 1.1.12-kctrtest)")
        XCTAssertTrue(r.evidence.contains("runc: options.BinaryName = \(bin)/good-runc"), r.evidence)
        XCTAssertTrue(r.evidence.contains("containerd-shim-runc-v2"), r.evidence)
    }

    func testRuntimeBinaryUnderRootIsFoundNotRun() throws {
        let (ctx, _) = try binaryContext()
        // An absolute BinaryName is looked up as is, then under --root; the host's binary is not run
        // from here (its libraries are the host's), so its failing --version does not count.
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", "/usr/local/sbin/kctrtest-runc")]))
        XCTAssertEqual(r.status, .pass, r.found)
        XCTAssertEqual(r.found, "runc: \(ctx.paths.root)/usr/local/sbin/kctrtest-runc (the host's binary under --root: found, not run from here)")
    }

    func testRuntimeBinaryMissingFails() throws {
        let (ctx, _) = try binaryContext()
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", "/opt/kctr-nonexistent/runc")]))
        XCTAssertEqual(r.status, .fail)
        XCTAssertEqual(r.found, "runc: /opt/kctr-nonexistent/runc not found on PATH")
        assertFix(r, "apt-get install runc", "BinaryName in [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.<name>.options]")
    }

    func testRuntimeBinaryThatDoesNotRunFails() throws {
        let (ctx, bin) = try binaryContext()
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", bin + "/good-runc"),
                                                                                     ("broken", "io.containerd.runc.v2", bin + "/bad-runc")]))
        XCTAssertEqual(r.status, .fail)
        XCTAssertEqual(r.found, "broken: \(bin)/bad-runc --version failed (exit 127: error while loading shared libraries: libseccomp.so.2)")
        assertFix(r, "apt-get install runc", "BinaryName")
    }

    func testRuntimeShimMissingFails() throws {
        let (ctx, _) = try binaryContext()
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "kctrtest", [("kctrtest", "io.containerd.kctrtest.v9", nil)]))
        XCTAssertEqual(r.status, .fail)
        XCTAssertEqual(r.found, "kctrtest: shim containerd-shim-kctrtest-v9 not found on PATH")
        assertFix(r, "containerd's shims where containerd's PATH finds them")
    }

    // MARK: - runtimes.binary: what kctr refuses to run

    /// A runtime binary that would leave `marker` if it ran.
    private func markerScript(_ path: String, marker: String) throws {
        try script(path, "touch \(marker)\necho 'runc version 6.6.6'")
    }

    /// runtimes.binary for one runtime "evil" whose BinaryName is `binary`.
    private func evil(_ ctx: VerifyContext, _ binary: String) -> CheckResult {
        DaemonChecks.binaries(ctx, running: runtimesConfig(default: "evil", [("evil", "io.containerd.runc.v2", binary)]))
    }

    /// `bin`/nobody, a directory uid 65534 owns, holding a runc that would leave `marker`.
    private func nobodysRunc(_ bin: String, marker: String) throws -> String {
        try markerScript(bin + "/nobody/runc", marker: marker)
        XCTAssertEqual(chown(bin + "/nobody", 65534, 65534), 0)
        return bin + "/nobody/runc"
    }

    private func assertRefused(_ r: CheckResult, _ binary: String, because: String, marker: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, .fail, file: file, line: line)
        XCTAssertEqual(r.found, "evil: kctr refused to run \(binary) --version as root: \(because)", file: file, line: line)
        assertFix(r, "chown root:root and chmod go-w", "BinaryName to a root-owned runc such as /usr/sbin/runc", file: file, line: line)
        XCTAssertFalse(r.fix?.contains("apt-get install runc") ?? true, r.fix ?? "", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(binary) was run", file: file, line: line)
    }

    /// A daemon's reply names a BinaryName that a user other than root can change (the file, or a
    /// directory above it): kctr, as root, would run what that user put there.
    func testRuntimeBinaryOthersCanChangeIsNotRun() throws {
        let (ctx, bin) = try binaryContext()
        let marker = bin + "/ran"
        for (runc, changed, mode, because) in [
            (bin + "/evil-runc", bin + "/evil-runc", mode_t(0o757), "\(bin)/evil-runc is writable by every user (mode 757)"),
            (bin + "/group/runc", bin + "/group", mode_t(0o775), "\(bin)/group is writable by group 0 (mode 775)"),
        ] {
            try markerScript(runc, marker: marker)
            XCTAssertEqual(chmod(changed, mode), 0)
            assertRefused(evil(ctx, runc), runc, because: because, marker: marker)
        }
        let runc = try nobodysRunc(bin, marker: marker)
        assertRefused(evil(ctx, runc), runc, because: "\(bin)/nobody is a directory owned by uid 65534, not by root", marker: marker)
    }

    /// Symlinks are followed: the real file and each directory on the real path are checked, and
    /// each symlink on the way must be root's too.
    func testRuntimeBinaryBehindASymlinkIsCheckedWhereItLeads() throws {
        let (ctx, bin) = try binaryContext()
        let marker = bin + "/ran"
        _ = try nobodysRunc(bin, marker: marker)
        XCTAssertEqual(symlink("nobody/runc", bin + "/link-runc"), 0)
        assertRefused(evil(ctx, bin + "/link-runc"), bin + "/link-runc", because: "\(bin)/nobody is a directory owned by uid 65534, not by root", marker: marker)

        // A symlink nobody owns, to a good binary.
        XCTAssertEqual(symlink(bin + "/good-runc", bin + "/their-link"), 0)
        XCTAssertEqual(lchown(bin + "/their-link", 65534, 65534), 0)
        assertRefused(evil(ctx, bin + "/their-link"), bin + "/their-link", because: "\(bin)/their-link is a symlink owned by uid 65534, not by root", marker: marker)

        // A symlink of root's to a good binary is run.
        XCTAssertEqual(symlink("good-runc", bin + "/root-link"), 0)
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", bin + "/root-link")]))
        XCTAssertEqual(r.status, .pass, r.found)
        XCTAssertEqual(r.found, "runc: \(bin)/root-link (runc version 1.1.12-kctrtest)")
    }

    /// A socket root does not own: whatever its reply names is run by no one.
    func testRuntimeBinariesAreNotRunWhenTheSocketIsNotRoots() throws {
        var (ctx, bin) = try binaryContext()
        let marker = bin + "/ran"
        try markerScript(bin + "/named-runc", marker: marker)
        let socket = try boundSocket()
        XCTAssertEqual(lchown(socket, 65534, 65534), 0)
        ctx.endpoint = Endpoint(path: socket, source: "--address")
        let r = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", bin + "/named-runc")]))
        XCTAssertEqual(r.status, .fail)
        XCTAssertEqual(r.found, "kctr runs no runtime binary the reply on \(socket) names, since that socket could be someone else's: \(socket) is a file owned by uid 65534, not by root")
        assertFix(r, "check who listens on \(socket)", "pass --address with containerd's own socket")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))

        // Group-writable is how containerd makes it (0660); writable by everyone is not.
        XCTAssertEqual(lchown(socket, 0, 0), 0)
        XCTAssertEqual(chmod(socket, 0o660), 0)
        XCTAssertEqual(DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", bin + "/good-runc")])).status, .pass)
        XCTAssertEqual(chmod(socket, 0o666), 0)
        let open = DaemonChecks.binaries(ctx, running: runtimesConfig(default: "runc", [("runc", "io.containerd.runc.v2", bin + "/named-runc")]))
        XCTAssertEqual(open.status, .fail)
        XCTAssertTrue(open.found.hasSuffix("\(socket) is writable by every user (mode 666)"), open.found)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testShimBinaryNames() {
        XCTAssertEqual(DaemonChecks.shimBinary("io.containerd.runc.v2"), "containerd-shim-runc-v2")
        XCTAssertEqual(DaemonChecks.shimBinary("io.containerd.runsc.v1"), "containerd-shim-runsc-v1")
        XCTAssertNil(DaemonChecks.shimBinary("io.containerd.runtime.v1.linux"))
        XCTAssertNil(DaemonChecks.shimBinary(""))
    }
}

final class SandboxImageSourceTests: XCTestCase {
    func context(version: String, running: String?, config: String?) -> VerifyContext {
        var ctx = VerifyContext(paths: VerifyPaths(), endpoint: Endpoint(path: "/x.sock", source: "default"))
        ctx.version = DaemonVersion(version: version, revision: "")
        var cfg: [String: JSONValue] = [:]
        if let running { cfg["sandboxImage"] = .string(running) }
        ctx.running = RuntimeConfigView(configJSON: .object(cfg))
        if let config {
            ctx.containerdConfig = .object(["plugins": .object(["io.containerd.cri.v1.images": .object([
                "pinned_images": .object(["sandbox": .string(config)])])])])
        }
        return ctx
    }

    func testTheDaemonsOwnWordFirstThenConfigThenTheDefault() {
        XCTAssertEqual(DaemonChecks.sandboxImage(context(version: "1.6.20", running: "registry.k8s.io/pause:3.9", config: nil)),
                       "registry.k8s.io/pause:3.9")
        XCTAssertNil(DaemonChecks.sandboxImage(context(version: "1.6.20", running: nil, config: "x/pause:1")))
        XCTAssertEqual(DaemonChecks.sandboxImage(context(version: "2.0.1", running: nil, config: "registry.local/pause:3.10")),
                       "registry.local/pause:3.10")
        XCTAssertEqual(DaemonChecks.sandboxImage(context(version: "v2.1.0", running: nil, config: nil)), "registry.k8s.io/pause:3.10")
    }
}
