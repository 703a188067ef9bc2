import Foundation
import KctrLab
import KctrRPC
import XCTest

/// kctr-lab, the bench's and the fuzz seeds' fixtures (KctrLab through KctrRPC's typed messages), against a
/// private containerd: pods as the kubelet starts them, image names CRI lists, reply seeds the fuzz target reads,
/// and its errors.
final class LabToolTests: XCTestCase {
    static let shared = SharedLab { lab in
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("kctr import failed: \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    func labTool(_ args: [String], timeout: Double = 120) -> Run {
        runProcess([Paths.kctrLab] + args, timeout: timeout)
    }

    func testPodsTagsAndRepliesOnOneDaemon() throws {
        let lab = try Self.shared.get()
        let pods = labTool(["pods", lab.socket, "--count", "2", "--jobs", "2", "--log-dir", lab.base + "/lab-logs"])
        XCTAssertExit(pods, 0)
        let ids = pods.lines.map { $0.split(separator: " ").map(String.init) }
        XCTAssertEqual(ids.map(\.count), [2, 2], pods.stdout)
        let containers = ids.compactMap { $0.last }
        XCTAssertTrue(containers.allSatisfy { $0.count == 64 && $0.allSatisfy(\.isHexDigit) }, pods.stdout)
        // Running, under the kubelet's labels and log layout.
        let tasks = lab.ctr(["tasks", "ls"]).stdout
        for id in containers {
            XCTAssertTrue(tasks.split(separator: "\n").contains { $0.hasPrefix(id) && $0.hasSuffix("RUNNING") }, tasks)
        }
        let listed = try PodFixture.withCRI(socket: lab.socket) { cri in try await cri.listPodSandboxes() }
        XCTAssertEqual(Set(listed.filter { $0.namespace == "bench" }.map(\.name)), ["bench-000", "bench-001"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: lab.base + "/lab-logs/bench-001/app/0.log"))

        // Three names for the busybox image; kctr-lab returns once CRI lists them.
        let tags = labTool(["tags", lab.socket, ContainerSpec.busybox, "--count", "3", "--prefix", "docker.io/kctr/labtest"])
        XCTAssertExit(tags, 0)
        let criNames = try PodFixture.withCRI(socket: lab.socket) { cri in try await cri.listImages().flatMap(\.repoTags) }
        XCTAssertEqual(Set(criNames.filter { $0.hasPrefix("docker.io/kctr/labtest:") }),
                       ["docker.io/kctr/labtest:0", "docker.io/kctr/labtest:1", "docker.io/kctr/labtest:2"])

        // The seeds: the same files as the committed corpus (RuntimeConfig only where the daemon has it), each
        // of the type the committed seed of that name has, and each decoded by the fuzz target's door.
        let out = lab.base + "/seeds"
        XCTAssertExit(labTool(["replies", lab.socket, out]), 0)
        let corpus = Paths.root + "/Tests/KctrFuzzTests/Corpus/reply"
        let written = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        let committed = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix("handmade-") }
        XCTAssertEqual(Set(written).subtracting(["cri-runtime-config"]), Set(committed).subtracting(["cri-runtime-config"]))
        for name in written {
            let (type, bytes) = try seed(out + "/" + name)
            XCTAssertEqual(ReplyFuzzing.decode(type, bytes), .decoded, name)
            if let old = try? seed(corpus + "/" + name) { XCTAssertEqual(type, old.type, name) }
        }
        XCTAssertEqual(try seed(out + "/event-envelope").type, "containerd.services.events.v1.Envelope")
        XCTAssertEqual(lab.ctr(["images", "ls", "-q"]).lines.filter { $0.contains("seed:event") }, [], "the event's image is left")
    }

    func seed(_ path: String) throws -> (type: String, bytes: [UInt8]) {
        let data = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        guard let newline = data.firstIndex(of: 0x0A) else { throw SetupError("\(path) has no type line") }
        return (String(decoding: data[..<newline], as: UTF8.self), Array(data[(newline + 1)...]))
    }

    func testTagsOfAnImageNotThere() throws {
        let lab = try Self.shared.get()
        let r = labTool(["tags", lab.socket, "docker.io/kctr/absent:1", "--count", "3"])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stderr, "kctr-lab tags: image docker.io/kctr/absent:1 not found in namespace k8s.io "
                       + "(hint: import it first, e.g. ctr -n k8s.io images import ARCHIVE)\n")
    }

    func testRepliesOfAnEmptyNamespace() throws {
        let lab = try Self.shared.get()
        let r = labTool(["replies", lab.socket, lab.base + "/empty-seeds", "--namespace", "empty"])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stderr, "kctr-lab replies: no image in namespace empty to record replies about "
                       + "(hint: import the test images first)\n")
    }

    func testNoDaemon() throws {
        let socket = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-lab-none-\(UUID().uuidString.prefix(8)).sock").path
        let r = labTool(["pods", socket, "--count", "1"])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.hasPrefix("kctr-lab pods: ImageService/ImageStatus: Unavailable: "), r.stderr)
        XCTAssertTrue(r.stderr.hasSuffix(" (hint: is a lab daemon listening on \(socket)? start one with scripts/lab/containerd-lab up DIR)\n"),
                      r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testUsage() {
        let r = labTool(["tags", "/run/none.sock", "--count", "3"])
        XCTAssertExit(r, 64)
        XCTAssertTrue(r.stderr.contains("Missing expected argument '<sources> ...'"), r.stderr)
    }
}
