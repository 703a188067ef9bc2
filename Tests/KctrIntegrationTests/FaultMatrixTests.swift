import Foundation
import XCTest

/// A daemon that fails (issue 7): containerd SIGKILLed at set points of an
/// import and an export, a daemon that accepts connections but never answers,
/// and a full disk under containerd's root. Each case checks kctr's exit code
/// and message, that it does not hang (a deadline on the process), and what
/// the daemon holds afterwards, with ctr. README "A daemon that fails" has the
/// matrix. (`logs -f` and `events` with a killed daemon: PodNetworkTests and
/// StatsEventsTests.)
final class FaultMatrixTests: XCTestCase {
    // MARK: helpers

    /// kctr in the background, its output in files.
    typealias Background = BackgroundKctr

    func killDaemon(_ lab: Lab) throws {
        let text = try String(contentsOfFile: lab.base + "/containerd.pid", encoding: .utf8)
        let pid = try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        // Gone for good before anything else runs (the socket file stays, as after a real crash).
        for _ in 0..<500 where kill(pid, 0) == 0 { usleep(10_000) }
    }

    /// Starts containerd again on the same root, state and socket.
    func restart(_ lab: Lab, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertExit(runProcess([Paths.lab, "up", lab.base], timeout: 60), 0, file: file, line: line)
    }

    func rows(_ lab: Lab, _ args: [String]) -> [String] {
        lab.ctr(args).lines.dropFirst().filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    func leases(_ lab: Lab) -> [String] { lab.ctr(["leases", "ls", "-q"]).lines }
    func images(_ lab: Lab) -> [String] { lab.ctr(["images", "ls", "-q"]).lines.filter { !$0.hasPrefix("sha256:") } }
    func content(_ lab: Lab) -> Set<String> { Set(lab.ctr(["content", "ls", "-q"]).lines) }

    /// Polls until `value` is `expected` (GC runs after a lease goes, not at once).
    func eventually<T: Equatable>(_ expected: T, timeout: Double = 10, _ value: () -> T) -> T {
        let start = Date()
        var last = value()
        while last != expected && Date().timeIntervalSince(start) < timeout {
            usleep(100_000)
            last = value()
        }
        return last
    }

    /// Nothing of a failed run: no lease, no ingest, no extract snapshot, no
    /// image record other than `images`, no blob other than `keep`.
    func assertClean(_ lab: Lab, images expected: [String] = [], keep: Set<String> = [], _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(leases(lab), [], "\(what): leases", file: file, line: line)
        XCTAssertEqual(eventually([]) { rows(lab, ["content", "active"]) }, [], "\(what): ingests", file: file, line: line)
        XCTAssertEqual(images(lab).sorted(), expected.sorted(), "\(what): image records", file: file, line: line)
        XCTAssertEqual(eventually(keep) { content(lab) }, keep, "\(what): blobs", file: file, line: line)
        XCTAssertEqual(eventually([]) { rows(lab, ["snapshots", "ls"]).filter { $0.contains("extract-") } }, [],
                       "\(what): half-unpacked snapshots", file: file, line: line)
    }

    /// The message every kill case shares: which step, that containerd went away, what to do.
    func assertStopped(_ stderr: String, step: String, _ lab: Lab, file: StaticString = #filePath, line: UInt = #line) {
        let errors = stderr.split(separator: "\n").filter { !$0.hasPrefix("kctr: debug: ") }
        XCTAssertEqual(errors.count, 1, "one error line: \(stderr)", file: file, line: line)
        XCTAssertTrue(errors.first?.hasPrefix("kctr: ") == true, stderr, file: file, line: line)
        XCTAssertTrue(stderr.contains(step), "expected \(step) in: \(stderr)", file: file, line: line)
        XCTAssertTrue(stderr.contains("containerd at \(lab.socket) stopped answering"), stderr, file: file, line: line)
        XCTAssertTrue(stderr.contains("journalctl -u containerd"), stderr, file: file, line: line)
    }

    /// The daemon stays down until kctr gives up (--timeout 2s): kctr names the
    /// lease it leaves; after the restart that lease is still there, and the
    /// next kctr import (of another image) removes it and everything it held.
    func checkLeftBehindThenNextImport(_ lab: Lab, _ run: Background, step: String,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let took = run.waitExit(timeout: 30)
        XCTAssertNotNil(took, "kctr hung after the daemon died", file: file, line: line)
        let stderr = run.stderr
        XCTAssertEqual(run.process.terminationStatus, 1, stderr, file: file, line: line)
        assertStopped(stderr, step: step, lab, file: file, line: line)
        XCTAssertTrue(stderr.contains("containerd did not answer again within 2s"), stderr, file: file, line: line)
        XCTAssertTrue(stderr.contains("the next kctr import removes what this one left"), stderr, file: file, line: line)

        restart(lab, file: file, line: line)
        let left = leases(lab)
        XCTAssertEqual(left.count, 1, "the dead run's lease, until the next import: \(left)", file: file, line: line)
        XCTAssertTrue(stderr.contains("ctr -n k8s.io leases rm \(left.first ?? "?")"), stderr, file: file, line: line)
        XCTAssertEqual(images(lab), [], "no image record from the failed run", file: file, line: line)

        let next = lab.kctr(["import", try TestImages.path("busybox.oci.tar")], timeout: 120)
        XCTAssertExit(next, 0, file: file, line: line)
        // busybox's manifest, config and layer only, once GC has run after the dead lease went.
        XCTAssertEqual(eventually(3) { content(lab).count }, 3, "blobs: \(content(lab))", file: file, line: line)
        assertClean(lab, images: ["docker.io/library/busybox:kctr-test"], keep: content(lab), "after the next import",
                    file: file, line: line)
    }

    /// The daemon is restarted while kctr waits for it (default --timeout 10s):
    /// kctr releases its lease itself and nothing of the run is left. The
    /// restart waits until kctr is in its wait (its --debug line), so that the
    /// failed step is not simply retried on the new daemon.
    func checkRestartedWithinDeadline(_ lab: Lab, _ run: Background, step: String,
                                      file: StaticString = #filePath, line: UInt = #line) {
        let waiting = run.wait { run.stderr.contains("more to release lease kctr-import-") }
        XCTAssertTrue(waiting, "kctr never waited for the daemon: \(run.stderr)", file: file, line: line)
        restart(lab, file: file, line: line)
        let took = run.waitExit(timeout: 30)
        XCTAssertNotNil(took, "kctr hung after the daemon died", file: file, line: line)
        let stderr = run.stderr
        XCTAssertEqual(run.process.terminationStatus, 1, stderr, file: file, line: line)
        assertStopped(stderr, step: step, lab, file: file, line: line)
        XCTAssertTrue(stderr.contains("containerd came back and kctr removed what this import had written"), stderr,
                      file: file, line: line)
        assertClean(lab, "right after kctr exits", file: file, line: line)
    }

    func startImport(_ lab: Lab, timeout: String?, debug: Bool = false) throws -> Background {
        var args = timeout.map { ["--timeout", $0] } ?? []
        if debug { args.append("--debug") }
        return try Background(lab, args + ["import", try DaemonKillTests.mediumArchive()])
    }

    /// Waits until the import streams a blob (an ingest of kctr's shows in `ctr content active`).
    func waitForUpload(_ lab: Lab, _ run: Background) {
        let seen = run.wait { rows(lab, ["content", "active"]).contains { $0.hasPrefix("kctr-import-") } }
        XCTAssertTrue(seen, "no ingest of kctr's showed up: \(run.stderr)")
    }

    /// Waits until the import has prepared a snapshot and is applying a layer (Diff/Apply in flight).
    func waitForUnpack(_ run: Background) {
        let seen = run.wait { run.stderr.contains("rpc /containerd.services.snapshots.v1.Snapshots/Prepare") }
        XCTAssertTrue(seen, "the import never prepared a snapshot: \(run.stderr)")
    }

    // MARK: import, killed while streaming a blob

    func testImportKilledDuringUploadDaemonStaysDown() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try startImport(lab, timeout: "2s")
        waitForUpload(lab, run)
        try killDaemon(lab)
        try checkLeftBehindThenNextImport(lab, run, step: "to the content store (Content/Write)")
    }

    func testImportKilledDuringUploadDaemonRestarted() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try startImport(lab, timeout: nil, debug: true)
        waitForUpload(lab, run)
        try killDaemon(lab)
        checkRestartedWithinDeadline(lab, run, step: "to the content store (Content/Write)")
    }

    // MARK: import, killed while a layer is applied

    func testImportKilledDuringUnpackDaemonStaysDown() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try startImport(lab, timeout: "2s", debug: true)
        waitForUnpack(run)
        try killDaemon(lab)
        try checkLeftBehindThenNextImport(lab, run, step: "into overlayfs (Diff/Apply)")
    }

    func testImportKilledDuringUnpackDaemonRestarted() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try startImport(lab, timeout: nil, debug: true)
        waitForUnpack(run)
        try killDaemon(lab)
        checkRestartedWithinDeadline(lab, run, step: "into overlayfs (Diff/Apply)")
    }

    // MARK: import, killed between steps (kctr stopped at a named point)

    /// Stops kctr at `point`, kills the daemon, lets kctr go on.
    func importStoppedAt(_ lab: Lab, _ point: String, timeout: String?) throws -> Background {
        let args = (timeout.map { ["--timeout", $0] } ?? ["--debug"]) + ["import", try TestImages.path("pause.oci.tar")]
        let run = try Background(lab, args, env: ["KCTR_TEST_FAULT": point + ":stop"])
        XCTAssertTrue(run.wait(timeout: 60) { run.isStopped }, "kctr never reached \(point): \(run.stderr)")
        try killDaemon(lab)
        kill(run.process.processIdentifier, SIGCONT)
        return run
    }

    func testImportKilledAfterUploadBeforeLabelsAndUnpack() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try importStoppedAt(lab, "import-after-upload", timeout: "2s")
        try checkLeftBehindThenNextImport(lab, run, step: "labelling the imported content for garbage collection (Content/Update)")
    }

    func testImportKilledBeforeImageRecord() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try importStoppedAt(lab, "import-before-record", timeout: "2s")
        try checkLeftBehindThenNextImport(lab, run, step: "creating image registry.k8s.io/pause:3.9 (Images/Create)")
    }

    func testImportKilledBeforeImageRecordDaemonRestarted() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try importStoppedAt(lab, "import-before-record", timeout: nil)
        checkRestartedWithinDeadline(lab, run, step: "creating image registry.k8s.io/pause:3.9 (Images/Create)")
    }

    /// The record exists, so the image is whole (content labelled, layers
    /// unpacked): it stays, kctr says so, and the lease still goes.
    func testImportKilledBeforeCRICheckKeepsTheWholeImage() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let run = try importStoppedAt(lab, "import-after-record", timeout: nil)
        XCTAssertTrue(run.wait { run.stderr.contains("more to release lease kctr-import-") }, "kctr never waited: \(run.stderr)")
        restart(lab)
        XCTAssertNotNil(run.waitExit(timeout: 30), "kctr hung after the daemon died")
        let stderr = run.stderr
        XCTAssertEqual(run.process.terminationStatus, 1, stderr)
        assertStopped(stderr, step: "checking registry.k8s.io/pause:3.9 through CRI", lab)
        XCTAssertTrue(stderr.contains("registry.k8s.io/pause:3.9 had been imported whole (content, unpack and record) and stay"), stderr)
        XCTAssertEqual(leases(lab), [])
        XCTAssertEqual(eventually([]) { rows(lab, ["content", "active"]) }, [])
        XCTAssertEqual(images(lab), ["registry.k8s.io/pause:3.9"])
        let check = lab.ctr(["images", "check"])
        XCTAssertTrue(check.stdout.contains("complete"), check.stdout)
        XCTAssertFalse(check.stdout.contains("incomplete"), check.stdout)
        let listed = lab.kctr(["images", "ls", "-o", "json"])
        XCTAssertTrue(listed.stdout.contains("\"unpacked\""), listed.stdout)
        XCTAssertEqual(eventually([]) { rows(lab, ["snapshots", "ls"]).filter { $0.contains("extract-") } }, [])
    }

    // MARK: export, killed while reading blobs

    func testExportKilledWhileReadingBlobsLeavesNoFile() throws {
        let lab = try Lab()
        defer { lab.stop() }
        XCTAssertExit(lab.kctr(["import", try DaemonKillTests.mediumArchive()], timeout: 300), 0)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-fault-out-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/medium.tar"
        let run = try Background(lab, ["export", out, "docker.io/kctr/medium:1.0"])
        // Kill once the temp file beside OUT holds a few MiB of layer data.
        let writing = run.wait { tempFileSize(dir, "medium.tar") > 4 << 20 }
        XCTAssertTrue(writing, "the export never wrote its temp file: \(run.stderr)")
        try killDaemon(lab)
        XCTAssertNotNil(run.waitExit(timeout: 30), "kctr export hung after the daemon died")
        let stderr = run.stderr
        XCTAssertEqual(run.process.terminationStatus, 1, stderr)
        assertStopped(stderr, step: "reading blob sha256:", lab)
        XCTAssertTrue(stderr.contains("run the command again"), stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no OUT and no temp file")
        restart(lab)
        XCTAssertEqual(leases(lab), [], "an export holds no lease")
        XCTAssertEqual(images(lab), ["docker.io/kctr/medium:1.0"])
    }

    // MARK: a daemon frozen in the middle of a transfer (SIGSTOP)

    func pid(_ lab: Lab) throws -> Int32 {
        let text = try String(contentsOfFile: lab.base + "/containerd.pid", encoding: .utf8)
        return try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// Bulk calls have a 30 min deadline, but each chunk must move within
    /// --timeout: a frozen daemon is given up on at once, not after 30 min.
    func testImportWithFrozenDaemonGivesUpAtTheDeadline() throws {
        let lab = try Lab()
        defer { lab.stop() }
        // kctr stops itself after the first chunk of a layer, the daemon is frozen, kctr goes on.
        let run = try Background(lab, ["--timeout", "2s", "import", try DaemonKillTests.mediumArchive()],
                                 env: ["KCTR_TEST_FAULT": "import-mid-blob:stop"])
        XCTAssertTrue(run.wait { run.isStopped }, "kctr never reached import-mid-blob: \(run.stderr)")
        let daemon = try pid(lab)
        XCTAssertEqual(kill(daemon, SIGSTOP), 0)
        defer { kill(daemon, SIGCONT) }
        kill(run.process.processIdentifier, SIGCONT)
        let took = run.waitExit(timeout: 30)
        XCTAssertNotNil(took, "kctr hung on a frozen daemon")
        let stderr = run.stderr
        XCTAssertEqual(run.process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("to the content store (Content/Write): containerd at \(lab.socket) stopped answering: no reply within 2s"),
                      stderr)
        XCTAssertTrue(stderr.contains("--timeout 30s"), stderr)
        XCTAssertTrue(stderr.contains("containerd did not answer again within 2s"), stderr)
        kill(daemon, SIGCONT)
        XCTAssertEqual(images(lab), [])
        let next = lab.kctr(["import", try TestImages.path("busybox.oci.tar")], timeout: 120)
        XCTAssertExit(next, 0)
        XCTAssertEqual(eventually(3) { content(lab).count }, 3, "blobs: \(content(lab))")
        assertClean(lab, images: ["docker.io/library/busybox:kctr-test"], keep: content(lab), "after the next import")
    }

    func testExportWithFrozenDaemonGivesUpAtTheDeadline() throws {
        let lab = try Lab()
        defer { lab.stop() }
        XCTAssertExit(lab.kctr(["import", try DaemonKillTests.mediumArchive()], timeout: 300), 0)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-fault-out-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let run = try Background(lab, ["--timeout", "2s", "export", dir + "/medium.tar", "docker.io/kctr/medium:1.0"])
        XCTAssertTrue(run.wait { tempFileSize(dir, "medium.tar") > 4 << 20 }, "the export never wrote its temp file: \(run.stderr)")
        let daemon = try pid(lab)
        XCTAssertEqual(kill(daemon, SIGSTOP), 0)
        defer { kill(daemon, SIGCONT) }
        XCTAssertNotNil(run.waitExit(timeout: 30), "kctr export hung on a frozen daemon")
        let stderr = run.stderr
        XCTAssertEqual(run.process.terminationStatus, 1, stderr)
        XCTAssertTrue(stderr.contains("(Content/Read): containerd at \(lab.socket) stopped answering: no reply within 2s"), stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no OUT and no temp file")
    }

    /// The size of export's temp file beside `dir/name` (0 when there is none).
    func tempFileSize(_ dir: String, _ name: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix(".\(name).kctr-") }.compactMap {
            try? FileManager.default.attributesOfItem(atPath: dir + "/" + $0)[.size] as? Int
        }.max() ?? 0
    }

    // MARK: a daemon that accepts connections but never answers

    func testHungDaemonImportExportAndListGiveUpAtTheDeadline() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-hung-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let archive = try TestImages.path("pause.oci.tar")
        for mode in [SocketServer.Mode.hang, .settings] {
            let server = try SocketServer(path: dir + "/\(mode.rawValue).sock", mode: mode)
            defer { server.stop() }
            let out = dir + "/out.tar"
            let cases: [(args: [String], step: String)] = [
                (["import", archive], "RuntimeService/Status"),
                (["import", "--snapshotter", "overlayfs", archive], "Leases/List"),
                (["export", out, "registry.k8s.io/pause:3.9"], "Images/"),
                (["images", "ls"], "Images/List"),
            ]
            for c in cases {
                let r = runProcess([Paths.kctr, "--address", server.path, "--timeout", "1s"] + c.args, timeout: 20)
                XCTAssertExit(r, 1)
                XCTAssertLessThan(r.seconds, 6, "\(mode) \(c.args): must give up near its 1s deadline")
                XCTAssertTrue(r.stderr.contains("containerd at \(server.path) accepted the connection but did not answer within 1s"),
                              "\(mode) \(c.args): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(c.step), "\(mode) \(c.args): \(r.stderr)")
                XCTAssertTrue(r.stderr.contains("--timeout 30s") && r.stderr.contains("journalctl -u containerd"), r.stderr)
                XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no OUT from a failed export")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "no temp file left")
    }

    // MARK: a full disk under containerd's root

    /// containerd's root on a small tmpfs: a layer does not fit (refused before it is written,
    /// from the content store's free space) or the content fits but the unpacked layers do not
    /// (ENOSPC from the daemon during unpack).
    func testFullDiskDuringUploadAndDuringUnpack() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let archive = try DaemonKillTests.mediumArchive()  // 96 MiB of incompressible layers, 2 x 48
        for (size, step) in [("24m", "it needs 48.0 MiB and "), ("150m", "(Diff/Apply)")] {
            let lab = try Lab(prepare: { base in
                try FileManager.default.createDirectory(atPath: base + "/root", withIntermediateDirectories: true)
                let mount = runProcess(["/bin/mount", "-t", "tmpfs", "-o", "size=\(size)", "kctr-full-disk", base + "/root"])
                guard mount.status == 0 else { throw SetupError("cannot mount a tmpfs: \(mount.stderr)") }
            })
            defer { lab.stop() }  // `down` unmounts everything under BASE
            let root = lab.base + "/root"
            let r = lab.kctr(["import", archive], timeout: 120)
            XCTAssertExit(r, 1)
            XCTAssertTrue(r.stderr.contains(step), "\(size): \(r.stderr)")
            let holder = size == "24m" ? "content store \(root)/io.containerd.content.v1.content" : "root \(root)"
            XCTAssertTrue(r.stderr.contains("no space left on the device holding containerd's \(holder) "), "\(size): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("df -h \(size == "24m" ? holder.dropFirst("content store ".count) : Substring(root))"), r.stderr)
            XCTAssertTrue(r.stderr.contains("kctr removed what this import had written"), r.stderr)
            assertClean(lab, "\(size): after a full disk")
            XCTAssertEqual(eventually([]) { rows(lab, ["snapshots", "ls"]) }, [], "\(size): no snapshot at all")
            // The space comes back: a small image imports on the same disk.
            XCTAssertExit(lab.kctr(["import", try TestImages.path("busybox.oci.tar")], timeout: 120), 0)
        }
    }
}
