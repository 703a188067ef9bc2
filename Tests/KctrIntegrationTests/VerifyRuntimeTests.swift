import Foundation
import KctrCore
import KctrLab
import XCTest

/// `kctr verify-runtime` against private daemons with real misconfigurations,
/// each next to its passing counterpart. The host's files are never read:
/// config.toml is the lab's, the kubelet and crictl configs are fixtures, and
/// /proc is a fake root with the files the checks read.
enum VerifyFixture {
    /// A fresh directory with a fake root (proc/filesystems copied from the host,
    /// proc/1/comm = `pid1`), a crictl.yaml pointing at `socket`, and optionally a kubelet config.
    static func make(socket: String, pid1: String = "init", cgroupDriver: String? = nil) throws -> (dir: String, root: String, kubelet: String, crictl: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-verify-\(UUID().uuidString.prefix(8))").path
        let root = dir + "/root"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/proc/1", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/proc/sys/net/ipv4", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/sys/module", withIntermediateDirectories: true)
        try String(contentsOfFile: "/proc/filesystems", encoding: .utf8).write(toFile: root + "/proc/filesystems", atomically: true, encoding: .utf8)
        try "\(pid1)\n".write(toFile: root + "/proc/1/comm", atomically: true, encoding: .utf8)
        try "Filename\tType\tSize\tUsed\tPriority\n".write(toFile: root + "/proc/swaps", atomically: true, encoding: .utf8)
        try "1\n".write(toFile: root + "/proc/sys/net/ipv4/ip_forward", atomically: true, encoding: .utf8)
        try "overlay 151552 0 - Live 0x0000000000000000\n".write(toFile: root + "/proc/modules", atomically: true, encoding: .utf8)
        let crictl = dir + "/crictl.yaml"
        try "runtime-endpoint: unix://\(socket)\nimage-endpoint: unix://\(socket)\ntimeout: 10\n".write(toFile: crictl, atomically: true, encoding: .utf8)
        let kubelet = dir + "/kubelet-config.yaml"
        if let cgroupDriver {
            try """
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            cgroupDriver: \(cgroupDriver)
            containerRuntimeEndpoint: unix://\(socket)

            """.write(toFile: kubelet, atomically: true, encoding: .utf8)
        }
        return (dir, root, kubelet, crictl)
    }
}

struct VerifyOutput {
    var run: Run
    var checks: [[String: Any]]

    init(run: Run, checks: [[String: Any]]) {
        self.run = run
        self.checks = checks
    }

    /// The checks of `-o json`'s report.
    init(parsing r: Run, file: StaticString = #filePath, line: UInt = #line) throws {
        let doc = try XCTUnwrap(try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any],
                                "not JSON (exit \(r.status)): \(r.stdout)\n\(r.stderr)", file: file, line: line)
        self.init(run: r, checks: doc["checks"] as? [[String: Any]] ?? [])
    }

    func status(_ id: String) -> String? { check(id)?["status"] as? String }
    func check(_ id: String) -> [String: Any]? { checks.first { $0["id"] as? String == id } }
    func text(_ id: String) -> String {
        guard let c = check(id) else { return "" }
        return ["found", "evidence", "fix"].compactMap { c[$0] as? String }.joined(separator: "\n")
    }
    var ids: [String] { checks.compactMap { $0["id"] as? String } }
}

extension Lab {
    /// `kctr verify-runtime` on this lab with fixture files; `-o json` is parsed when asked.
    func verify(_ args: [String], pid1: String = "init", cgroupDriver: String? = nil, json: Bool = true,
                file: StaticString = #filePath, line: UInt = #line) throws -> VerifyOutput {
        let f = try VerifyFixture.make(socket: socket, pid1: pid1, cgroupDriver: cgroupDriver)
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let r = kctr(["verify-runtime", "--containerd-config", base + "/config.toml", "--kubelet-config", f.kubelet,
                      "--crictl-config", f.crictl, "--root", f.root] + (json ? ["-o", "json"] : []) + args)
        guard json else { return VerifyOutput(run: r, checks: []) }
        return try VerifyOutput(parsing: r, file: file, line: line)
    }
}

func importPause(_ lab: Lab) throws {
    let r = lab.ctr(["images", "import", try TestImages.path("pause.oci.tar")])
    guard r.status == 0 else { throw SetupError("ctr import failed: \(r.stderr)") }
}

/// Each lab is started on first use and stopped in tearDown.
final class VerifyRuntimeTests: XCTestCase {
    static let healthy = SharedLab(["--cni"]) { try importPause($0) }
    static let systemdCgroup = SharedLab(["--systemd-cgroup", "--cni"])
    static let criDisabled = SharedLab(["--disable-cri"])
    static let missingPause = SharedLab(["--cni", "--sandbox-image", "registry.k8s.io/pause:never-imported"]) { try importPause($0) }
    static let native = SharedLab(["--cni", "--snapshotter", "native"]) { try importPause($0) }
    static let noCNI = SharedLab()
    /// A host-network pod with a container named kube-proxy that reads its mode from a file in its own root.
    static let kubeProxy = SharedLab { lab in
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("kctr import failed: \(r.stderr)") }
        let script = "mkdir -p /var/lib/kube-proxy && printf 'kind: KubeProxyConfiguration\\nmode: ipvs\\n' > /var/lib/kube-proxy/config.conf && exec sleep 3600"
        _ = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "kube-proxy-x1", namespace: "kube-system", logDir: lab.base + "/pod-logs"),
                                 containers: [ContainerSpec(name: "kube-proxy", command: ["sh", "-c", script, "kube-proxy", "--config=/var/lib/kube-proxy/config.conf"])])
    }

    override class func tearDown() {
        for lab in [healthy, systemdCgroup, criDisabled, missingPause, native, noCNI, kubeProxy] { lab.stop() }
    }

    // MARK: healthy

    static let daemonGroups = ["daemon", "cri", "snapshotter", "pause", "runtimes", "cgroup"]

    func testNoFailuresInTheDaemonGroups() throws {
        let lab = try Self.healthy.get()
        let out = try lab.verify(Self.daemonGroups.flatMap { ["--check", $0] })
        XCTAssertExit(out.run, 0)
        for c in out.checks {
            XCTAssertNotEqual(c["status"] as? String, "fail", "\(c)")
            XCTAssertTrue(Self.daemonGroups.contains(c["group"] as? String ?? ""), "\(c)")
        }
        for id in ["daemon.socket", "daemon.version", "daemon.cri-plugin", "daemon.cri-serving", "cri.runtime-ready",
                   "cri.network-ready", "cri.cni-config", "cri.cni-binaries", "snapshotter.plugin", "snapshotter.filesystem",
                   "pause.present", "pause.unpacked", "runtimes.default", "runtimes.type", "runtimes.binary"] {
            XCTAssertEqual(out.status(id), "pass", "\(id): \(out.text(id))")
        }
        // containerd 1.6 cannot pin, 1.7+ pins the configured sandbox image; no pods run; no kubelet config to compare with.
        XCTAssertEqual(out.status("pause.pinned"), lab.version.pinsSandboxImage ? "pass" : "skip", out.text("pause.pinned"))
        XCTAssertEqual(out.status("pause.in-use"), "skip", out.text("pause.in-use"))
        XCTAssertEqual(out.status("cgroup.driver-match"), "skip", out.text("cgroup.driver-match"))
        XCTAssertTrue(out.text("cgroup.driver-match").contains("kubelet comparison skipped"), out.text("cgroup.driver-match"))
        XCTAssertTrue(out.text("cri.cni-binaries").contains("bridge, host-local"), out.text("cri.cni-binaries"))
        XCTAssertTrue(out.text("runtimes.binary").contains("runc version"), out.text("runtimes.binary"))
    }

    func testMatchingKubeletPasses() throws {
        let lab = try Self.healthy.get()
        let out = try lab.verify(["--check", "cgroup.driver-match"], cgroupDriver: "cgroupfs")
        XCTAssertExit(out.run, 0)
        XCTAssertEqual(out.ids, ["cgroup.driver-match"])
        XCTAssertEqual(out.status("cgroup.driver-match"), "pass", out.text("cgroup.driver-match"))
    }

    func testKubeletSystemdWithoutSystemdFails() throws {
        let lab = try Self.healthy.get()
        let out = try lab.verify(["--check", "cgroup"], cgroupDriver: "systemd")
        XCTAssertExit(out.run, 1)
        XCTAssertEqual(out.status("cgroup.driver-match"), "fail")
        XCTAssertTrue(out.text("cgroup.driver-match").contains("set cgroupDriver: cgroupfs"), out.text("cgroup.driver-match"))
    }

    func testTableWithoutTerminalUsesWordsAndSummary() throws {
        let lab = try Self.healthy.get()
        let out = try lab.verify(["--check", "daemon", "--check", "pause"], json: false)
        XCTAssertExit(out.run, 0)
        let lines = out.run.lines
        XCTAssertEqual(lines.first, "daemon", out.run.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  PASS daemon.socket ") }, out.run.stdout)
        let pins = lab.version.pinsSandboxImage
        XCTAssertTrue(lines.contains { $0.hasPrefix(pins ? "  PASS pause.pinned " : "  SKIP pause.pinned ") }, out.run.stdout)
        XCTAssertFalse(out.run.stdout.contains("✔"), out.run.stdout)
        // The summary counts what the JSON report holds.
        let json = try lab.verify(["--check", "daemon", "--check", "pause"])
        let count = { (status: String) in json.checks.filter { $0["status"] as? String == status }.count }
        XCTAssertEqual(count("warn") + count("fail"), 0, json.run.stdout)
        XCTAssertEqual(lines.last, "\(count("pass")) passed, 0 warnings, 0 failed, \(count("skip")) skipped", out.run.stdout)
    }

    func testUnknownCheckIsAUsageError() throws {
        let lab = try Self.healthy.get()
        let out = try lab.verify(["--check", "cgroup.nope"], json: false)
        XCTAssertExit(out.run, 64)
        XCTAssertTrue(out.run.stderr.contains("unknown check cgroup.nope"), out.run.stderr)
        XCTAssertTrue(out.run.stderr.contains("cgroup.driver-match"), out.run.stderr)
        XCTAssertTrue(out.run.stderr.contains("valid groups: daemon, cri, cgroup"), out.run.stderr)
        XCTAssertTrue(out.run.stderr.contains("kctr verify-runtime --list"), out.run.stderr)
        let list = runProcess([Paths.kctr, "verify-runtime", "--list"])
        XCTAssertExit(list, 0)
        XCTAssertTrue(list.lines.contains { $0.hasPrefix("  cgroup.driver-match ") }, list.stdout)
        XCTAssertEqual(try lab.verify(["--check", "nogroup"], json: false).run.status, 64)
    }

    func testUnreachableDaemonFailsTheSocketAndSkipsRPCChecks() throws {
        let f = try VerifyFixture.make(socket: "/nonexistent/containerd.sock")
        defer { try? FileManager.default.removeItem(atPath: f.dir) }
        let r = runProcess([Paths.kctr, "verify-runtime", "--address", "/nonexistent/containerd.sock", "--kubelet-config", f.kubelet,
                            "--containerd-config", f.dir + "/none.toml", "--crictl-config", f.crictl, "--root", f.root, "-o", "json",
                            "--check", "daemon", "--check", "pause", "--check", "cgroup"])
        XCTAssertExit(r, 1)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let checks = try XCTUnwrap(doc["checks"] as? [[String: Any]])
        let byID = Dictionary(uniqueKeysWithValues: checks.map { ($0["id"] as! String, $0) })
        XCTAssertEqual(byID["daemon.socket"]?["status"] as? String, "fail")
        XCTAssertTrue((byID["daemon.socket"]?["found"] as? String ?? "").contains("no such socket"), "\(byID)")
        XCTAssertTrue((byID["daemon.socket"]?["fix"] as? String ?? "").contains("systemctl status containerd"), "\(byID)")
        for id in ["daemon.version", "daemon.cri-plugin", "pause.present", "cgroup.driver-match"] {
            XCTAssertEqual(byID[id]?["status"] as? String, "skip", id)
            XCTAssertEqual(byID[id]?["found"] as? String, "daemon not reachable (see daemon.socket)", id)
        }
    }

    /// The daemon's reply names the binary kctr runs as root (a runtime's BinaryName): one that a user
    /// other than root can write is not run, and the finding says why.
    func testRuntimeBinaryOthersCanWriteIsNotRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-evil-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let evil = dir + "/evil-runc", marker = dir + "/ran"
        // Marks kctr's run only: containerd 2.x runs `<BinaryName> features` itself.
        try "#!/bin/sh\n[ \"$1\" = --version ] && touch \(marker)\necho 'runc version 6.6.6'\n".write(toFile: evil, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(evil, 0o757), 0)
        // The runtimes table of the version the lab writes (2.x ignores the 1.x table).
        let version = ContainerdRelease(runProcess([Paths.lab, "version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let runtimes = (version?.major ?? 1) >= 2 ? "plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes"
            : "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes"
        try """
            [\(runtimes).evil]
              runtime_type = "io.containerd.runc.v2"
              [\(runtimes).evil.options]
                BinaryName = "\(evil)"

            """.write(toFile: dir + "/extra.toml", atomically: true, encoding: .utf8)
        let lab = try Lab(["--extra-toml", dir + "/extra.toml"])
        defer { lab.stop() }
        let out = try lab.verify(["--check", "runtimes.binary"])
        XCTAssertExit(out.run, 1)
        XCTAssertEqual(out.status("runtimes.binary"), "fail")
        let found = out.check("runtimes.binary")?["found"] as? String ?? ""
        XCTAssertEqual(found, "evil: kctr refused to run \(evil) --version as root: \(evil) is writable by every user (mode 757)")
        XCTAssertTrue(out.text("runtimes.binary").contains("chown root:root and chmod go-w"), out.text("runtimes.binary"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "kctr ran \(evil)")
    }

    // MARK: systemdCgroup

    func testSystemdCgroupWithoutSystemdFails() throws {
        let lab = try Self.systemdCgroup.get()
        let out = try lab.verify(["--check", "cgroup"], cgroupDriver: "cgroupfs")
        XCTAssertExit(out.run, 1)
        XCTAssertEqual(out.ids, ["cgroup.driver-match", "cgroup.driver-source", "cgroup.v1"])
        XCTAssertEqual(out.status("cgroup.driver-match"), "fail")
        let text = out.text("cgroup.driver-match")
        XCTAssertTrue(text.contains("SystemdCgroup = true"), text)
        XCTAssertTrue(text.contains("expected cgroupsPath to be of format slice:prefix:name"), text)
        // The fix names the table of the file's own version, quoted as that version's `containerd config default` does.
        let table = lab.version.major >= 2 ? "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
            : "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]"
        XCTAssertTrue(text.contains("set `SystemdCgroup = false` in \(table) of \(lab.base)/config.toml"), text)
        XCTAssertTrue(text.contains("systemctl restart containerd"), text)
        // Without a kubelet config the PID 1 mismatch alone fails.
        XCTAssertEqual(try lab.verify(["--check", "cgroup"]).status("cgroup.driver-match"), "fail")
    }

    func testOnASystemdHostOnlyTheKubeletMismatchRemains() throws {
        let lab = try Self.systemdCgroup.get()
        let mismatch = try lab.verify(["--check", "cgroup"], pid1: "systemd", cgroupDriver: "cgroupfs")
        XCTAssertExit(mismatch.run, 1)
        XCTAssertTrue(mismatch.text("cgroup.driver-match").contains("the kubelet's cgroupDriver is cgroupfs"), mismatch.text("cgroup.driver-match"))
        XCTAssertTrue(mismatch.text("cgroup.driver-match").contains("set cgroupDriver: systemd"), mismatch.text("cgroup.driver-match"))
        let match = try lab.verify(["--check", "cgroup"], pid1: "systemd", cgroupDriver: "systemd")
        XCTAssertExit(match.run, 0)
        XCTAssertEqual(match.status("cgroup.driver-match"), "pass", match.text("cgroup.driver-match"))
    }

    // MARK: criDisabled

    func testCRIPluginFailsNamingDisabledPlugins() throws {
        let lab = try Self.criDisabled.get()
        let out = try lab.verify(["--check", "daemon", "--check", "cri", "--check", "pause"])
        XCTAssertExit(out.run, 1)
        XCTAssertEqual(out.status("daemon.socket"), "pass")
        XCTAssertEqual(out.status("daemon.cri-plugin"), "fail")
        let text = out.text("daemon.cri-plugin")
        XCTAssertTrue(text.contains("disabled_plugins"), text)
        XCTAssertTrue(text.contains("\(lab.base)/config.toml"), text)
        XCTAssertEqual(out.status("daemon.cri-serving"), "fail")
        for id in ["cri.runtime-ready", "cri.cni-config", "pause.present"] {
            XCTAssertEqual(out.status(id), "skip", id)
        }
    }

    // MARK: missingPause

    func testPausePresentFailsWithTheImageName() throws {
        let lab = try Self.missingPause.get()
        let out = try lab.verify(["--check", "pause"])
        XCTAssertExit(out.run, 1)
        XCTAssertEqual(out.status("pause.present"), "fail")
        let text = out.text("pause.present")
        XCTAssertTrue(text.contains("registry.k8s.io/pause:never-imported"), text)
        XCTAssertTrue(text.contains("kctr import pause.tar"), text)
        XCTAssertTrue(text.contains("crictl pull registry.k8s.io/pause:never-imported"), text)
        XCTAssertEqual(out.status("pause.unpacked"), "skip")
    }

    // MARK: native

    func testNativeLoadsButThePauseImageIsNotUnpackedForIt() throws {
        let lab = try Self.native.get()
        let out = try lab.verify(["--check", "snapshotter", "--check", "pause"])
        // native is always built in and loads: the plugin check passes; the overlay
        // filesystem check does not apply.
        XCTAssertEqual(out.status("snapshotter.plugin"), "pass", out.text("snapshotter.plugin"))
        XCTAssertTrue(out.text("snapshotter.plugin").contains("native"), out.text("snapshotter.plugin"))
        XCTAssertEqual(out.status("snapshotter.filesystem"), "skip")
        // The image is there, but its snapshot exists for overlayfs only: CRI would unpack it
        // on the first pod (a warning, not a failure).
        XCTAssertEqual(out.status("pause.present"), "pass")
        XCTAssertEqual(out.status("pause.unpacked"), "warn", out.text("pause.unpacked"))
        XCTAssertTrue(out.text("pause.unpacked").contains("--snapshotter native"), out.text("pause.unpacked"))
        XCTAssertExit(out.run, 0)

        let strict = try lab.verify(["--check", "snapshotter", "--check", "pause", "--strict"])
        XCTAssertExit(strict.run, 1)
    }

    // MARK: noCNI

    func testCNIConfigFails() throws {
        let lab = try Self.noCNI.get()
        let out = try lab.verify(["--check", "cri"])
        XCTAssertExit(out.run, 1)
        XCTAssertEqual(out.status("cri.runtime-ready"), "pass")
        XCTAssertEqual(out.status("cri.network-ready"), "fail")
        XCTAssertTrue(out.text("cri.network-ready").contains("cni plugin not initialized"), out.text("cri.network-ready"))
        XCTAssertEqual(out.status("cri.cni-config"), "fail")
        XCTAssertTrue(out.text("cri.cni-config").contains("\(lab.base)/net.d"), out.text("cri.cni-config"))
        XCTAssertTrue(out.text("cri.cni-config").contains("network add-on"), out.text("cri.cni-config"))
        XCTAssertEqual(out.status("cri.cni-binaries"), "skip")
    }

    // MARK: the daemon's own process

    /// containerd's PATH is read from its own environment: the lab starts it with its directory first.
    func testDecompressionReadsTheDaemonsOwnEnvironment() throws {
        let lab = try Self.healthy.get()
        let out = try lab.verifyOnHost(["--check", "daemon.decompression"])
        let pid = try String(contentsOfFile: lab.base + "/containerd.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let evidence = out.check("daemon.decompression")?["evidence"] as? String ?? ""
        XCTAssertTrue(evidence.hasPrefix("/proc/\(pid)/environ: PATH="), out.text("daemon.decompression"))
        let unpigz = ["/usr/local/bin", "/usr/bin", "/bin"].contains { FileManager.default.isExecutableFile(atPath: $0 + "/unpigz") }
        XCTAssertEqual(out.status("daemon.decompression"), unpigz ? "pass" : "warn", out.text("daemon.decompression"))
    }

    // MARK: kubeProxy

    /// On kubeadm nodes kube-proxy's config.conf exists only in its pod: kernel.ipvs reads the running
    /// container's arguments through CRI and the file they name through /proc/PID/root.
    func testKubeProxyModeIsReadFromItsRunningContainer() throws {
        let lab = try Self.kubeProxy.get()
        let out = try lab.verifyOnHost(["--check", "kernel.ipvs"])
        let text = out.text("kernel.ipvs")
        XCTAssertNotEqual(out.status("kernel.ipvs"), "skip", text)
        XCTAssertTrue(text.contains("kube-proxy mode is ipvs"), text)
        XCTAssertTrue(text.contains("the kube-proxy container ") && text.contains("--config /var/lib/kube-proxy/config.conf (/proc/"), text)
    }
}

extension Lab {
    /// `kctr verify-runtime -o json` on this lab, reading the real /proc and /sys (no --root), without a
    /// kubelet config.
    func verifyOnHost(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> VerifyOutput {
        let r = kctr(["verify-runtime", "--containerd-config", base + "/config.toml", "--kubelet-config", base + "/no-kubelet.yaml",
                      "--crictl-config", base + "/no-crictl.yaml", "-o", "json"] + args)
        return try VerifyOutput(parsing: r, file: file, line: line)
    }
}
