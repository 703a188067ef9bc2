import Foundation
import KctrLab
import KctrRPC
import XCTest

/// `kctr stats` on a real pod and `kctr events` following a private containerd.
final class StatsEventsTests: XCTestCase {
    nonisolated(unsafe) static var podID = ""
    nonisolated(unsafe) static var containerID = ""

    static let shared = SharedLab { lab in
        let r = lab.ctr(["images", "import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("ctr import failed: \(r.stderr)") }
        (podID, containerID) = try startPod(socket: lab.socket, logDir: lab.base + "/pod-logs")
    }

    override class func tearDown() { shared.stop() }

    /// A host-network sandbox and one busybox container.
    static func startPod(socket: String, logDir: String) throws -> (String, String) {
        let (pod, ids) = try PodFixture.start(socket: socket, pod: PodSpec(name: "stats-1", logDir: logDir, labels: ["app": "stats"]),
                                              containers: [ContainerSpec(name: "app", command: ["sh", "-c", "echo started; exec sleep 3600"])])
        guard let id = ids.first else { throw SetupError("no container started") }
        return (pod, id)
    }

    func json(_ r: Run) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    // MARK: stats

    func statsItems(_ r: Run) throws -> [[String: Any]] {
        try XCTUnwrap((try json(r) as? [String: Any])?["stats"] as? [[String: Any]], r.stdout)
    }

    func testStatsJSONListsTheContainerWithItsWorkingSet() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["stats", "-o", "json"])
        XCTAssertExit(r, 0)
        // crictl's document: {"stats": [ContainerStats]}, kctr's additions under kctr.
        let rows = try statsItems(r)
        let row = try XCTUnwrap(rows.first { ($0["attributes"] as? [String: Any])?["id"] as? String == Self.containerID }, r.stdout)
        let attributes = try XCTUnwrap(row["attributes"] as? [String: Any])
        XCTAssertEqual((attributes["metadata"] as? [String: Any])?["name"] as? String, "app")
        let extras = try XCTUnwrap(row["kctr"] as? [String: Any])
        XCTAssertEqual(extras["podName"] as? String, "stats-1")
        XCTAssertEqual(extras["podNamespace"] as? String, "shop")
        // protobuf's JSON: a uint64 is a string.
        let workingSet = try XCTUnwrap(((row["memory"] as? [String: Any])?["workingSetBytes"] as? [String: Any])?["value"] as? String)
        XCTAssertGreaterThan(Int(workingSet) ?? 0, 0, r.stdout)
        XCTAssertGreaterThanOrEqual(extras["cpuPercent"] as? Double ?? -1, 0, r.stdout)

        let yaml = lab.kctr(["stats", "-o", "yaml"])
        XCTAssertExit(yaml, 0)
        XCTAssertTrue(yaml.stdout.contains("workingSetBytes:"), yaml.stdout)
    }

    func testStatsByPrefixShowsOnlyThatContainer() throws {
        let lab = try Self.shared.get()
        let prefix = String(Self.containerID.prefix(8))
        let r = lab.kctr(["stats", prefix, "-o", "json"])
        XCTAssertExit(r, 0)
        XCTAssertEqual(try statsItems(r).compactMap { ($0["attributes"] as? [String: Any])?["id"] as? String }, [Self.containerID])

        let table = lab.kctr(["stats", prefix])
        XCTAssertExit(table, 0)
        XCTAssertEqual(table.lines.count, 2, table.stdout)
        let header = table.lines.first ?? ""
        for column in ["CONTAINER", "NAME", "POD", "CPU %", "MEM", "DISK", "INODES"] {
            XCTAssertTrue(header.contains(column), header)
        }
        XCTAssertTrue(table.lines.last?.hasPrefix(String(Self.containerID.prefix(13))) ?? false, table.stdout)
        XCTAssertTrue(table.stdout.contains("shop/stats-1"), table.stdout)

        // By pod, too; the sandbox itself is not a CRI container.
        let byPod = lab.kctr(["stats", "--pod", String(Self.podID.prefix(8)), "-o", "json"])
        XCTAssertExit(byPod, 0)
        XCTAssertEqual(try statsItems(byPod).compactMap { ($0["attributes"] as? [String: Any])?["id"] as? String }, [Self.containerID])
    }

    func testStatsUnknownIDFails() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["stats", "ffffffffffff"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("no container with ID ffffffffffff"), r.stderr)
        let pod = lab.kctr(["stats", "--pod", "ffffffffffff"])
        XCTAssertExit(pod, 1)
        XCTAssertTrue(pod.stderr.contains("no pod sandbox with ID"), pod.stderr)
    }

    // MARK: events

    /// `kctr events` in the background, its output in files.
    final class Follower: BackgroundKctr {
        /// Runs `trigger` (with a fresh number) once a second until a line satisfies `found`.
        func await(timeout: Double = 15, trigger: (Int) -> Void, found: (String) -> Bool) -> String? {
            let start = Date()
            var n = 0
            while Date().timeIntervalSince(start) < timeout && process.isRunning {
                n += 1
                trigger(n)
                for _ in 0..<10 {
                    usleep(100_000)
                    if let line = stdout.split(separator: "\n").map(String.init).first(where: found) { return line }
                }
            }
            return nil
        }
    }

    func tag(_ lab: Lab, _ name: String) {
        let r = lab.ctr(["images", "tag", "--force", "docker.io/library/busybox:kctr-test", name])
        XCTAssertExit(r, 0)
    }

    func testEventsJSONShowsAnImageCreateThenEndsOnSIGINT() throws {
        let lab = try Self.shared.get()
        let follower = try Follower(lab, ["events", "-o", "json"])
        let run = UUID().uuidString.prefix(6).lowercased()
        let line = follower.await(trigger: { tag(lab, "docker.io/library/busybox:ev-\(run)-\($0)") },
                                  found: { $0.contains("/images/create") && $0.contains("ev-\(run)-") })
        let event = try XCTUnwrap(line, "no /images/create event\nstdout: \(follower.stdout)\nstderr: \(follower.stderr)")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
        XCTAssertEqual(object["namespace"] as? String, "k8s.io")
        XCTAssertEqual(object["topic"] as? String, "/images/create")
        XCTAssertEqual(object["type"] as? String, "containerd.services.images.v1.ImageCreate")
        let payload = try XCTUnwrap(object["event"] as? [String: Any])
        XCTAssertTrue((payload["name"] as? String ?? "").hasPrefix("docker.io/library/busybox:ev-\(run)-"), event)
        XCTAssertNotNil(object["timestamp"] as? String)
        // Every line is one JSON object.
        for l in follower.stdout.split(separator: "\n") {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any], String(l))
        }

        kill(follower.process.processIdentifier, SIGINT)
        let took = follower.waitExit(timeout: 2)
        XCTAssertNotNil(took, "kctr events did not end within 2 s of SIGINT")
        XCTAssertEqual(follower.process.terminationStatus, 130, follower.stderr)
        XCTAssertTrue(follower.stderr.contains("interrupted by SIGINT"), follower.stderr)
    }

    func testEventsTopicAndFilterSelectServerSide() throws {
        let lab = try Self.shared.get()
        let run = UUID().uuidString.prefix(6).lowercased()
        // A topic prefix, in table mode.
        let byTopic = try Follower(lab, ["events", "--topic", "/images/"])
        var line = byTopic.await(trigger: { tag(lab, "docker.io/library/busybox:tp-\(run)-\($0)") },
                                 found: { $0.contains("tp-\(run)-") })
        var text = try XCTUnwrap(line, "stdout: \(byTopic.stdout)\nstderr: \(byTopic.stderr)")
        let fields = text.split(separator: " ", maxSplits: 3).map(String.init)
        XCTAssertEqual(fields.count, 4, text)
        XCTAssertEqual(fields.dropFirst().first, "k8s.io")
        XCTAssertTrue(fields[2].hasPrefix("/images/"), text)
        XCTAssertTrue(fields[3].hasPrefix("{") && fields[3].contains("\"name\":\"docker.io/library/busybox:tp-\(run)-"), text)
        XCTAssertFalse(byTopic.stdout.split(separator: "\n").contains { !$0.split(separator: " ")[2].hasPrefix("/images/") },
                       byTopic.stdout)
        kill(byTopic.process.processIdentifier, SIGINT)
        XCTAssertNotNil(byTopic.waitExit(timeout: 2))
        XCTAssertEqual(byTopic.process.terminationStatus, 130)

        // A raw filter and an explicit namespace: only k8s.io's image creations.
        let byFilter = try Follower(lab, ["events", "-n", "k8s.io", "--filter", "topic==\"/images/create\""])
        line = byFilter.await(trigger: { tag(lab, "docker.io/library/busybox:fl-\(run)-\($0)") },
                              found: { $0.contains("fl-\(run)-") })
        text = try XCTUnwrap(line, "stdout: \(byFilter.stdout)\nstderr: \(byFilter.stderr)")
        XCTAssertTrue(text.contains(" k8s.io /images/create {"), text)
        XCTAssertTrue(byFilter.stdout.split(separator: "\n").allSatisfy { $0.contains(" /images/create ") }, byFilter.stdout)
        kill(byFilter.process.processIdentifier, SIGINT)
        XCTAssertNotNil(byFilter.waitExit(timeout: 2))
        XCTAssertEqual(byFilter.process.terminationStatus, 130)
    }

    func testEventsBadFilterIsAUsageError() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["events", "--filter", "topic=="], timeout: 10)
        XCTAssertExit(r, 64)
        XCTAssertTrue(r.stderr.contains("containerd rejected the event filters"), r.stderr)
    }

    /// On its own daemon: containerd killed while kctr follows its events.
    func testEventsEndWhenTheDaemonDies() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let follower = try Follower(lab, ["events"])
        // Wait until the stream is up: an event published after start shows.
        var n = 0
        let seen = follower.await(trigger: { _ in
            n += 1
            _ = lab.ctr(["namespaces", "create", "ev-\(n)"], namespace: "default")
        }, found: { $0.contains("/namespaces/create") })
        XCTAssertNotNil(seen, "stdout: \(follower.stdout)\nstderr: \(follower.stderr)")
        let pidText = try String(contentsOfFile: lab.base + "/containerd.pid", encoding: .utf8)
        let pid = try XCTUnwrap(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        let took = follower.waitExit(timeout: 5)
        XCTAssertNotNil(took, "kctr events did not exit within 5 s of the daemon's death")
        XCTAssertEqual(follower.process.terminationStatus, 1, follower.stderr)
        XCTAssertTrue(follower.stderr.hasPrefix("kctr: "), follower.stderr)
        XCTAssertTrue(follower.stderr.contains("containerd at \(lab.socket)"), follower.stderr)
        XCTAssertTrue(follower.stderr.contains("journalctl -u containerd"), follower.stderr)
    }
}
