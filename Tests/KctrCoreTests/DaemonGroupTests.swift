import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// The `daemon` group from facts: socket, version, CRI plugins (one before 2.0, three from 2.0),
/// CRI serving, containerd's own deprecations, the kubelet's version, layer decompression.
final class DaemonGroupTests: XCTestCase {
    private func daemon(_ f: VerifyFacts, file: StaticString = #filePath, line: UInt = #line) -> [String: CheckResult] {
        let results = DaemonGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.daemon).map(\.id), file: file, line: line)
        return byID(results, group: "daemon", file: file, line: line)
    }

    func testUnreachableDaemonFailsTheSocketWithItsHintAndSkipsTheRest() {
        var f = VerifyFixtures.facts()
        f.daemon.unreachable = KctrError("cannot reach containerd at /run/containerd/containerd.sock (the default): no such socket",
                                         hint: "is containerd running? (systemctl status containerd)")
        let c = daemon(f)
        XCTAssertEqual(c["daemon.socket"]?.status, .fail)
        XCTAssertEqual(c["daemon.socket"]?.found, "cannot reach containerd at /run/containerd/containerd.sock (the default): no such socket")
        XCTAssertEqual(c["daemon.socket"]?.fix, "is containerd running? (systemctl status containerd)")
        for id in ["daemon.version", "daemon.cri-plugin", "daemon.cri-serving", "daemon.deprecations", "daemon.decompression"] {
            XCTAssertEqual(c[id]?.status, .skip, id)
            XCTAssertEqual(c[id]?.found, "daemon not reachable (see daemon.socket)", id)
        }
    }

    // MARK: daemon.version

    func testSupportedVersionsPass() throws {
        for v in ["1.6.20~ds1", "v1.7.34", "v2.3.4"] {
            let c = daemon(VerifyFixtures.answered(v))
            XCTAssertEqual(c["daemon.socket"]?.status, .pass)
            XCTAssertEqual(c["daemon.version"]?.status, .pass, v)
            XCTAssertEqual(c["daemon.version"]?.found, "containerd \(v)")
            XCTAssertTrue(c["daemon.version"]!.evidence.contains("revision abc123"))
        }
    }

    func testVersionOlderThan16Warns() {
        let v = daemon(VerifyFixtures.answered("1.5.13"))["daemon.version"]
        XCTAssertEqual(v?.status, .warn)
        assertFound(v, "1.5.13", "older than 1.6")
        assertFix(v, "upgrade containerd", "apt-get install containerd")
    }

    func testUnparsableVersionWarns() {
        let v = daemon(VerifyFixtures.answered("devel"))["daemon.version"]
        XCTAssertEqual(v?.status, .warn)
        assertFound(v, "cannot parse the version \"devel\"")
        assertFix(v, "socket is containerd's")
    }

    // MARK: daemon.cri-plugin

    func testCRIPluginOf1xLoadedFailedOrDisabled() throws {
        var f = VerifyFixtures.answered("1.7.20")
        f.daemon.plugins = .known([try VerifyFixtures.plugin("io.containerd.grpc.v1", "cri")])
        XCTAssertEqual(DaemonGroup.criPlugin(f).status, .pass)

        f.daemon.plugins = .known([try VerifyFixtures.plugin("io.containerd.grpc.v1", "cri", initError: "invalid plugin config: sandbox_image is empty")])
        let broken = DaemonGroup.criPlugin(f)
        XCTAssertEqual(broken.status, .fail)
        assertFound(broken, "sandbox_image is empty")
        assertFix(broken, "[plugins.\"io.containerd.grpc.v1.cri\"]", "systemctl restart containerd")

        f.daemon.plugins = .known([try VerifyFixtures.plugin("io.containerd.snapshotter.v1", "overlayfs")])
        f.config.merged = .object(["disabled_plugins": .array([.string("cri")])])
        let disabled = DaemonGroup.criPlugin(f)
        XCTAssertEqual(disabled.status, .fail)
        XCTAssertTrue(disabled.evidence.contains("disabled_plugins = [\"cri\"]"), disabled.evidence)
        assertFix(disabled, "disabled_plugins", "/etc/containerd/config.toml")

        f.daemon.plugins = .known([])
        XCTAssertEqual(DaemonGroup.criPlugin(f).status, .skip)
    }

    /// 2.x splits CRI in three plugins: a failing one names its own table, of the file's version.
    func testCRIPluginsOf2xNameTheFailingPartsTable() throws {
        var f = try VerifyFixtures.recorded("2.3.4")
        XCTAssertEqual(DaemonGroup.criPlugin(f).status, .pass, DaemonGroup.criPlugin(f).found)
        assertFound(DaemonGroup.criPlugin(f), "io.containerd.cri.v1.runtime, io.containerd.cri.v1.images, io.containerd.grpc.v1.cri are loaded")

        var plugins = try VerifyFixtures.recordedPlugins("2.3.4").filter { !($0.type == "io.containerd.cri.v1" && $0.id == "images") }
        plugins.append(try VerifyFixtures.plugin("io.containerd.cri.v1", "images", initError: "invalid pinned image: sandbox is not a reference"))
        f.daemon.plugins = .known(plugins)
        f.config.merged = .object(["version": .number(4)])
        let broken = DaemonGroup.criPlugin(f)
        XCTAssertEqual(broken.status, .fail)
        assertFound(broken, "io.containerd.cri.v1.images failed to initialise: invalid pinned image")
        assertFix(broken, "[plugins.'io.containerd.cri.v1.images']")
        // A version 2 file on 2.x: the same part lives in the one CRI table.
        f.config.merged = .object(["version": .number(2)])
        assertFix(DaemonGroup.criPlugin(f), "[plugins.\"io.containerd.grpc.v1.cri\"]")

        f.daemon.plugins = .known(try VerifyFixtures.recordedPlugins("2.3.4").filter { $0.type != "io.containerd.cri.v1" })
        let missing = DaemonGroup.criPlugin(f)
        XCTAssertEqual(missing.status, .fail)
        assertFound(missing, "io.containerd.cri.v1.runtime, io.containerd.cri.v1.images are not loaded")
        assertFix(missing, "\"io.containerd.cri.v1.runtime\", \"io.containerd.cri.v1.images\"")
    }

    func testCRIServingFailsWithTheReason() {
        var f = VerifyFixtures.answered("1.7.20")
        f.daemon.criVersion = .unknown(KctrError("CRI Version (RuntimeService/Version): the CRI plugin is not serving", hint: "remove \"cri\" from disabled_plugins"))
        let c = daemon(f)["daemon.cri-serving"]
        XCTAssertEqual(c?.status, .fail)
        XCTAssertEqual(c?.fix, "remove \"cri\" from disabled_plugins")
        f.daemon.criVersion = .known(CRIVersion(version: "0.1.0", runtimeName: "containerd", runtimeVersion: "v1.7.20", runtimeApiVersion: "v1"))
        XCTAssertEqual(daemon(f)["daemon.cri-serving"]?.found, "CRI v1 answers: containerd v1.7.20")
    }

    // MARK: daemon.deprecations

    func testDeprecationsFromServerAndTheCRICondition() throws {
        var f = try VerifyFixtures.recorded("1.7.34")
        XCTAssertEqual(daemon(f)["daemon.deprecations"]?.status, .pass)

        f.daemon.server = .known(ServerInfo(uuid: "u", pid: 1, pidNamespace: 1, deprecations: [
            DeprecationWarning(id: "io.containerd.deprecation/cri-registry-mirrors",
                               message: "The `mirrors` property of `[plugins.\"io.containerd.grpc.v1.cri\".registry]` is deprecated since containerd v1.5 and will be removed in containerd v2.0. Use `config_path` instead."),
        ]))
        let d = daemon(f)["daemon.deprecations"]
        XCTAssertEqual(d?.status, .warn)
        assertFound(d, "1 deprecated feature in use: io.containerd.deprecation/cri-registry-mirrors: The `mirrors` property")
        assertFix(d, "hosts.toml", "config_path in [plugins.\"io.containerd.grpc.v1.cri\".registry]")
        XCTAssertTrue(d!.evidence.contains("Introspection.Server: deprecations"), d!.evidence)
    }

    /// 2.x reports cgroup v1 as a deprecation: cgroup.v1 reports it, not this check too.
    func testTheCgroupV1DeprecationIsCgroupV1sFinding() throws {
        let f = try VerifyFixtures.recorded("2.3.4")
        let d = daemon(f)["daemon.deprecations"]
        XCTAssertEqual(d?.status, .pass, d?.found ?? "")
        assertFound(d, "io.containerd.deprecation/cgroup-v1: see cgroup.v1")
        XCTAssertTrue(d!.evidence.contains("ContainerdHasNoDeprecationWarnings] = false"), d!.evidence)
    }

    func testNoDeprecationReportSkips() throws {
        let d = daemon(try VerifyFixtures.recorded("1.6.20"))["daemon.deprecations"]
        XCTAssertEqual(d?.status, .skip)
        assertFound(d, "does not report deprecated features")
    }

    // MARK: daemon.kubelet-skew

    func testContainerdOlderThan22UnderKubelet136Fails() throws {
        var f = VerifyFixtures.answered("v2.1.4")
        f.kubelet.version = .known(KubeletRelease(minor: 36))
        let s = daemon(f)["daemon.kubelet-skew"]
        XCTAssertEqual(s?.status, .fail)
        XCTAssertEqual(s?.found, "containerd v2.1.4 is older than 2.2, the oldest containerd the kubelet 1.36.0 supports")
        assertFix(s, "upgrade containerd to 2.2 or newer", "containerd config migrate")

        f.daemon.version = DaemonVersion(version: "v2.2.0", revision: "r")
        XCTAssertEqual(daemon(f)["daemon.kubelet-skew"]?.status, .pass)
        f.daemon.version = DaemonVersion(version: "v2.2.0-rc.1-4-g0123abc", revision: "r")
        XCTAssertEqual(daemon(f)["daemon.kubelet-skew"]?.status, .pass, "a 2.2 prerelease is of the 2.2 line")
        f.daemon.version = DaemonVersion(version: "1.7.34", revision: "r")
        f.kubelet.version = .known(KubeletRelease(minor: 35))
        XCTAssertEqual(daemon(f)["daemon.kubelet-skew"]?.status, .pass)
    }

    func testKubeletVersionUnknownSkipsWithTheReason() {
        var f = VerifyFixtures.answered("1.7.34")
        f.kubelet.version = .unknown(KctrError("no kubelet on PATH"))
        let s = daemon(f)["daemon.kubelet-skew"]
        XCTAssertEqual(s?.status, .skip)
        XCTAssertEqual(s?.found, "no kubelet on PATH: not compared")
    }

    func testKubeletVersionOutput() {
        XCTAssertEqual(KubeletRelease(versionOutput: "Kubernetes v1.33.2\n")?.minor, 33)
        XCTAssertEqual(KubeletRelease(versionOutput: "Kubernetes v1.36.0-alpha.1")?.text, "1.36.0-alpha.1")
        XCTAssertNil(KubeletRelease(versionOutput: "kubelet: command not found"))
        XCTAssertEqual(KubeletRelease(minor: 33).expectedPause, "3.10")
        XCTAssertEqual(KubeletRelease(minor: 34).expectedPause, "3.10.1")
        XCTAssertEqual(KubeletRelease(minor: 29).expectedPause, "3.9")
        XCTAssertNil(KubeletRelease(minor: 23).expectedPause)
    }

    // MARK: daemon.decompression

    private func environment(path: [String]?, disablePigz: String? = nil, helpers: [String: String]) -> Fact<DaemonEnvironment> {
        .known(DaemonEnvironment(pid: 4242, path: path, disablePigz: disablePigz, helpers: helpers))
    }

    func testUnpigzOnTheDaemonsPathPasses() {
        var f = VerifyFixtures.answered("1.7.34")
        f.daemon.environment = environment(path: ["/usr/sbin", "/usr/bin"], helpers: ["unpigz": "/usr/bin/unpigz"])
        let d = daemon(f)["daemon.decompression"]
        XCTAssertEqual(d?.status, .pass)
        XCTAssertEqual(d?.found, "containerd finds unpigz at /usr/bin/unpigz: gzip layers decompress in parallel")
        XCTAssertEqual(d?.evidence, "/proc/4242/environ: PATH=/usr/sbin:/usr/bin")
    }

    func testNeitherHelperWarnsWithInstallPigz() {
        var f = VerifyFixtures.answered("v2.3.4")
        f.daemon.environment = environment(path: ["/usr/bin"], helpers: [:])
        let d = daemon(f)["daemon.decompression"]
        XCTAssertEqual(d?.status, .warn)
        assertFound(d, "neither igzip nor unpigz is on containerd's PATH", "single-threaded")
        assertFix(d, "apt-get install pigz", "systemctl restart containerd")
        // 1.x knows unpigz only.
        var old = VerifyFixtures.answered("1.6.20~ds1")
        old.daemon.environment = environment(path: nil, helpers: [:])
        let o = daemon(old)["daemon.decompression"]
        assertFound(o, "neither unpigz is on containerd's PATH")
        XCTAssertTrue(o!.evidence.hasSuffix("PATH=unset"), o!.evidence)
    }

    func testDisabledPigzWarns() {
        var f = VerifyFixtures.answered("v2.3.4")
        f.daemon.environment = environment(path: ["/usr/bin"], disablePigz: "1", helpers: ["unpigz": "/usr/bin/unpigz"])
        let d = daemon(f)["daemon.decompression"]
        XCTAssertEqual(d?.status, .warn)
        assertFound(d, "CONTAINERD_DISABLE_PIGZ=1")
        assertFix(d, "remove CONTAINERD_DISABLE_PIGZ")
    }

    func testUnknownEnvironmentSkips() {
        var f = VerifyFixtures.answered("1.6.20")
        f.daemon.environment = .unknown(KctrError("PID 77 is /bin/sh, not containerd, as seen here (another PID namespace?)"))
        XCTAssertEqual(daemon(f)["daemon.decompression"]?.found, "PID 77 is /bin/sh, not containerd, as seen here (another PID namespace?): not checked")
    }
}

/// The host probes behind daemon.decompression: the daemon's /proc files under a fake root.
final class DaemonEnvironmentProbeTests: ScratchDirectoryTestCase {
    private func process(_ pid: Int, cmdline: [String], environ: [String]) throws {
        let proc = dir + "/proc/\(pid)"
        try FileManager.default.createDirectory(atPath: proc, withIntermediateDirectories: true)
        try Data((cmdline.joined(separator: "\0") + "\0").utf8).write(to: URL(fileURLWithPath: proc + "/cmdline"))
        try Data((environ.joined(separator: "\0") + "\0").utf8).write(to: URL(fileURLWithPath: proc + "/environ"))
    }

    private var paths: VerifyPaths {
        var p = VerifyPaths()
        p.root = dir
        return p
    }

    func testHelpersAreLookedUpOnTheDaemonsPathUnderRoot() throws {
        try process(4242, cmdline: ["/usr/bin/containerd", "--config", "/etc/containerd/config.toml"],
                    environ: ["LANG=C", "PATH=/usr/local/bin:relative:/usr/bin", "CONTAINERD_DISABLE_PIGZ=0"])
        try FileManager.default.createDirectory(atPath: dir + "/usr/bin", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dir + "/usr/bin/unpigz", contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        let e = try HostProbes.daemonEnvironment(pid: 4242, paths: paths, helpers: ["igzip", "unpigz"]).get()
        XCTAssertEqual(e.path, ["/usr/local/bin", "/usr/bin"])
        XCTAssertEqual(e.helpers, ["unpigz": "/usr/bin/unpigz"])
        XCTAssertEqual(e.disablePigz, "0")
    }

    func testAProcessThatIsNotContainerdIsRefused() throws {
        try process(77, cmdline: ["/bin/sh"], environ: ["PATH=/bin"])
        XCTAssertThrowsError(try HostProbes.daemonEnvironment(pid: 77, paths: paths, helpers: ["unpigz"]).get()) { error in
            XCTAssertEqual((error as? KctrError)?.message, "PID 77 is /bin/sh, not containerd, as seen here (another PID namespace?)")
        }
        XCTAssertThrowsError(try HostProbes.daemonEnvironment(pid: 78, paths: paths, helpers: ["unpigz"]).get()) { error in
            XCTAssertTrue((error as? KctrError)?.message.hasPrefix("cannot read \(self.dir)/proc/78/cmdline") == true, "\(error)")
        }
    }

    /// containerd 1.6 does not report its PID: the process listening on the socket is containerd.
    func testSocketOwnerFromNetUnixAndFileDescriptors() throws {
        try FileManager.default.createDirectory(atPath: dir + "/proc/net", withIntermediateDirectories: true)
        try """
        Num       RefCount Protocol Flags    Type St Inode Path
        0000000000000001: 00000002 00000000 00010000 0001 01 11111 /run/other.sock
        0000000000000002: 00000003 00000000 00000000 0001 03 22222 /run/containerd/containerd.sock
        0000000000000003: 00000002 00000000 00010000 0001 01 33333 /run/containerd/containerd.sock

        """.write(toFile: dir + "/proc/net/unix", atomically: true, encoding: .utf8)
        for (pid, inode) in [(10, "11111"), (20, "22222"), (30, "33333")] {
            try FileManager.default.createDirectory(atPath: dir + "/proc/\(pid)/fd", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: dir + "/proc/\(pid)/fd/7", withDestinationPath: "socket:[\(inode)]")
        }
        XCTAssertEqual(HostProbes.socketOwner("/run/containerd/containerd.sock", paths: paths), 30)
        XCTAssertNil(HostProbes.socketOwner("/run/none.sock", paths: paths))
    }
}
