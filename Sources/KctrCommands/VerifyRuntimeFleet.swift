import ArgumentParser
import Foundation
import KctrCore

/// verify-runtime across a fleet: `--summarize` (many nodes' reports in one table) and
/// `--keep-running` (the DaemonSet's pod, which prints its report and stays up).
extension VerifyRuntime {
    func validateSummarize() throws {
        if !summarize {
            if let first = reports.first {
                throw ValidationError("unexpected argument \(first): verify-runtime checks this node and takes no arguments; report files are read with --summarize")
            }
            return
        }
        guard !reports.isEmpty else {
            throw ValidationError("--summarize needs the reports to read: files, or - for stdin (e.g. kubectl logs --prefix ... | kctr verify-runtime --summarize -)")
        }
        if output != .table {
            throw ValidationError("--summarize prints a table only; -o \(output.rawValue) is for one node's report")
        }
        if keepRunning || node != nil || !checks.isEmpty {
            throw ValidationError("--summarize reads reports and checks nothing: --check, --node and --keep-running are for the run on a node")
        }
    }

    /// Reads every report (going on past the ones that cannot be read, each reported on stderr), prints
    /// the table, exits 1 when a node fails a check (with --strict, or warns) or a report was not read.
    func runSummarize() throws {
        let (summary, problems) = FleetSummary.load(reports) { () throws(KctrError) -> String in try FleetSummary.standardInput() }
        for p in problems { Console.err("kctr: \(p)\n") }
        guard !summary.nodes.isEmpty else {
            throw KctrError("no report read from \(reports.joined(separator: ", "))",
                            hint: "give the output of `kctr verify-runtime -o json` (one file per node) or of `kubectl logs --prefix`")
        }
        Console.out(summary.table())
        let code = max(summary.exitCode(strict: strict), problems.isEmpty ? 0 : 1)
        if code != 0 { Foundation.exit(code) }
    }

    /// Waits until SIGTERM or SIGINT (which cancel the command's task, see KctrMain), then exits with
    /// `code`: the report is in the pod's log, and a DaemonSet's pod that exited would be restarted.
    static func waitForTermination(_ code: Int32) async -> Never {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: 3_600 * 1_000_000_000)
        }
        Foundation.exit(code)
    }
}
