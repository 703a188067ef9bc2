import Foundation
import KctrLab
import KctrRPC
import XCTest

/// A pod on a bridge CNI network (Debian's containernetworking-plugins, a
/// private /24): kctr shows its IP; and `logs -f` across a rotation and
/// across the daemon's death.
final class PodNetworkTests: XCTestCase {
    func runPod(_ lab: Lab, network: Bool, command: [String]) throws -> (pod: String, container: String) {
        let imported = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard imported.status == 0 else { throw SetupError("kctr import failed: \(imported.stderr)") }
        let (pod, ids) = try PodFixture.start(socket: lab.socket,
                                              pod: PodSpec(name: "net-1", logDir: lab.base + "/pod-logs", hostNetwork: !network),
                                              containers: [ContainerSpec(name: "c", command: command)])
        guard let id = ids.first else { throw SetupError("no container started") }
        return (pod, id)
    }

    func testPodOnABridgeNetworkHasAnIP() throws {
        let lab = try Lab(["--cni", "--cni-subnet", "10.88.231.0/24"])
        defer { lab.stop() }
        let (pod, _) = try runPod(lab, network: true, command: ["sleep", "3600"])
        let r = lab.kctr(["inspectp", pod])
        XCTAssertExit(r, 0)
        let item = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let status = try XCTUnwrap(item["status"] as? [String: Any])
        let ip = try XCTUnwrap((status["network"] as? [String: Any])?["ip"] as? String)
        XCTAssertTrue(ip.hasPrefix("10.88.231."), ip)
        XCTAssertEqual(lab.kctr(["pods", "-q", "--state", "ready"]).lines, [pod])
        let info = lab.kctr(["info", "-o", "json"])
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any])
        let conditions = try XCTUnwrap((document["status"] as? [String: Any])?["conditions"] as? [[String: Any]])
        XCTAssertEqual(conditions.first { $0["type"] as? String == "NetworkReady" }?["status"] as? Bool, true)
        // Stop the sandbox so the lab tears its network down cleanly.
        XCTAssertExit(runProcess([lab.ctrPath, "--address", lab.socket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", pod]), 0)
    }

    func testFollowSurvivesRotationAndReportsTheDaemonsDeath() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let (_, cid) = try runPod(lab, network: false,
                                  command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"])
        let logPath = lab.base + "/pod-logs/c/0.log"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.kctr)
        process.arguments = ["--address", lab.socket, "logs", "-f", cid]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        usleep(800_000)
        // Rotate as the kubelet does: rename the file away, then the runtime reopens a new one.
        try FileManager.default.moveItem(atPath: logPath, toPath: logPath + ".20260101-000000")
        // containerd 1.6 reopens the log on CRI ReopenContainerLog; write the new file by hand instead.
        FileManager.default.createFile(atPath: logPath, contents: Data("2026-01-01T00:00:00Z stdout F after-rotation\n".utf8))
        usleep(800_000)
        let pidText = try String(contentsOfFile: lab.base + "/containerd.pid", encoding: .utf8)
        kill(try XCTUnwrap(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines))), SIGKILL)
        let started = Date()
        process.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "logs -f must not hang when the daemon dies")
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertTrue(stdout.hasPrefix("tick-1\n"), stdout)
        XCTAssertTrue(stdout.contains("after-rotation\n"), stdout)
        XCTAssertTrue(stderr.contains("following the log of container"), stderr)
        XCTAssertTrue(stderr.contains("containerd at \(lab.socket) stopped answering"), stderr)
        XCTAssertTrue(stderr.contains("journalctl -u containerd"), stderr)
    }
}
