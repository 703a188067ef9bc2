import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// verify-runtime's daemon facts as the gatherer reads them from a daemon (the fake, answering as the recorded
/// 1.6.20, 1.7.34 and 2.3.4 did), then the `daemon` group's outcome: ok, warn, fail and skip paths end to end.
final class DaemonFactsOverFakeTests: XCTestCase {
    /// A daemon answering as `version` did when recorded (Fixtures/verify/recorded).
    static func recorded(_ version: String) throws -> FakeDaemon {
        var d = FakeDaemon()
        d.daemonVersion = DaemonVersion(version: version.hasPrefix("1.6") ? version + "~ds1" : "v" + version, revision: "abc123")
        d.pluginList = try VerifyFixtures.text("recorded/plugins-\(version).txt").split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count >= 4 else { return nil }
            return FakeCRI.plugin(f[0], f[1], initError: f[3] == "ok" ? nil : f[3] == "skip" ? "skip plugin" : "error")
        }
        d.criVersion = CRIVersion(version: "0.1.0", runtimeName: "containerd", runtimeVersion: version, runtimeApiVersion: "v1")
        d.criStatus = try VerifyFixtures.recordedStatus(version)
        // RuntimeConfig: 2.x answers it; 1.x does not implement it, which CRIAPI reports as no driver.
        d.cgroupDriverName = version.hasPrefix("2.") ? "cgroupfs" : nil
        d.imageFilesystems = ["/var/lab/root/io.containerd.snapshotter.v1.overlayfs"]
        return d
    }

    /// The gatherer's daemon facts for `groups`, in facts for the `daemon` group, and its results by id.
    private func gathered(_ d: FakeDaemon, groups: Set<VerifyGroup> = Set(VerifyGroup.allCases),
                          file: StaticString = #filePath, line: UInt = #line) async throws -> (VerifyFacts, [String: CheckResult]) {
        var f = VerifyFixtures.facts(socket: "/nonexistent/kctr-fake.sock")
        f.daemon = await VerifyGatherer.daemon(try d.session(), groups: groups)
        let results = DaemonGroup.results(f)
        XCTAssertEqual(results.map(\.id), Check.of(.daemon).map(\.id), file: file, line: line)
        return (f, byID(results, group: "daemon", file: file, line: line))
    }

    func testEachRecordedDaemonPassesWhatItAnswers() async throws {
        for version in VerifyFixtures.recordedVersions {
            let (f, c) = try await gathered(try Self.recorded(version))
            XCTAssertEqual(f.daemon.version?.revision, "abc123", version)
            XCTAssertEqual(f.daemon.plugins.value, try VerifyFixtures.recordedPlugins(version).sorted(), version)
            XCTAssertEqual(f.daemon.criVersion.value?.runtimeVersion, version)
            XCTAssertEqual(f.daemon.imageFilesystems.value, ["/var/lab/root/io.containerd.snapshotter.v1.overlayfs"])
            // RuntimeConfig absent before 2.0: known to be absent, not unknown.
            XCTAssertEqual(f.daemon.cgroupDriver, .known(version.hasPrefix("2.") ? "cgroupfs" : nil), version)
            XCTAssertNotNil(f.daemon.running, version)
            for id in ["daemon.socket", "daemon.version", "daemon.cri-plugin", "daemon.cri-serving"] {
                XCTAssertEqual(c[id]?.status, .pass, "\(version) \(id): \(c[id]?.found ?? "")")
            }
            XCTAssertEqual(c["daemon.cri-serving"]?.found, "CRI v1 answers: containerd \(version)")
            // Neither the kubelet's version nor containerd's environment is gathered here.
            XCTAssertEqual(c["daemon.kubelet-skew"]?.status, .skip)
            XCTAssertEqual(c["daemon.decompression"]?.status, .skip)
        }
    }

    /// 1.6 reports no deprecations at all (no Introspection.Server list, no CRI condition); 1.7 reports an empty
    /// list; 2.3.4's CRI condition names cgroup v1, which cgroup.v1 reports.
    func testDeprecationReportOfEachRecordedDaemon() async throws {
        var c = try await gathered(try Self.recorded("1.6.20")).1
        XCTAssertEqual(c["daemon.deprecations"]?.status, .skip)
        assertFound(c["daemon.deprecations"], "does not report deprecated features")

        c = try await gathered(try Self.recorded("1.7.34")).1
        XCTAssertEqual(c["daemon.deprecations"]?.status, .pass)
        XCTAssertEqual(c["daemon.deprecations"]?.found, "containerd reports no deprecated feature in use")

        c = try await gathered(try Self.recorded("2.3.4")).1
        XCTAssertEqual(c["daemon.deprecations"]?.status, .pass)
        XCTAssertEqual(c["daemon.deprecations"]?.found,
                       "containerd reports no deprecated feature in use (io.containerd.deprecation/cgroup-v1: see cgroup.v1)")
        XCTAssertTrue(c["daemon.deprecations"]?.evidence.contains("conditions[type=ContainerdHasNoDeprecationWarnings] = false") ?? false,
                      c["daemon.deprecations"]?.evidence ?? "")
    }

    /// Introspection.Server's own list on 2.x: each feature in use, with the fix its kind needs.
    func testDeprecationsReportedBy2xWarnWithTheirFix() async throws {
        var d = try Self.recorded("2.3.4")
        d.serverInfo = ServerInfo(uuid: "u", pid: 1234, pidNamespace: 0, deprecations: [
            DeprecationWarning(id: "io.containerd.deprecation/cri-registry-mirrors",
                               message: "The `mirrors` property of `[plugins.\"io.containerd.grpc.v1.cri\".registry]` is deprecated"),
        ])
        let (f, c) = try await gathered(d)
        XCTAssertEqual(f.daemon.server.value?.pid, 1234)
        let r = c["daemon.deprecations"]
        XCTAssertEqual(r?.status, .warn)
        XCTAssertEqual(r?.found, "containerd reports 1 deprecated feature in use: io.containerd.deprecation/cri-registry-mirrors: The `mirrors` property of `[plugins.\"io.containerd.grpc.v1.cri\".registry]` is deprecated (io.containerd.deprecation/cgroup-v1: see cgroup.v1)")
        assertFix(r, "hosts.toml", "systemctl restart containerd")
        XCTAssertTrue(r?.evidence.hasPrefix("Introspection.Server: deprecations; ") ?? false, r?.evidence ?? "")
    }

    /// CRI disabled (Docker's containerd package): not loaded, not serving, each with what to do.
    func testCRINotServingFailsPluginAndServing() async throws {
        var d = try Self.recorded("1.6.20")
        d.pluginList.removeAll { $0.type == "io.containerd.grpc.v1" && $0.id == "cri" }
        for method in ["runtime.v1.RuntimeService/Version", "runtime.v1.RuntimeService/Status", "runtime.v1.RuntimeService/RuntimeConfig",
                       "runtime.v1.ImageService/ImageFsInfo"] {
            d.failures[method] = .unimplemented
        }
        let (f, c) = try await gathered(d)
        XCTAssertNil(f.daemon.running)
        XCTAssertEqual(c["daemon.socket"]?.status, .pass)
        XCTAssertEqual(c["daemon.cri-plugin"]?.status, .fail)
        assertFound(c["daemon.cri-plugin"], "the CRI plugin io.containerd.grpc.v1.cri is not loaded")
        let serving = c["daemon.cri-serving"]
        XCTAssertEqual(serving?.status, .fail)
        XCTAssertEqual(serving?.found, "CRI Version (RuntimeService/Version): the CRI plugin is not serving on /nonexistent/kctr-fake.sock (fake Unimplemented for runtime.v1.RuntimeService/Version)")
        assertFix(serving, "disabled_plugins", "restart containerd")
        XCTAssertEqual(c["daemon.deprecations"]?.status, .skip)
    }

    /// Only the groups that need RuntimeConfig ask for it.
    func testRuntimeConfigIsAskedForTheCgroupGroupOnly() async throws {
        let d = try Self.recorded("2.3.4")
        let (f, _) = try await gathered(d, groups: [.daemon])
        XCTAssertEqual(f.daemon.cgroupDriver.problem?.message, "not gathered")
        XCTAssertEqual(d.calls.count("runtime.v1.RuntimeService/RuntimeConfig"), 0)
        _ = try await gathered(d, groups: [.daemon, .cgroup])
        XCTAssertEqual(d.calls.count("runtime.v1.RuntimeService/RuntimeConfig"), 1)
    }

    /// No answer to Version: the socket check fails with the explained error, everything else is skipped.
    func testUnansweredVersionFailsTheSocketAndSkipsTheRest() async throws {
        var d = try Self.recorded("2.3.4")
        d.failures["containerd.services.version.v1.Version/Version"] = .unavailable
        let (f, c) = try await gathered(d)
        XCTAssertFalse(f.daemon.reachable)
        XCTAssertEqual(c["daemon.socket"]?.status, .fail)
        XCTAssertEqual(c["daemon.socket"]?.found, "asking containerd for its version (Version/Version): cannot talk gRPC to /nonexistent/kctr-fake.sock: fake Unavailable for containerd.services.version.v1.Version/Version")
        assertFix(c["daemon.socket"], "systemctl status containerd")
        for id in ["daemon.version", "daemon.cri-plugin", "daemon.cri-serving", "daemon.deprecations", "daemon.decompression"] {
            XCTAssertEqual(c[id]?.status, .skip, id)
            XCTAssertEqual(c[id]?.found, DaemonGroup.unreachable, id)
        }
    }

    /// A plugin listing that timed out: the CRI plugin check cannot tell, so it skips.
    func testUnlistedPluginsSkipTheCRIPluginCheck() async throws {
        var d = try Self.recorded("1.7.34")
        d.failures["containerd.services.introspection.v1.Introspection/Plugins"] = .deadlineExceeded
        let (f, c) = try await gathered(d)
        XCTAssertTrue(f.daemon.plugins.problem?.message.hasPrefix("listing containerd's plugins (Introspection/Plugins): containerd at /nonexistent/kctr-fake.sock") ?? false,
                      f.daemon.plugins.problem?.message ?? "")
        XCTAssertEqual(c["daemon.cri-plugin"]?.status, .skip)
        XCTAssertEqual(c["daemon.cri-plugin"]?.found, "the daemon did not list its plugins")
        XCTAssertEqual(c["daemon.cri-serving"]?.status, .pass)
    }

    // MARK: The sandbox image (what depends on the first replies)

    /// The pause image CRI's config names, read as the gatherer reads it: CRI's ImageStatus, the k8s.io record
    /// resolved through its manifest and config to the snapshot, and the image each ready sandbox runs.
    func testPauseFactsResolveTheRecordToItsSnapshot() async throws {
        var d = try Self.recorded("1.7.34")
        let diffID = "sha256:" + String(repeating: "1", count: 64)
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(diffID)"]}}"#.utf8)
        let manifest = Array(("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"\(Digest.sha256(config))\",\"size\":\(config.count)},"
            + "\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:\(String(repeating: "2", count: 64))\",\"size\":300}]}").utf8)
        d.blobs = [Digest.sha256(config): config, Digest.sha256(manifest): manifest]
        d.imageRecords["k8s.io"] = [ImageRecord(name: "registry.k8s.io/pause:3.10", labels: [:], target: Descriptor(
            mediaType: "application/vnd.oci.image.manifest.v1+json", digest: Digest.sha256(manifest), size: Int64(manifest.count)))]
        d.snapshots = ["overlayfs/" + diffID]
        d.criImages = [FakeCRI.image(Digest.sha256(config), tags: ["registry.k8s.io/pause:3.10"], pinned: true)]
        let ready = FakeCRI.pod("p1", name: "web-1", namespace: "shop", createdAt: 1)
        let gone = FakeCRI.pod("p2", name: "old", namespace: "shop", ready: false, createdAt: 2)
        d.pods = [ready, gone]
        d.podStatuses["p1"] = FakeCRI.podStatus(ready, ip: nil, info: #"{"image":"registry.k8s.io/pause:3.10"}"#)
        // The session's namespace is not k8s.io: the record is still looked up there.
        let session = try d.session(namespace: "default")
        var f = VerifyFixtures.facts(socket: "/nonexistent/kctr-fake.sock")
        f.daemon = await VerifyGatherer.daemon(session, groups: [.pause])
        XCTAssertEqual(f.sandboxImage?.name, "registry.k8s.io/pause:3.10")

        let gathered = await VerifyGatherer.pause(session, f)
        let pause = try XCTUnwrap(gathered)
        XCTAssertEqual(pause.criImage.value??.pinned, true)
        XCTAssertEqual(pause.record.value??.name, "registry.k8s.io/pause:3.10")
        XCTAssertEqual(pause.resolved?.configDigest, Digest.sha256(config))
        XCTAssertEqual(pause.resolved?.unpacked, true)
        XCTAssertNil(pause.resolved?.problem)
        XCTAssertEqual(pause.sandboxes.value, [RunningSandbox(name: "web-1", namespace: "shop", image: "registry.k8s.io/pause:3.10")])
        XCTAssertEqual(d.calls.count("containerd.services.images.v1.Images/Get [k8s.io]"), 1)

        f.pause = pause
        let c = byID(PauseGroup.results(f), group: "pause")
        for id in ["pause.present", "pause.unpacked", "pause.pinned", "pause.in-use"] {
            XCTAssertEqual(c[id]?.status, .pass, "\(id): \(c[id]?.found ?? "")")
        }

        // The snapshot removed: not unpacked.
        d.snapshots = []
        let again = await VerifyGatherer.pause(try d.session(), f)
        let unpacked = try XCTUnwrap(again)
        XCTAssertEqual(unpacked.resolved?.unpacked, false)
    }
}
