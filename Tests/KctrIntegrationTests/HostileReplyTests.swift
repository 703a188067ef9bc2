import Foundation
import XCTest

/// A server on the socket that is not containerd and answers every call with the same crafted bytes: kctr
/// (root on a node) refuses a reply that would cost far more memory to decode than its size.
final class HostileReplyTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-hostile-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func testDenseReplyIsRefusedAndSaysWhatToCheck() throws {
        // 1 MiB of empty Image records: 2 bytes each on the wire, hundreds of bytes each decoded.
        let reply = (0..<(1 << 20)).map { i -> UInt8 in i % 2 == 0 ? 0x0a : 0x00 }
        let server = try ReplyServer(path: dir + "/hostile.sock", reply: reply, dir: dir)
        defer { server.stop() }
        let r = runProcess([Paths.kctr, "--address", server.path, "images", "ls"])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("kctr: listing images in namespace k8s.io (Images/List): the daemon's reply (a containerd.services.images.v1.ListImagesResponse "
            + "of 1048576 bytes) was refused as too large to decode: it would take more than 24 MiB of memory"), r.stderr)
        XCTAssertTrue(r.stderr.contains("(hint: containerd's replies decode to a few times their size; one this dense comes from a broken or "
            + "foreign server: check what listens on \(server.path)"), r.stderr)
    }

    func testOrdinaryReplyFromTheSameServerDecodes() throws {
        // The control: one image record named x, from the same server.
        let server = try ReplyServer(path: dir + "/plain.sock", reply: [0x0a, 0x03, 0x0a, 0x01, 0x78], dir: dir)
        defer { server.stop() }
        let r = runProcess([Paths.kctr, "--address", server.path, "images", "ls", "-q"])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout, "x\n")
    }
}

/// A gRPC server (Debian's python3-grpcio) that answers every unary call with `reply`.
final class ReplyServer {
    let path: String
    private let process: Process

    init(path: String, reply: [UInt8], dir: String) throws {
        self.path = path
        let replyFile = dir + "/reply-\(UUID().uuidString.prefix(8))"
        try Data(reply).write(to: URL(fileURLWithPath: replyFile))
        let script = """
        import sys, grpc
        from concurrent import futures
        reply = open(sys.argv[2], "rb").read()
        class Any(grpc.GenericRpcHandler):
            def service(self, details):
                return grpc.unary_unary_rpc_method_handler(lambda request, context: reply)
        server = grpc.server(futures.ThreadPoolExecutor(2), options=[("grpc.max_send_message_length", 64 << 20)])
        server.add_generic_rpc_handlers((Any(),))
        server.add_insecure_port("unix:" + sys.argv[1])
        server.start()
        server.wait_for_termination()
        """
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, path, replyFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<500 where !FileManager.default.fileExists(atPath: path) { usleep(10_000) }
        guard FileManager.default.fileExists(atPath: path) else {
            process.terminate()
            throw SetupError("the python3-grpcio reply server did not start (apt-get install python3-grpcio)")
        }
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }
}
