import Foundation
import KctrLab
import KctrRPC
import XCTest

/// Many callers at once (issue 7): eight imports of overlapping archives, and
/// imports racing `kctr images rm` of the same names. Every command succeeds
/// or fails with a clear message; afterwards ctr and CRI agree, every image
/// is complete and unpacked, and no lease, ingest or active snapshot is left.
///
/// KCTR_CONCURRENCY_ROUNDS (default 2) repeats each test to flush out flakes.
final class ConcurrencyTests: XCTestCase {
    static let busybox = "docker.io/library/busybox:kctr-test"
    static let pause = "registry.k8s.io/pause:3.9"
    static let multi = "docker.io/kctr/multi:1.0"

    static var rounds: Int {
        max(1, Int(ProcessInfo.processInfo.environment["KCTR_CONCURRENCY_ROUNDS"] ?? "") ?? 2)
    }

    /// Eight imports at once into a fresh daemon: OCI and docker archives of
    /// the same images (same diff IDs and chain IDs, different blobs), the
    /// same archive twice, and names of their own. All succeed.
    func testEightImportsOfOverlappingArchivesAtOnce() throws {
        for round in 1...Self.rounds {
            let lab = try Lab()
            defer { lab.stop() }
            let jobs: [[String]] = [
                ["import", try TestImages.path("all.oci.tar")],
                ["import", try TestImages.path("all.oci.tar")],
                ["import", try TestImages.path("busybox.docker.tar")],
                ["import", try TestImages.path("busybox.oci.tar")],
                ["import", try TestImages.path("multi.docker.tar")],
                ["import", "--name", "docker.io/kctr/multi:other", try TestImages.path("multi.oci.tar")],
                ["import", try TestImages.path("pause.docker.tar")],
                ["import", "--name", "docker.io/kctr/bb:docker", try TestImages.path("busybox.docker.tar")],
            ]
            let runs = concurrently(jobs.map { args in { lab.kctr(args, timeout: 120) } })
            for (args, r) in zip(jobs, runs) {
                XCTAssertEqual(r.status, 0, "round \(round): kctr \(args.joined(separator: " ")):\n\(r.stderr)\n\(lab.log.suffix(3000))")
                XCTAssertTrue(r.stderr.contains("imported "), "round \(round): \(r.stderr)")
            }
            let names = try assertConsistent(lab, "round \(round)")
            XCTAssertEqual(names, [Self.busybox, Self.multi, Self.pause, "docker.io/kctr/bb:docker", "docker.io/kctr/multi:other"].sorted(),
                           "round \(round)")
        }
    }

    /// Imports racing `images rm` of the names they create, several rounds on
    /// one daemon. Imports always succeed (a record removed between create and
    /// update is created again; a snapshot removed under the unpack is made
    /// again); rm succeeds or says which image was not there.
    func testImportsRacingImageRemoval() throws {
        let lab = try Lab()
        defer { lab.stop() }
        let names = [Self.busybox, Self.multi, Self.pause]
        for round in 1...(Self.rounds * 3) {
            var jobs: [() -> Run] = []
            var labels: [String] = []
            for archive in ["all.oci.tar", "busybox.docker.tar", "multi.docker.tar", "pause.oci.tar"] {
                let path = try TestImages.path(archive)
                labels.append("import \(archive)")
                jobs.append { lab.kctr(["import", path], timeout: 120) }
            }
            for i in 0..<4 {
                labels.append("rm #\(i)")
                jobs.append {
                    usleep(UInt32.random(in: 0...400_000))
                    return lab.kctr(["images", "rm"] + names.shuffled(), timeout: 60)
                }
            }
            let runs = concurrently(jobs)
            for (label, r) in zip(labels, runs) {
                if label.hasPrefix("import") {
                    XCTAssertEqual(r.status, 0, "round \(round): \(label):\n\(r.stderr)\n\(lab.log.suffix(3000))")
                    continue
                }
                XCTAssertTrue(r.status == 0 || r.status == 1, "round \(round): \(label): exit \(r.status)\n\(r.stderr)")
                for line in r.stderr.split(separator: "\n") {
                    // Each name not removed is named, with why; then the count.
                    let clear = line.hasPrefix("kctr: image ") && line.contains(" not found in namespace k8s.io")
                        || line.hasPrefix("kctr: ") && line.contains(" of 3 image(s) not removed")
                    XCTAssertTrue(clear, "round \(round): \(label): unclear failure: \(line)")
                }
                if r.status == 0 { XCTAssertEqual(r.lines.sorted(), names.sorted(), "round \(round): \(label)") }
            }
            _ = try assertConsistent(lab, "round \(round)")
        }
        // The daemon is still fine for a plain import afterwards.
        XCTAssertExit(lab.kctr(["import", try TestImages.path("all.oci.tar")], timeout: 120), 0)
        XCTAssertEqual(try assertConsistent(lab, "final import"), names.sorted())
    }

    // MARK: checks

    /// ctr's images are complete and unpacked; CRI lists exactly ctr's names
    /// with the config digest ctr reads as ID; no kctr lease, no ingest, no
    /// active snapshot. Returns the image names (sha256:<id> records of CRI's left out).
    @discardableResult
    func assertConsistent(_ lab: Lab, _ context: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        // ctr: every record complete, unpacked.
        let check = lab.ctr(["images", "check"])
        XCTAssertExit(check, 0, file: file, line: line)
        for row in check.lines.dropFirst() {
            XCTAssertTrue(row.contains("complete"), "\(context): ctr images check: \(row)", file: file, line: line)
            XCTAssertEqual(row.split(separator: " ").last, "true", "\(context): not unpacked: \(row)", file: file, line: line)
        }
        let names = lab.imageNames("k8s.io").filter { !$0.hasPrefix("sha256:") }
        var expected: [String: String] = [:]
        for name in names { expected[name] = try lab.ctrImage(name, namespace: "k8s.io").config }

        // CRI (ListImages through the RPC layer, no kctr command in between) learns
        // of changes from containerd's events: give it a few seconds to agree.
        var cri: [String: String] = [:]
        for _ in 0..<100 {
            cri = try criTags(lab.socket)
            if cri == expected { break }
            usleep(100_000)
        }
        XCTAssertEqual(cri, expected, "\(context): CRI (tag -> id) vs ctr (name -> config)", file: file, line: line)

        // kctr's own view says the same.
        let list = lab.kctr(["images", "ls", "-o", "json"])
        XCTAssertExit(list, 0, file: file, line: line)
        for row in (jsonObject(list.stdout) as? [[String: Any]]) ?? [] {
            guard let name = row["name"] as? String, !name.hasPrefix("sha256:") else { continue }
            XCTAssertEqual(row["unpacked"] as? Bool, true, "\(context): \(name)", file: file, line: line)
            XCTAssertEqual((row["cri"] as? [String: Any])?["known"] as? Bool, true, "\(context): \(name)", file: file, line: line)
        }

        // Nothing leaked: no lease, no ingest, no active (uncommitted) snapshot.
        lab.assertNoLeftovers("k8s.io", file: file, line: line)
        let snapshots = lab.ctr(["snapshots", "--snapshotter", "overlayfs", "ls"])
        XCTAssertExit(snapshots, 0, file: file, line: line)
        let active = snapshots.lines.dropFirst().filter { $0.split(separator: " ").last != "Committed" }
        XCTAssertEqual(active, [], "\(context): snapshots left active", file: file, line: line)
        return names.sorted()
    }

    /// CRI's repo tags -> image ID, through ListImages.
    func criTags(_ socket: String) throws -> [String: String] {
        try PodFixture.withCRI(socket: socket) { cri in
            var tags: [String: String] = [:]
            for image in try await cri.listImages() {
                for tag in image.repoTags { tags[tag] = image.id }
            }
            return tags
        }
    }
}

/// Runs each job on a thread of its own, all at once; results in job order.
func concurrently(_ jobs: [() -> Run]) -> [Run] {
    let results = RunResults(count: jobs.count)
    let group = DispatchGroup()
    for (i, job) in jobs.enumerated() {
        let work = UncheckedJob(run: job)
        group.enter()
        Thread {
            results.set(i, work.run())
            group.leave()
        }.start()
    }
    group.wait()
    return results.all
}

private struct UncheckedJob: @unchecked Sendable {
    // @unchecked: each job runs once, on its own thread.
    let run: () -> Run
}

private final class RunResults: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var runs: [Run]

    init(count: Int) { runs = Array(repeating: Run(status: -1, stdout: "", stderr: "not run", seconds: 0), count: count) }

    func set(_ i: Int, _ r: Run) {
        lock.lock()
        runs[i] = r
        lock.unlock()
    }

    var all: [Run] {
        lock.lock()
        defer { lock.unlock() }
        return runs
    }
}
