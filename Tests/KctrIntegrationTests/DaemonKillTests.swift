import Foundation
import XCTest

/// containerd killed in the middle of an import: kctr says so and exits; after
/// the daemon restarts, the same import succeeds and nothing of the failed
/// run is left (no image record, lease or ingest).
final class DaemonKillTests: XCTestCase {
    func testKilledDaemonDuringImportThenRetry() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let archive = lab.base + "-medium.tar"
        defer { try? FileManager.default.removeItem(atPath: archive) }
        let made = runProcess([Paths.root + "/scripts/make-big-archive", archive, "--layers", "2", "--layer-mib", "48",
                               "--name", "docker.io/kctr/medium:1.0"], timeout: 300)
        XCTAssertExit(made, 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.kctr)
        process.arguments = ["--address", lab.socket, "import", archive]
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Wait until the import holds its lease and is writing, then kill the daemon.
        var sawLease = false
        for _ in 0..<400 {
            if lab.ctr(["leases", "ls", "-q"]).lines.contains(where: { $0.hasPrefix("kctr-import-") }) { sawLease = true; break }
            usleep(10_000)
        }
        XCTAssertTrue(sawLease, "the import never took a lease")
        usleep(300_000)
        let pidText = try String(contentsOfFile: lab.base + "/containerd.pid", encoding: .utf8)
        let pid = try XCTUnwrap(Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        let started = Date()
        process.waitUntilExit()
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 1, stderr)
        XCTAssertLessThan(Date().timeIntervalSince(started), 15, "kctr must not hang after the daemon dies")
        XCTAssertTrue(stderr.contains("kctr: "), stderr)
        XCTAssertTrue(stderr.contains("containerd") || stderr.contains("Unavailable"), stderr)

        // Restart the same daemon (same root and state) and import again.
        let up = runProcess([Paths.lab, "up", lab.base], timeout: 60)
        XCTAssertExit(up, 0)
        XCTAssertEqual(lab.ctr(["images", "ls", "-q"]).stdout, "", "no partial image record")
        let again = lab.kctr(["import", archive], timeout: 300)
        XCTAssertExit(again, 0)
        XCTAssertEqual(lab.ctr(["images", "ls", "-q"]).lines.filter { !$0.hasPrefix("sha256:") }, ["docker.io/kctr/medium:1.0"])
        XCTAssertEqual(lab.ctr(["leases", "ls", "-q"]).stdout, "", "the dead import's lease is cleaned up too")
        XCTAssertEqual(lab.ctr(["content", "active"]).lines.dropFirst().filter { !$0.isEmpty }, [])
    }
}
