import Foundation
import KctrRPC
import XCTest

/// A node with thousands of images: the image list is larger than gRPC's
/// default 4 MiB receive limit, and kctr must still list it.
final class ReceiveLimitTests: XCTestCase {
    static let namespace = "many"
    static let count = 1_200
    static let shared = SharedLab { lab in
        let r = lab.ctr(["images", "import", try TestImages.path("busybox.oci.tar")], namespace: namespace)
        guard r.status == 0 else { throw SetupError("ctr import failed: \(r.stderr)") }
        try createImages(socket: lab.socket)
    }

    override class func tearDown() { shared.stop() }

    /// Creates `count` image records with 4 KB of labels each, through the
    /// RPC layer (ctr would need minutes for this many).
    static func createImages(socket: String) throws {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var failure: Error?
        Task {
            do {
                let channel = try RPCChannel(target: "unix://\(socket)")
                let rpc = RPCClient(channel: channel, options: CallOptions(
                    timeoutMilliseconds: 30_000, metadata: [("containerd-namespace", namespace)]))
                let api = ContainerdAPI(rpc)
                guard let target = try await api.image(named: "docker.io/library/busybox:kctr-test")?.target else {
                    throw SetupError("no image docker.io/library/busybox:kctr-test")
                }
                let label = String(repeating: "x", count: 4000)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<count {
                        if i >= 32 { try await group.next() }
                        group.addTask {
                            _ = try await api.createImage(ImageRecord(name: "docker.io/kctr/many:\(i)", labels: ["kctr.test/padding": label],
                                                                      target: target))
                        }
                    }
                    try await group.waitForAll()
                }
            } catch {
                failure = error
            }
            done.signal()
        }
        done.wait()
        if let failure { throw failure }
    }

    func testListsMoreThanFourMiB() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["-n", Self.namespace, "images", "ls", "-q"])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.lines.count, Self.count + 1)
        XCTAssertEqual(r.lines.count, lab.ctr(["images", "ls", "-q"], namespace: Self.namespace).lines.count)
        let table = lab.kctr(["-n", Self.namespace, "images", "ls"])
        XCTAssertExit(table, 0)
        XCTAssertEqual(table.lines.count, Self.count + 2)
        XCTAssertTrue(table.lines.dropFirst().allSatisfy { $0.contains("linux/amd64") })
    }

    func testLimitIsConfigurableAndItsErrorSaysHow() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["-n", Self.namespace, "--max-recv-size", "4", "images", "ls", "-q"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("ResourceExhausted"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--max-recv-size"), r.stderr)
    }
}
