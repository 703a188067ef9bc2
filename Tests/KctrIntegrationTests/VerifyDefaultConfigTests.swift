import Foundation
import KctrCore
import XCTest

/// A private containerd started with its own `containerd config default` (every host path moved under
/// the lab's directory, nothing else changed) and the pause image it names imported: the node a package
/// install gives. The lab's directory, binaries and `down` are containerd-lab's; only config.toml differs.
final class DefaultConfigLab {
    let base: String
    let ctr: String
    let version: ContainerdRelease
    var socket: String { base + "/containerd.sock" }
    /// The sandbox image the default config names.
    let sandboxImage: String

    init() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-deflab-\(UUID().uuidString.prefix(8))").path
        let prepared = runProcess([Paths.lab, "up", base, "--config-only", "--print-env"], timeout: 60)
        guard prepared.status == 0 else { throw SetupError("containerd-lab up --config-only failed: \(prepared.stderr)") }
        let env = Lab.parseEnv(prepared.stdout)
        guard let containerd = env["KCTR_LAB_CONTAINERD"], let ctr = env["KCTR_LAB_CTR"],
              let version = env["KCTR_LAB_CONTAINERD_VERSION"].flatMap(ContainerdRelease.init) else {
            throw SetupError("containerd-lab named no binaries: \(prepared.stdout)")
        }
        (self.ctr, self.version) = (ctr, version)
        let defaults = runProcess([containerd, "config", "default"])
        guard defaults.status == 0 else { throw SetupError("\(containerd) config default failed: \(defaults.stderr)") }
        var config = defaults.stdout
        let socket = base + "/containerd.sock"
        // Specific paths first: the sockets live in /run/containerd, the state directory too.
        for (from, to) in [("/run/containerd/containerd.sock", socket), ("/run/containerd", base + "/state"),
                           ("/var/lib/containerd", base + "/root"), ("/opt/containerd", base + "/opt"),
                           ("/var/run/nri", base + "/nri"), ("/opt/nri", base + "/nri"), ("/etc/nri", base + "/nri"),
                           ("/var/run/cdi", base + "/cdi"), ("/etc/cdi", base + "/cdi"), ("/etc/cni/net.d", base + "/net.d"),
                           ("/etc/containerd/conf.d", base + "/conf.d")] {
            config = config.replacing(from, with: to)
        }
        try config.write(toFile: base + "/config.toml", atomically: true, encoding: .utf8)
        let image = config.split(separator: "\n").lazy.compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("sandbox_image =") || t.hasPrefix("sandbox =") else { return nil }
            return t.split(separator: "=", maxSplits: 1).last?.trimmingCharacters(in: CharacterSet(charactersIn: " '\""))
        }.first
        guard let image else { throw SetupError("no sandbox image in \(containerd) config default") }
        sandboxImage = image

        // As containerd-lab starts its daemons: own session, no inherited descriptors, the binaries' directory first on PATH.
        let dir = (containerd as NSString).deletingLastPathComponent
        let start = runProcess(["/bin/bash", "-c", """
            ( for fd in /proc/self/fd/*; do fd=${fd##*/}; [[ $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null; done
              PATH="$1:$PATH" exec setsid "$2" --config "$3/config.toml" </dev/null >>"$3/containerd.log" 2>&1 ) &
            echo $! > "$3/containerd.pid"
            for i in $(seq 200); do "$4" --address "$3/containerd.sock" --timeout 2s version >/dev/null 2>&1 && exit 0; sleep 0.05; done
            exit 1
            """, "start", dir, containerd, base, ctr], timeout: 60)
        guard start.status == 0 else {
            let log = (try? String(contentsOfFile: base + "/containerd.log", encoding: .utf8)) ?? ""
            stop()
            throw SetupError("containerd with its default config did not answer: \(log.suffix(2000))")
        }
        // The pause image imported under the name this version's default config gives it (an import by
        // that name is what 1.7 pins; a tag made afterwards is not).
        let archive = base + "/pause.tar"
        let copy = runProcess(["/usr/bin/skopeo", "--insecure-policy", "--tmpdir", base, "copy", "-q", "oci-archive:" + (try TestImages.path("pause.oci.tar")), "docker-archive:\(archive):\(image)"])
        let imported = copy.status == 0 ? runProcess([ctr, "--address", socket, "-n", "k8s.io", "images", "import", archive]) : copy
        guard imported.status == 0 else {
            stop()
            throw SetupError("cannot import \(image): \(imported.stderr)")
        }
    }

    func stop() {
        if ProcessInfo.processInfo.environment["KCTR_KEEP_LAB"] == "1" { return }
        _ = runProcess([Paths.lab, "down", base], timeout: 60)
    }

    func verify(_ args: [String], file: StaticString = #filePath, line: UInt = #line) throws -> VerifyOutput {
        let r = runProcess([Paths.kctr, "--address", socket, "verify-runtime", "--containerd-config", base + "/config.toml",
                            "--kubelet-config", base + "/no-kubelet.yaml", "-o", "json"] + args)
        return try VerifyOutput(parsing: r, file: file, line: line)
    }
}

/// Issue 14's "done when": on every containerd, started with its own default config and the pause image
/// imported, the daemon, config, snapshotter, pause and cgroup groups show no failure and no warning.
/// Which containerd: KCTR_CONTAINERD_DIR, as for the other integration tests.
final class VerifyDefaultConfigTests: XCTestCase {
    nonisolated(unsafe) static var lab: DefaultConfigLab?
    private static let lock = NSLock()

    static func shared() throws -> DefaultConfigLab {
        lock.lock()
        defer { lock.unlock() }
        if let lab { return lab }
        let l = try DefaultConfigLab()
        lab = l
        return l
    }

    override class func tearDown() { lab?.stop() }

    /// The host's cgroup v1 (this test machine's) is a true warning under containerd 2.2+: the only one
    /// allowed, and then it must be there.
    private func hostIsCgroupV1() -> Bool {
        !FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers")
            && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory")
    }

    func testNoFailureAndNoWarningWithTheVersionsOwnDefaultConfig() throws {
        let lab = try Self.shared()
        let out = try lab.verify(["--check", "daemon", "--check", "config", "--check", "snapshotter", "--check", "pause", "--check", "cgroup"])
        let expectedWarnings: Set<String> = hostIsCgroupV1() && lab.version.isAtLeast(2, 2) ? ["cgroup.v1"] : []
        var warnings: Set<String> = []
        for c in out.checks {
            let id = c["id"] as? String ?? ""
            let status = c["status"] as? String ?? ""
            XCTAssertNotEqual(status, "fail", "containerd \(lab.version): \(id): \(out.text(id))")
            if status == "warn" { warnings.insert(id) }
        }
        XCTAssertEqual(warnings, expectedWarnings, "containerd \(lab.version): " + warnings.map { "\($0): \(out.text($0))" }.joined(separator: "\n"))
        XCTAssertExit(out.run, 0)
        for id in ["config.version", "config.unknown-keys", "config.systemd-cgroup-placement", "config.drift", "snapshotter.plugin", "pause.present"] {
            XCTAssertEqual(out.status(id), "pass", "\(id): \(out.text(id))")
        }
        XCTAssertEqual(out.status("pause.pinned"), lab.version.pinsSandboxImage ? "pass" : "skip", out.text("pause.pinned"))
        XCTAssertTrue(out.text("pause.present").contains(lab.sandboxImage), out.text("pause.present"))
        // 2.x does not report the image half of its CRI config: drift says so rather than "runs with none".
        XCTAssertFalse(out.text("config.drift").contains("runs with none"), out.text("config.drift"))
        if lab.version.major >= 2 {
            XCTAssertTrue(out.text("snapshotter.plugin").contains("ImageFsInfo"), out.text("snapshotter.plugin"))
            XCTAssertTrue(out.text("config.drift").contains("sandbox image (pinned)"), out.text("config.drift"))
        }
    }

    /// The same daemon, its file edited and not reloaded: the edited SystemdCgroup without systemd is
    /// drift, and the cgroup check names this version's table.
    func testSystemdCgroupEditedIntoTheDefaultConfigIsDrift() throws {
        let lab = try Self.shared()
        let edited = lab.base + "/edited.toml"
        let text = try String(contentsOfFile: lab.base + "/config.toml", encoding: .utf8)
        try text.replacing("SystemdCgroup = false", with: "SystemdCgroup = true").write(toFile: edited, atomically: true, encoding: .utf8)
        let r = runProcess([Paths.kctr, "--address", lab.socket, "verify-runtime", "--containerd-config", edited,
                            "--kubelet-config", lab.base + "/no-kubelet.yaml", "-o", "json", "--check", "config"])
        let out = try VerifyOutput(parsing: r)
        XCTAssertEqual(out.status("config.drift"), "warn", out.text("config.drift"))
        XCTAssertTrue(out.text("config.drift").contains("SystemdCgroup in \(lab.version.major >= 2 ? "[plugins.'io.containerd.cri.v1.runtime'" : "[plugins.\"io.containerd.grpc.v1.cri\"").containerd.runtimes.runc.options] is true in the file but containerd runs with false"),
                      out.text("config.drift"))
    }
}
