import Foundation
import XCTest
@testable import KctrCommands

final class GlobalArgumentsTests: XCTestCase {
    private func hoist(_ args: [String]) -> [String] { GlobalArguments.hoist(args) }

    func testShortAddressWithValue() {
        XCTAssertEqual(hoist(["-a", "/s", "images", "ls"]), ["images", "ls", "--address", "/s"])
    }

    func testLongAddressWithEquals() {
        XCTAssertEqual(hoist(["--address=/s", "images", "ls"]), ["images", "ls", "--address=/s"])
        XCTAssertEqual(hoist(["--address", "/s", "images", "ls"]), ["images", "ls", "--address", "/s"])
    }

    func testDebugFlag() {
        XCTAssertEqual(hoist(["--debug", "images", "ls"]), ["images", "ls", "--debug"])
    }

    func testNamespaceKeepsTheCommandsOwnArguments() {
        XCTAssertEqual(hoist(["-n", "k8s.io", "images", "ls", "-q"]), ["images", "ls", "-q", "--namespace", "k8s.io"])
    }

    func testSeveralLeadingOptionsKeepTheirOrder() {
        XCTAssertEqual(hoist(["-n", "k8s.io", "--debug", "--timeout", "5s", "--crictl-config=/c.yaml", "--max-recv-size", "32", "plugins", "ls"]),
                       ["plugins", "ls", "--namespace", "k8s.io", "--debug", "--timeout", "5s", "--crictl-config=/c.yaml", "--max-recv-size", "32"])
    }

    func testNothingToHoist() {
        XCTAssertEqual(hoist([]), [])
        XCTAssertEqual(hoist(["images", "ls", "-a", "/s"]), ["images", "ls", "-a", "/s"])
        XCTAssertEqual(hoist(["version"]), ["version"])
        XCTAssertEqual(hoist(["--help"]), ["--help"])
    }

    func testStopsAtTheFirstNonGlobalArgument() {
        // "-q" is not global: it and everything after stay in place.
        XCTAssertEqual(hoist(["-q", "-a", "/s", "images"]), ["-q", "-a", "/s", "images"])
        XCTAssertEqual(hoist(["--debug=true", "images"]), ["--debug=true", "images"])
    }

    func testDoubleDashSeparator() {
        XCTAssertEqual(hoist(["-a", "/s", "images", "rm", "--", "-weird-name"]),
                       ["images", "rm", "--address", "/s", "--", "-weird-name"])
        XCTAssertEqual(hoist(["--debug", "--", "images"]), ["--debug", "--", "images"])
        XCTAssertEqual(hoist(["--", "-a", "/s"]), ["--", "-a", "/s"])
    }

    func testOptionWithoutValueAtTheEnd() {
        XCTAssertEqual(hoist(["-a"]), ["--address"])
        XCTAssertEqual(hoist(["images", "-n"]), ["images", "-n"])
    }

    func testAfterTheCommandNothingIsRewritten() {
        // The command's own flags (crictl's ps -a, pods --namespace) are declared by the command itself.
        XCTAssertEqual(hoist(["ps", "-a"]), ["ps", "-a"])
        XCTAssertEqual(hoist(["pods", "--namespace", "kube-.*"]), ["pods", "--namespace", "kube-.*"])
        XCTAssertEqual(hoist(["-a", "/s", "ps", "-a", "-q"]), ["ps", "-a", "-q", "--address", "/s"])
    }

    func testLeadingNamespaceBeforePodsIsContainerdsNamespace() {
        XCTAssertEqual(hoist(["-n", "k8s.io", "pods", "--namespace", "shop"]),
                       ["pods", "--namespace", "shop", "--containerd-namespace", "k8s.io"])
        XCTAssertEqual(hoist(["--namespace=k8s.io", "pods", "ls"]), ["pods", "ls", "--containerd-namespace=k8s.io"])
        XCTAssertEqual(hoist(["-n", "k8s.io", "pods", "-q"]), ["pods", "-q", "--containerd-namespace", "k8s.io"])
        // Not for inspecting: inspectp has no namespace of its own.
        XCTAssertEqual(hoist(["-n", "x", "pods", "inspect", "ID"]), ["pods", "inspect", "ID", "--namespace", "x"])
    }
}
