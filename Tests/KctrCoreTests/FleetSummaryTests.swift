import Foundation
import XCTest
@testable import KctrCore

/// `verify-runtime --summarize` over recorded reports (Fixtures/fleet): node-a.json is a real
/// `kctr verify-runtime -o json --node node-a` of a healthy lab (its paths renamed to a node's);
/// node-b.json and node-c.json are copies with statuses edited (node-c's `node` removed);
/// kubectl-logs-prefix.txt is what `kubectl logs --prefix` prints for three such pods.
final class FleetSummaryTests: XCTestCase {
    static func fixture(_ name: String) throws -> String { try VerifyFixtures.fixture("fleet/\(name)") }

    private func noStdin() throws(KctrError) -> String { throw KctrError("stdin read in a test") }

    func testFilesMakeOneTableFailingAndWarningChecksFirst() throws {
        let paths = try ["node-a.json", "node-b.json", "node-c.json"].map { try Self.fixture($0) }
        let (summary, problems) = FleetSummary.load(paths, stdin: noStdin)
        XCTAssertEqual(problems, [])
        XCTAssertEqual(summary.nodes.map(\.node), ["node-a", "node-b", "node-c"])
        XCTAssertEqual(summary.table(), """
            NODE     FAIL   WARN   cgroup.driver-match   pause.present   kernel.swap
            node-b   2      1      FAIL                  FAIL            WARN
            node-c   0      1      skip                  pass            WARN
            node-a   0      0      skip                  pass            pass

            3 nodes: 1 failing, 1 warning only; 25 of 33 checks pass on every node; skipped on some (not shown): pause.pinned, pause.in-use, crictl.runtime-endpoint, crictl.image-endpoint, kernel.ipvs

            """)
        XCTAssertEqual(summary.exitCode(strict: false), 1)
    }

    func testKubectlPrefixedLogsAreOneNodePerPod() throws {
        let text = try String(contentsOfFile: Self.fixture("kubectl-logs-prefix.txt"), encoding: .utf8)
        let (reports, problems) = FleetSummary.reports(in: text, source: "-")
        XCTAssertEqual(problems, [])
        // The report's node when it names one (--node); the pod's name when it does not (an older kctr).
        XCTAssertEqual(reports.map(\.node), ["worker-1", "kctr-verify-k9m4d", "worker-3"])
        XCTAssertEqual(reports.map(\.source), ["- [pod/kctr-verify-7xq2p/verify]", "- [pod/kctr-verify-k9m4d/verify]",
                                               "- [pod/kctr-verify-p2w8s/verify]"])
        // worker-3's log holds two reports (pause.present failed, then passed after a restart): the last counts.
        XCTAssertEqual(reports[2].status("pause.present"), .pass)
        let summary = FleetSummary(nodes: reports)
        XCTAssertEqual(summary.problemChecks, ["cri.network-ready", "config.drift", "kernel.swap"])
        XCTAssertEqual(summary.table().split(separator: "\n").prefix(4).joined(separator: "\n"), """
            NODE                FAIL   WARN   cri.network-ready   config.drift   kernel.swap
            worker-1            1      1      FAIL                WARN           pass
            kctr-verify-k9m4d   0      1      pass                pass           WARN
            worker-3            0      0      pass                pass           pass
            """)
    }

    /// Checks failing on more nodes come first; warnings after every failing check; a check a node's
    /// report lacks shows `-`; --strict counts warnings.
    func testOrderAndStrict() {
        func node(_ name: String, _ checks: [(String, CheckStatus)]) -> FleetSummary.NodeReport {
            FleetSummary.NodeReport(node: name, source: name, checks: checks.map { (id: $0.0, status: $0.1) })
        }
        let summary = FleetSummary(nodes: [
            node("n1", [("a", .pass), ("b", .fail), ("c", .warn), ("d", .fail)]),
            node("n2", [("a", .warn), ("b", .pass), ("c", .pass), ("d", .fail)]),
            node("n3", [("a", .pass), ("b", .pass)]),
        ])
        XCTAssertEqual(summary.problemChecks, ["d", "b", "a", "c"])
        XCTAssertEqual(summary.table(), """
            NODE   FAIL   WARN   d      b      a      c
            n1     2      1      FAIL   FAIL   pass   WARN
            n2     1      1      FAIL   pass   WARN   pass
            n3     0      0      -      pass   pass   -

            3 nodes: 2 failing, 0 warning only; 0 of 4 checks pass on every node

            """)
        let warnOnly = FleetSummary(nodes: [node("n2", [("a", .warn)]), node("n3", [("a", .pass)])])
        XCTAssertEqual(warnOnly.exitCode(strict: false), 0)
        XCTAssertEqual(warnOnly.exitCode(strict: true), 1)
        XCTAssertEqual(FleetSummary(nodes: [node("n3", [("a", .pass), ("b", .skip)])]).exitCode(strict: true), 0)
    }

    func testUnreadableSourcesAreReportedAndTheRestRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-fleet-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "kctr: cannot reach containerd\n".write(toFile: dir + "/node-x.json", atomically: true, encoding: .utf8)
        let paths = [dir + "/missing.json", dir + "/node-x.json", try Self.fixture("node-a.json"), dir]
        let (summary, problems) = FleetSummary.load(paths, stdin: noStdin)
        XCTAssertEqual(summary.nodes.map(\.node), ["node-a"])
        XCTAssertEqual(problems.map(\.description), [
            "cannot read report \(dir)/missing.json: no such file (hint: check the path; give - to read the reports from stdin)",
            "no verify-runtime JSON report in \(dir)/node-x.json (hint: give the output of `kctr verify-runtime -o json`, one report per file, or `kubectl logs --prefix` of the pods that ran it)",
            "\(dir) is not a regular file (hint: ls -l \(dir): a configuration file is expected there)",
        ])
    }

    /// stdin is read when a path is `-`; a report without a `node` is named `stdin` there.
    func testStdin() throws {
        let report = try String(contentsOfFile: Self.fixture("node-c.json"), encoding: .utf8)
        let (summary, problems) = FleetSummary.load(["-"]) { () throws(KctrError) -> String in report }
        XCTAssertEqual(problems, [])
        XCTAssertEqual(summary.nodes.map(\.node), ["stdin"])
        XCTAssertEqual(summary.nodes.first?.status("kernel.swap"), .warn)
    }

    /// stdin that cannot be read, is too long, or is not text: each says so.
    func testStdinErrors() throws {
        func failure(_ body: () throws(KctrError) -> String) -> String {
            do { _ = try body(); return "no error" } catch { return error.description }
        }
        let dir = open("/", O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(dir, 0)
        defer { close(dir) }
        XCTAssertEqual(failure { () throws(KctrError) -> String in try FleetSummary.standardInput(fd: dir) },
                       "cannot read the reports from stdin: Is a directory (hint: pipe the reports in, or give their files)")
        func pipe(_ bytes: [UInt8]) -> Int32 {
            var fds: [Int32] = [-1, -1]
            XCTAssertEqual(Glibc.pipe(&fds), 0)
            XCTAssertEqual(write(fds[1], bytes, bytes.count), bytes.count)
            close(fds[1])
            return fds[0]
        }
        let long = pipe(Array(repeating: UInt8(ascii: "x"), count: 2048))
        defer { close(long) }
        XCTAssertEqual(failure { () throws(KctrError) -> String in try FleetSummary.standardInput(fd: long, limit: 1024) },
                       "the reports on stdin are more than 1.0 KiB (hint: give the reports as files, a few nodes each)")
        let binary = pipe([0x7b, 0xff, 0xfe, 0x7d])
        defer { close(binary) }
        XCTAssertEqual(failure { () throws(KctrError) -> String in try FleetSummary.standardInput(fd: binary) },
                       "the reports on stdin are not UTF-8 text (hint: give the output of `kctr verify-runtime -o json` or `kubectl logs --prefix`)")
        let fine = pipe(Array("{}\n".utf8))
        defer { close(fine) }
        XCTAssertEqual(failure { () throws(KctrError) -> String in try FleetSummary.standardInput(fd: fine) }, "no error")
    }

    /// Braces inside JSON strings do not end an object; text between objects is skipped; a JSON
    /// object that is not a report (no checks) is not taken for one.
    func testJSONObjectsAreFoundByTheirBraces() {
        let text = #"""
        kctr: debug: {not json
        {"note": "a } and a { in a string", "escaped": "\" }"}
        {"node": "n1", "checks": [{"id": "daemon.socket", "status": "fail", "found": "} {"}]}
        trailing {
        """#
        XCTAssertEqual(FleetSummary.jsonObjects(in: Array(text.utf8)).count, 2)
        let (reports, problems) = FleetSummary.reports(in: text, source: "mixed.log")
        XCTAssertEqual(problems, [])
        XCTAssertEqual(reports, [FleetSummary.NodeReport(node: "n1", source: "mixed.log", checks: [(id: "daemon.socket", status: .fail)])])
    }
}
