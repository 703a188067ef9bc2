import Foundation
import XCTest

/// containerd killed in the middle of an import: kctr says so and exits; after
/// the daemon restarts, the same import succeeds and nothing of the failed
/// run is left (no image record, lease or ingest).
final class DaemonKillTests: XCTestCase {
    /// A 96 MiB, two-layer archive, made once per test process.
    static func mediumArchive() throws -> String {
        let archive = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-medium.tar").path
        if FileManager.default.fileExists(atPath: archive) { return archive }
        let made = runProcess([Paths.root + "/scripts/lab/make-big-archive.py", archive + ".part", "--layers", "2", "--layer-mib", "48",
                               "--name", "docker.io/kctr/medium:1.0"], timeout: 300)
        guard made.status == 0 else { throw SetupError("make-big-archive failed: \(made.stderr)") }
        try FileManager.default.moveItem(atPath: archive + ".part", toPath: archive)
        return archive
    }

    /// Starts `kctr import` and returns once it holds its lease.
    func startImport(_ lab: Lab, _ archive: String, errPipe: Pipe) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.kctr)
        process.arguments = ["--address", lab.socket, "import", archive]
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<400 {
            if lab.ctr(["leases", "ls", "-q"]).lines.contains(where: { $0.hasPrefix("kctr-import-") }) { return process }
            usleep(10_000)
        }
        XCTFail("the import never took a lease")
        return process
    }

    func testCtrlCDuringImportReleasesEverything() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let archive = try Self.mediumArchive()
        let errPipe = Pipe()
        let process = try startImport(lab, archive, errPipe: errPipe)
        usleep(200_000)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: errPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 130, stderr)
        XCTAssertTrue(stderr.contains("kctr: interrupted by SIGINT"), stderr)
        XCTAssertEqual(lab.ctr(["leases", "ls", "-q"]).stdout, "", "the lease is released on Ctrl-C")
        XCTAssertEqual(lab.ctr(["images", "ls", "-q"]).stdout, "")
        // The ingest in flight is aborted (or collected with the lease) within a moment.
        var active: [String] = []
        for _ in 0..<50 {
            active = lab.ctr(["content", "active"]).lines.dropFirst().filter { !$0.isEmpty }
            if active.isEmpty { break }
            usleep(100_000)
        }
        XCTAssertEqual(active, [])
    }

    func testKilledDaemonDuringImportThenRetry() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let archive = try Self.mediumArchive()

        let errPipe = Pipe()
        // Wait until the import holds its lease and is writing, then kill the daemon.
        let process = try startImport(lab, archive, errPipe: errPipe)
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
