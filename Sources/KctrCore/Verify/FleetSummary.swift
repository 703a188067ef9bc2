import Foundation

/// `kctr verify-runtime --summarize`: the JSON reports of many nodes (files, or what
/// `kubectl logs --prefix` prints for a DaemonSet's pods) in one table, node by check.
///
/// Reports are read leniently (only `node` and each check's `id` and `status`), so that a report of
/// an older or newer kctr still counts; anything else in the text around them (kctr's own messages
/// on stderr, which `kubectl logs` mixes in) is skipped.
public struct FleetSummary: Sendable, Equatable {
    /// One node's report, as it was read.
    public struct NodeReport: Sendable, Equatable {
        /// The report's `node` (`--node`), else the pod of a `kubectl logs --prefix` line, else the file's name.
        public var node: String
        /// Where it was read: a file, `-` (stdin), with `[pod/NAME/CONTAINER]` for a prefixed pod.
        public var source: String
        /// Check ids in report order, with their statuses.
        public var checks: [(id: String, status: CheckStatus)]

        public init(node: String, source: String, checks: [(id: String, status: CheckStatus)]) {
            self.node = node
            self.source = source
            self.checks = checks
        }

        public func status(_ id: String) -> CheckStatus? { checks.first { $0.id == id }?.status }
        var worst: CheckStatus { checks.map(\.status).max() ?? .pass }
        func count(_ s: CheckStatus) -> Int { checks.filter { $0.status == s }.count }

        public static func == (a: NodeReport, b: NodeReport) -> Bool {
            a.node == b.node && a.source == b.source && a.checks.elementsEqual(b.checks) { $0.id == $1.id && $0.status == $1.status }
        }
    }

    public var nodes: [NodeReport]

    public init(nodes: [NodeReport]) { self.nodes = nodes }

    // MARK: - Reading

    /// Report files are a few tens of KiB; `kubectl logs` of a thousand nodes' pods a few tens of MiB.
    public static let inputLimit = 256 << 20

    /// The reports in `paths` (`-` reads `stdin`), and what could not be read: every path is tried.
    public static func load(_ paths: [String], stdin: () throws(KctrError) -> String) -> (FleetSummary, [KctrError]) {
        var all: [NodeReport] = [], problems: [KctrError] = []
        for path in paths {
            let text: String
            do {
                if path == "-" {
                    text = try stdin()
                } else if let t = try SmallFile.text(path, limit: inputLimit) {
                    text = t
                } else {
                    problems.append(KctrError("cannot read report \(path): no such file", hint: "check the path; give - to read the reports from stdin"))
                    continue
                }
            } catch {
                problems.append(error)
                continue
            }
            let (reports, bad) = Self.reports(in: text, source: path)
            all += reports
            problems += bad
        }
        return (FleetSummary(nodes: all), problems)
    }

    /// stdin (`fd`) to its end, at most `limit` bytes.
    public static func standardInput(fd: Int32 = 0, limit: Int = inputLimit) throws(KctrError) -> String {
        guard let bytes = SmallFile.readToEnd(fd, limit: limit, chunk: 1 << 16) else {
            throw KctrError("cannot read the reports from stdin: \(String(cString: strerror(errno)))", hint: "pipe the reports in, or give their files")
        }
        guard bytes.count <= limit else {
            throw KctrError("the reports on stdin are more than \(Render.size(Int64(limit)))", hint: "give the reports as files, a few nodes each")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KctrError("the reports on stdin are not UTF-8 text", hint: "give the output of `kctr verify-runtime -o json` or `kubectl logs --prefix`")
        }
        return text
    }

    /// The reports in `text`, read from `source` (a path, or `-`), and what could not be read.
    /// `kubectl logs --prefix` lines (`[pod/NAME/CONTAINER] ...`) are grouped by their prefix, each
    /// group one node; text without prefixes is one node, named after its file. When a group holds
    /// several reports (a restarted container), the last counts.
    public static func reports(in text: String, source: String) -> (reports: [NodeReport], problems: [KctrError]) {
        var order: [String?] = [], groups: [String?: [Substring]] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let (prefix, rest) = kubectlPrefix(line).map { ($0.0 as String?, $0.1) } ?? (nil, line)
            if groups[prefix] == nil { order.append(prefix) }
            groups[prefix, default: []].append(rest)
        }
        let prefixed = order.contains { $0 != nil }
        var reports: [NodeReport] = [], problems: [KctrError] = []
        for prefix in order {
            // Unprefixed lines among prefixed ones are kubectl's own (an error about one pod): not a report.
            if prefixed && prefix == nil { continue }
            let where_ = prefix.map { "\(source) [\($0)]" } ?? source
            guard let report = lastReport(in: (groups[prefix] ?? []).joined(separator: "\n")) else {
                problems.append(KctrError("no verify-runtime JSON report in \(where_)",
                                          hint: "give the output of `kctr verify-runtime -o json`, one report per file, or `kubectl logs --prefix` of the pods that ran it"))
                continue
            }
            let fallback = prefix.map(podName) ?? fileNode(source)
            let node = report.node.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            reports.append(NodeReport(node: node, source: where_, checks: report.checks.map { ($0.id, $0.status) }))
        }
        return (reports, problems)
    }

    /// `[pod/NAME/CONTAINER] rest` -> ("pod/NAME/CONTAINER", rest).
    static func kubectlPrefix(_ line: Substring) -> (String, Substring)? {
        guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
        let inside = line[line.index(after: line.startIndex)..<close]
        guard inside.hasPrefix("pod/"), inside.split(separator: "/", omittingEmptySubsequences: false).count == 3 else { return nil }
        var rest = line[line.index(after: close)...]
        if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        return (String(inside), rest)
    }

    /// "pod/kctr-verify-abcde/verify" -> "kctr-verify-abcde".
    static func podName(_ prefix: String) -> String {
        String(prefix.split(separator: "/", omittingEmptySubsequences: false)[1])
    }

    /// "reports/node-a.json" -> "node-a"; "-" -> "stdin".
    static func fileNode(_ source: String) -> String {
        if source == "-" { return "stdin" }
        let name = (source as NSString).lastPathComponent
        return name.hasSuffix(".json") ? String(name.dropLast(5)) : name
    }

    /// What a report is read as: a node name and the checks' ids and statuses, nothing else.
    struct Lenient: Decodable {
        struct Check: Decodable {
            var id: String
            var status: CheckStatus
        }
        var node: String?
        var checks: [Check]
    }

    /// The last top-level JSON object in `text` that reads as a report.
    static func lastReport(in text: String) -> Lenient? {
        let decoder = JSONDecoder()
        var found: Lenient?
        for object in jsonObjects(in: Array(text.utf8)) {
            if let r = try? decoder.decode(Lenient.self, from: Data(object)) { found = r }
        }
        return found
    }

    /// The JSON objects in `bytes` that start a line (as kctr prints them, pretty or on one line): from
    /// each `{` at the start of a line (after blanks) to its matching `}`, braces inside strings not
    /// counted. Other lines are skipped, so a stray brace in a message cannot swallow what follows.
    static func jsonObjects(in bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        let newline = UInt8(ascii: "\n")
        func nextLine(after i: Int) -> Int { (bytes[i...].firstIndex(of: newline) ?? bytes.count - 1) + 1 }
        var spans: [ArraySlice<UInt8>] = []
        var line = 0
        while line < bytes.count {
            var i = line
            while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
            if i < bytes.count, bytes[i] == UInt8(ascii: "{"), let end = objectEnd(bytes, from: i) {
                spans.append(bytes[i...end])
                line = nextLine(after: end)
            } else {
                line = nextLine(after: line)
            }
        }
        return spans
    }

    /// The index of the `}` that closes the object opened at `start`, or nil.
    static func objectEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var depth = 0, inString = false, escaped = false
        for i in start..<bytes.count {
            let b = bytes[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
        }
        return nil
    }

    // MARK: - The table

    /// Checks that fail on some node, then those that warn on some node (each by how many nodes,
    /// then in report order): the table's columns.
    public var problemChecks: [String] {
        let order = allChecks
        func many(_ id: String, _ s: CheckStatus) -> Int { nodes.filter { $0.status(id) == s }.count }
        let failing = order.filter { many($0, .fail) > 0 }
        let warning = order.filter { many($0, .warn) > 0 && many($0, .fail) == 0 }
        func ranked(_ ids: [String], _ s: CheckStatus) -> [String] {
            ids.enumerated().sorted { a, b in
                let (na, nb) = (many(a.element, s), many(b.element, s))
                return na != nb ? na > nb : a.offset < b.offset
            }.map(\.element)
        }
        return ranked(failing, .fail) + ranked(warning, .warn)
    }

    /// Every check id, in the order the reports list them (the first report's order, then new ones).
    public var allChecks: [String] {
        var seen = Set<String>(), order: [String] = []
        for n in nodes { for c in n.checks where seen.insert(c.id).inserted { order.append(c.id) } }
        return order
    }

    /// Nodes with failures first, then warnings, each by name.
    public var sortedNodes: [NodeReport] {
        nodes.enumerated().sorted { a, b in
            let (wa, wb) = (a.element.worst, b.element.worst)
            if wa != wb { return wa > wb }
            if a.element.node != b.element.node { return a.element.node < b.element.node }
            return a.offset < b.offset
        }.map(\.element)
    }

    /// The table: a row per node (FAIL and WARN counts, then the status of each check that fails or
    /// warns somewhere: FAIL, WARN, pass, skip, or `-` when the node's report lacks it), then a line
    /// for the checks left out.
    public func table() -> String {
        let columns = problemChecks
        func cell(_ s: CheckStatus?) -> String {
            switch s {
            case .fail?: return "FAIL"
            case .warn?: return "WARN"
            case .pass?: return "pass"
            case .skip?: return "skip"
            case nil: return "-"
            }
        }
        let rows = sortedNodes.map { n in
            [n.node, String(n.count(.fail)), String(n.count(.warn))] + columns.map { cell(n.status($0)) }
        }
        var text = Render.table(["NODE", "FAIL", "WARN"] + columns, rows)
        let shown = Set(columns)
        let rest = allChecks.filter { !shown.contains($0) }
        let skipped = rest.filter { id in nodes.contains { $0.status(id) == .skip } }
        let failing = nodes.filter { $0.worst == .fail }.count, warning = nodes.filter { $0.worst == .warn }.count
        text += "\n\(nodes.count) node\(nodes.count == 1 ? "" : "s"): \(failing) failing, \(warning) warning only; "
        text += "\(rest.count - skipped.count) of \(allChecks.count) checks pass on every node"
        text += skipped.isEmpty ? "\n" : "; skipped on some (not shown): \(skipped.joined(separator: ", "))\n"
        return text
    }

    /// 1 when a node fails a check (with `strict`, or warns), else 0.
    public func exitCode(strict: Bool) -> Int32 {
        let worst = nodes.map(\.worst).max() ?? .pass
        return worst == .fail || (strict && worst == .warn) ? 1 : 0
    }
}
