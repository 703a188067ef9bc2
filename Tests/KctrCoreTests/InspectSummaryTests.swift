import Foundation
import XCTest
@testable import KctrCore

/// `inspect -o table` / `inspectp -o table` from documents containerd 1.6.20 returned (trimmed runtimeSpec).
final class InspectSummaryTests: XCTestCase {
    private func fixture(_ name: String) throws -> JSONValue {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/inspect"),
                                "fixture inspect/\(name).json is not in the test bundle")
        return try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    private func value(_ lines: [InspectSummary.Line], _ key: String) -> String? {
        lines.first { $0.key == key }?.value
    }

    func testExitedContainer() throws {
        let lines = InspectSummary.container(try fixture("container-exited"))
        XCTAssertEqual(value(lines, "CONTAINER"), "089012a1f2ed114ccd4b459126ed5c5693ab2063e160af2ef9ede1c4e69f8c22")
        XCTAssertEqual(value(lines, "name"), "printer (attempt 1), pod shop/web-1 7dbd672e02b83")
        XCTAssertEqual(value(lines, "state"), "Exited, exit code 3, reason Error")
        XCTAssertEqual(value(lines, "mounts"), "/var/lib/kubelet/pods/x/volumes/cfg -> /etc/cfg (ro)")
        XCTAssertEqual(value(lines, "log"), "/tmp/lab/pod-logs/printer/1.log")
        XCTAssertEqual(value(lines, "runtime options"),
                       "root=/tmp/lab/runc, systemd_cgroup=true; cgroup driver systemd (SystemdCgroup = true)")
        XCTAssertNotEqual(value(lines, "finished"), "-")
        XCTAssertTrue(value(lines, "image")?.hasPrefix("docker.io/library/busybox:kctr-test (sha256:") ?? false)
    }

    func testHostNetworkPod() throws {
        let lines = InspectSummary.pod(try fixture("pod-host-network"))
        XCTAssertEqual(value(lines, "name"), "web-1 (namespace shop, uid uid-web-1, attempt 0)")
        XCTAssertEqual(value(lines, "state")?.hasPrefix("Ready, pause process running, pid "), true)
        XCTAssertEqual(value(lines, "namespaces"), "network node (host), pid pod, ipc pod")
        XCTAssertEqual(value(lines, "pause image"), "registry.k8s.io/pause:3.9")
        XCTAssertEqual(value(lines, "runtime"), "handler (default), io.containerd.runc.v2")
        XCTAssertEqual(value(lines, "runtime options"), "root=/tmp/lab/runc; cgroup driver cgroupfs (SystemdCgroup = false)")
        XCTAssertEqual(value(lines, "containers")?.split(separator: "\n").count, 3)
    }

    func testPodNetworkShowsIPsAndRenderAlignsKeys() {
        let doc = JSONValue.object([
            "status": .object([
                "id": .string("abc"), "state": .number(1),
                "network": .object(["ip": .string("10.88.0.4"), "additionalIps": .array([.object(["ip": .string("fd00::4")])])]),
                "linux": .object(["namespaces": .object(["options": .object(["network": .number(0)])])]),
            ]),
            "info": .object(["info": .object([:])]),
            "containers": .array([]),
        ])
        let lines = InspectSummary.pod(doc)
        XCTAssertEqual(value(lines, "state"), "NotReady")
        XCTAssertEqual(value(lines, "namespaces"), "network pod, pid pod, ipc pod, IP 10.88.0.4, fd00::4")
        XCTAssertEqual(value(lines, "containers"), "none")
        let text = InspectSummary.render([[("a", "1"), ("long key", "x\ny")], [("b", "2")]])
        XCTAssertEqual(text, "a:        1\nlong key: x\n          y\n\nb: 2\n")
    }
}
