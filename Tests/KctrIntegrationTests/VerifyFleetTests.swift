import Foundation
import XCTest

/// verify-runtime across nodes, from the command line: --node names the report, --keep-running keeps
/// the process (a DaemonSet's pod) up until SIGTERM, --summarize reads many reports (the recorded ones
/// of Tests/KctrCoreTests/Fixtures/fleet, see FleetSummaryTests) into one table.
final class VerifyFleetTests: XCTestCase {
    static let shared = SharedLab()
    override class func tearDown() { shared.stop() }

    static var fixtures: String { Paths.root + "/Tests/KctrCoreTests/Fixtures/fleet" }

    func summarize(_ args: [String], stdin: String? = nil) -> Run {
        runProcess([Paths.kctr, "verify-runtime", "--summarize"] + args, stdin: stdin)
    }

    func testSummarizeFilesAndKubectlLogs() throws {
        let f = Self.fixtures
        let files = summarize([f + "/node-a.json", f + "/node-b.json", f + "/node-c.json"])
        XCTAssertExit(files, 1)  // node-b fails a check
        XCTAssertEqual(files.lines.first, "NODE     FAIL   WARN   cgroup.driver-match   pause.present   kernel.swap")
        XCTAssertEqual(files.lines.dropFirst().first, "node-b   2      1      FAIL                  FAIL            WARN")
        XCTAssertEqual(files.stderr, "")

        let logs = try String(contentsOfFile: f + "/kubectl-logs-prefix.txt", encoding: .utf8)
        let piped = summarize(["-"], stdin: logs)
        XCTAssertExit(piped, 1)
        XCTAssertEqual(piped.lines.dropFirst().map { $0.split(separator: " ").first.map(String.init) ?? "" }.prefix(3),
                       ["worker-1", "kctr-verify-k9m4d", "worker-3"])

        // Nothing fails: exit 0; a warning fails with --strict only.
        XCTAssertExit(summarize([f + "/node-a.json"]), 0)
        XCTAssertExit(summarize([f + "/node-c.json"]), 0)
        XCTAssertExit(summarize(["--strict", f + "/node-c.json"]), 1)
    }

    /// A report that cannot be read is named on stderr; the others are still summarized; exit 1.
    func testUnreadableReportsAreNamedAndTheRestSummarized() {
        let f = Self.fixtures
        let r = summarize([f + "/missing.json", f + "/node-a.json"])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stderr, "kctr: cannot read report \(f)/missing.json: no such file (hint: check the path; give - to read the reports from stdin)\n")
        XCTAssertEqual(r.lines.dropFirst().first?.hasPrefix("node-a"), true, r.stdout)

        let directory = runProcess(["/bin/sh", "-c", "exec \"$0\" verify-runtime --summarize - < /", Paths.kctr])
        XCTAssertExit(directory, 1)
        XCTAssertTrue(directory.stderr.hasPrefix("kctr: cannot read the reports from stdin: Is a directory (hint: pipe the reports in, or give their files)\n"),
                      directory.stderr)

        let none = summarize(["-"], stdin: "kctr: cannot reach containerd\n")
        XCTAssertExit(none, 1)
        XCTAssertEqual(none.stdout, "")
        XCTAssertEqual(none.stderr, """
            kctr: no verify-runtime JSON report in - (hint: give the output of `kctr verify-runtime -o json`, one report per file, or `kubectl logs --prefix` of the pods that ran it)
            kctr: no report read from - (hint: give the output of `kctr verify-runtime -o json` (one file per node) or of `kubectl logs --prefix`)

            """)
    }

    func testSummarizeUsageErrors() {
        let cases: [([String], String)] = [
            (["verify-runtime", "--summarize"], "Error: --summarize needs the reports to read: files, or - for stdin"),
            (["verify-runtime", "--summarize", "-o", "json", "a.json"], "Error: --summarize prints a table only; -o json is for one node's report"),
            (["verify-runtime", "--summarize", "--node", "n1", "a.json"], "Error: --summarize reads reports and checks nothing: --check, --node and --keep-running are for the run on a node"),
            (["verify-runtime", "a.json"], "Error: unexpected argument a.json: verify-runtime checks this node and takes no arguments; report files are read with --summarize"),
        ]
        for (args, message) in cases {
            let r = runProcess([Paths.kctr] + args)
            XCTAssertExit(r, 64)
            XCTAssertTrue(r.stderr.hasPrefix(message), "\(args): \(r.stderr)")
        }
    }

    /// --node is recorded in the report; --keep-running prints it, stays up, and exits with the
    /// report's code on SIGTERM (as the kubelet stops a DaemonSet's pod).
    func testNodeAndKeepRunning() throws {
        let lab = try Self.shared.get()
        let plain = lab.kctr(["verify-runtime", "-o", "json", "--check", "daemon"])
        XCTAssertExit(plain, 0)
        XCTAssertFalse(plain.stdout.contains("\"node\""), plain.stdout)

        let held = try BackgroundKctr(lab, ["verify-runtime", "-o", "json", "--check", "daemon", "--node", "node-7", "--keep-running"])
        var doc: [String: Any]?
        let printed = held.wait {
            doc = try? JSONSerialization.jsonObject(with: Data(held.stdout.utf8)) as? [String: Any]
            return doc != nil
        }
        XCTAssertTrue(printed, "no report: \(held.stdout)\n\(held.stderr)")
        XCTAssertEqual(doc?["node"] as? String, "node-7")
        XCTAssertTrue(held.process.isRunning, "exited after the report: \(held.stderr)")
        kill(held.process.processIdentifier, SIGTERM)
        XCTAssertNotNil(held.waitExit(timeout: 30), "still running 30 s after SIGTERM")
        XCTAssertEqual(held.process.terminationReason, .exit)
        XCTAssertEqual(held.process.terminationStatus, 0, held.stderr)
        XCTAssertEqual(held.stderr, "")
    }
}
