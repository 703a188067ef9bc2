import Foundation
import KctrLab
import XCTest

/// `kctr stop`, `rm`, `stopp`, `rmp` (and `pods stop|rm`), `statsp` on real pods: each prints what it did
/// per object, keeps going past failures, exits 1 when any failed, refuses ambiguous prefixes and the
/// removal of what is running unless -f.
final class WorkloadChangeTests: XCTestCase {
    static let shared = SharedLab { lab in
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("kctr import failed: \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    /// The container's state in kctr's table words (crictl's document says CONTAINER_RUNNING...).
    func state(_ lab: Lab, _ id: String) -> String? {
        let doc = jsonObject(lab.kctr(["ps", "-a", "-o", "json"]).stdout) as? [String: Any]
        let rows = doc?["containers"] as? [[String: Any]] ?? []
        guard let s = rows.first(where: { $0["id"] as? String == id })?["state"] as? String else { return nil }
        return ["CONTAINER_CREATED": "Created", "CONTAINER_RUNNING": "Running", "CONTAINER_EXITED": "Exited"][s] ?? s
    }

    func exitCode(_ lab: Lab, _ id: String) -> Int? {
        let inspect = jsonObject(lab.kctr(["inspect", id]).stdout) as? [String: Any]
        return ((inspect?["status"] as? [String: Any])?["exitCode"] as? NSNumber)?.intValue
    }

    func testStopAndRemoveContainers() throws {
        let lab = try Self.shared.get()
        // "term" exits 0 on SIGTERM; "stubborn" ignores it and is killed after the grace period.
        let (pod, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "ctr-\(UUID().uuidString.prefix(4))", logDir: lab.base + "/logs-c"), containers: [
            ContainerSpec(name: "term", command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]),
            ContainerSpec(name: "stubborn", command: ["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"]),
            ContainerSpec(name: "idle", command: ["sleep", "3600"]),
        ])
        defer { try? PodFixture.removePod(socket: lab.socket, id: pod) }
        usleep(300_000)  // let the shells install their traps

        // A running container is not removed without -f; the failure names it and says what to do.
        let refused = lab.kctr(["rm", String(ids[0].prefix(8))])
        XCTAssertExit(refused, 1)
        XCTAssertTrue(refused.stderr.contains("kctr: cannot remove container \(ids[0].prefix(13)) (term in shop/"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("it is running (hint: stop it first (kctr stop \(ids[0].prefix(13))), or pass -f to stop and remove it)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("kctr: 1 of 1 container not removed"), refused.stderr)
        XCTAssertEqual(state(lab, ids[0]), "Running")

        // stop with crictl's --timeout: the trap runs (exit 0); the stubborn one is killed after 2 s.
        let stop = lab.kctr(["stop", "--timeout", "2", String(ids[0].prefix(10)), String(ids[1].prefix(10)), "nosuchid"])
        XCTAssertExit(stop, 1)
        XCTAssertTrue(stop.stdout.contains("stopped container \(ids[0].prefix(13)) (term in shop/"), stop.stdout)
        XCTAssertTrue(stop.stdout.contains("stopped container \(ids[1].prefix(13)) (stubborn in shop/"), stop.stdout)
        XCTAssertTrue(stop.stderr.contains("kctr: no container with ID nosuchid (hint: list them with `kctr ps -a -q`)"), stop.stderr)
        XCTAssertTrue(stop.stderr.contains("kctr: 1 of 3 containers not stopped"), stop.stderr)
        XCTAssertEqual(exitCode(lab, ids[0]), 0, "SIGTERM, handled")
        XCTAssertEqual(exitCode(lab, ids[1]), 137, "SIGKILL after the grace period")

        // rm: named before removed; -f stops the running one first.
        let rm = lab.kctr(["rm", "-f", ids[0], ids[2]])
        XCTAssertExit(rm, 0)
        let lines = rm.lines
        XCTAssertEqual(lines.first, "removing 2 containers:")
        XCTAssertTrue(lines.contains { $0.contains(String(ids[2].prefix(13))) && $0.hasSuffix("Running   stop, then remove") }, rm.stdout)
        XCTAssertTrue(lines.contains { $0.contains(String(ids[0].prefix(13))) && $0.hasSuffix("Exited    remove") }, rm.stdout)
        let stoppedAt = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("stopped container \(ids[2].prefix(13))") })
        let removedAt = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("removed container \(ids[2].prefix(13))") })
        XCTAssertLessThan(stoppedAt, removedAt)
        XCTAssertNil(state(lab, ids[0]))
        XCTAssertNil(state(lab, ids[2]))
        XCTAssertEqual(state(lab, ids[1]), "Exited")
    }

    func testAnAmbiguousPrefixIsRefused() throws {
        let lab = try Self.shared.get()
        // 17 containers: two of them share a first hex digit.
        let specs = (0..<17).map { ContainerSpec(name: "c\($0)", command: ["true"], start: false) }
        let (pod, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "many-\(UUID().uuidString.prefix(4))", logDir: lab.base + "/logs-m"), containers: specs)
        defer { try? PodFixture.removePod(socket: lab.socket, id: pod) }
        let all = lab.kctr(["ps", "-a", "-q"]).lines
        let shared = try XCTUnwrap(Dictionary(grouping: all, by: { $0.prefix(1) }).first { $0.value.count > 1 })
        for args in [["rm", String(shared.key)], ["stop", String(shared.key)]] {
            let r = lab.kctr(args)
            XCTAssertExit(r, 1)
            XCTAssertTrue(r.stderr.contains("kctr: container ID prefix \(shared.key) is ambiguous: "), r.stderr)
            XCTAssertTrue(r.stderr.contains("(hint: give more characters of the ID)"), r.stderr)
            XCTAssertFalse(r.stdout.contains("removed") || r.stdout.contains("stopped"), r.stdout)
        }
        XCTAssertEqual(Set(lab.kctr(["ps", "-a", "-q"]).lines), Set(all), "nothing was removed")
        XCTAssertEqual(Set(ids).subtracting(all), [])
    }

    func testStopAndRemovePods() throws {
        let lab = try Self.shared.get()
        let name = "pod-\(UUID().uuidString.prefix(4).lowercased())"
        let (pod, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: name, logDir: lab.base + "/logs-p"), containers: [
            ContainerSpec(name: "term", command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]),
        ])
        usleep(300_000)
        let refused = lab.kctr(["rmp", String(pod.prefix(12))])
        XCTAssertExit(refused, 1)
        XCTAssertTrue(refused.stderr.contains("kctr: cannot remove pod \(pod.prefix(13)) (shop/\(name)): it is ready (hint: stop it first (kctr stopp \(pod.prefix(13))), or pass -f to stop and remove it)"), refused.stderr)

        // stopp gives the containers --timeout to exit, then stops the sandbox.
        let stop = lab.kctr(["pods", "stop", "-t", "5", String(pod.prefix(12))])
        XCTAssertExit(stop, 0)
        XCTAssertEqual(stop.lines, ["stopped container \(ids[0].prefix(13)) (term in shop/\(name))", "stopped pod \(pod.prefix(13)) (shop/\(name))"])
        XCTAssertEqual(exitCode(lab, ids[0]), 0, "stopped gracefully, not killed with the sandbox")
        XCTAssertEqual(lab.kctr(["pods", "-q", "--name", "^\(name)$", "--state", "notready"]).lines, [pod])

        let rm = lab.kctr(["rmp", String(pod.prefix(12))])
        XCTAssertExit(rm, 0)
        XCTAssertEqual(rm.lines.first, "removing 1 pod:")
        XCTAssertTrue(rm.stdout.contains("removed pod \(pod.prefix(13)) (shop/\(name)) and its containers"), rm.stdout)
        XCTAssertEqual(lab.kctr(["pods", "-q", "--name", "^\(name)$"]).stdout, "")
        XCTAssertNil(state(lab, ids[0]))

        // --all keeps ready pods without -f; with -f, they are stopped and removed.
        let (ready, _) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: name + "-b", logDir: lab.base + "/logs-p"),
                                             containers: [ContainerSpec(name: "app", command: ["sleep", "3600"])])
        let kept = lab.kctr(["rmp", "-a"])
        XCTAssertExit(kept, 0)
        XCTAssertTrue(kept.stdout.contains("keeping pod \(ready.prefix(13)) (shop/\(name)-b, Ready): it is ready (pass -f to stop and remove it)"), kept.stdout)
        let forced = lab.kctr(["pods", "rm", "-f", String(ready.prefix(12))])
        XCTAssertExit(forced, 0)
        XCTAssertTrue(forced.stdout.contains("stopped pod \(ready.prefix(13))"), forced.stdout)
        XCTAssertTrue(forced.stdout.contains("removed pod \(ready.prefix(13))"), forced.stdout)
        XCTAssertEqual(lab.kctr(["pods", "-q", "--name", "^\(name)-b$"]).stdout, "")
    }

    func testPodStats() throws {
        let lab = try Self.shared.get()
        let name = "stats-\(UUID().uuidString.prefix(4).lowercased())"
        // The kubelet gives each pod a cgroup parent; containerd reads the pod's figures from it.
        let (pod, _) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: name, logDir: lab.base + "/logs-s",
                                                                            cgroupParent: "/kctr-test-\(name)"),
                                            containers: [ContainerSpec(name: "app", command: ["sleep", "3600"])])
        defer { try? PodFixture.removePod(socket: lab.socket, id: pod) }
        let r = lab.kctr(["statsp", "-o", "json", String(pod.prefix(10))])
        XCTAssertExit(r, 0)
        let rows = try XCTUnwrap(jsonObject(r.stdout) as? [[String: Any]])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows.first?["id"] as? String, pod)
        XCTAssertEqual(rows.first?["name"] as? String, name)
        XCTAssertEqual(rows.first?["containers"] as? Int, 1)
        XCTAssertGreaterThan(rows.first?["memoryWorkingSetBytes"] as? Int64 ?? 0, 0)
        XCTAssertNotNil(rows.first?["cpuPercent"] as? Double)
        let table = lab.kctr(["statsp", String(pod.prefix(10))])
        XCTAssertEqual(table.lines.first?.split(separator: " ", omittingEmptySubsequences: true).first, "POD")
        XCTAssertTrue(table.stdout.contains("shop/\(name)"), table.stdout)

        let unknown = lab.kctr(["statsp", "nosuchpod"])
        XCTAssertExit(unknown, 1)
        XCTAssertTrue(unknown.stderr.contains("kctr: no pod sandbox with ID nosuchpod (hint: list them with `kctr pods -q`)"), unknown.stderr)
    }

    func testUsageErrors() throws {
        let lab = try Self.shared.get()
        for (args, message) in [(["rm"], "name at least one ID to remove, or pass --all"),
                                (["rm", "-a", "abc"], "give IDs or --all, not both"),
                                (["rmp"], "name at least one ID to remove, or pass --all"),
                                (["stop"], "name at least one ID to stop"),
                                (["stopp", "--timeout", "soon", "abc"], "--timeout soon is not a number of seconds")] {
            let r = lab.kctr(args)
            XCTAssertExit(r, 64)
            XCTAssertTrue(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }
}

/// statsp, df and prune where CRI does not serve at all.
final class PodStatsWithoutCRITests: XCTestCase {
    func testStatspSaysCRIIsNotServingAndDfAndPruneGoOnWithoutIt() throws {
        let lab = try Lab(["--disable-cri"])
        defer { lab.stop() }
        let r = lab.kctr(["statsp"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("the CRI plugin is not serving on \(lab.socket)"), r.stderr)

        XCTAssertExit(lab.kctr(["import", try TestImages.path("all.oci.tar")]), 0)
        let df = lab.kctr(["df", "-o", "json"])
        XCTAssertExit(df, 0)
        let report = try DiskFixtures.json(df)
        XCTAssertNil(report["kubelet"], "no kubelet view without CRI")
        XCTAssertEqual((report["images"] as? [[String: Any]])?.count, 3)
        // Without CRI, kctr cannot know the sandbox image: it refuses to prune k8s.io; other namespaces are fine.
        for args in [["images", "prune", "--dry-run"], ["rmi", "--prune"]] {
            let prune = lab.kctr(args)
            XCTAssertExit(prune, 1)
            XCTAssertTrue(prune.stderr.contains("kctr: cannot prune images in k8s.io: CRI is not serving, so kctr cannot tell which image is the sandbox image or which are pinned (hint: fix the CRI plugin first"), prune.stderr)
        }
        XCTAssertEqual(lab.ctr(["images", "ls", "-q"]).lines.filter { !$0.hasPrefix("sha256:") }.count, 3)
        XCTAssertExit(lab.kctr(["-n", "other", "import", try TestImages.path("busybox.oci.tar")]), 0)
        let other = lab.kctr(["-n", "other", "images", "prune"])
        XCTAssertExit(other, 0)
        XCTAssertTrue(other.stdout.contains("removed docker.io/library/busybox:kctr-test"), other.stdout)
    }
}
