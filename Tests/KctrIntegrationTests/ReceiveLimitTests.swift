import Foundation
import KctrLab
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
        try LabDaemon.run(socket: socket) { rpc in
            let api = ContainerdAPI(rpc).namespaced(namespace)
            guard let target = try await api.image(named: ContainerSpec.busybox)?.target else {
                throw SetupError("no image \(ContainerSpec.busybox)")
            }
            let label = String(repeating: "x", count: 4000)
            _ = try await LabDaemon.map(0..<count, jobs: 32) { i in
                try await api.createImage(ImageRecord(name: "docker.io/kctr/many:\(i)", labels: ["kctr.test/padding": label],
                                                      target: target)).name
            }
        }
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
