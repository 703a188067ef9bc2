import Foundation

/// One line of a container's log as the kubelet's CRI log format stores it:
/// `<RFC 3339 time> <stdout|stderr> <P|F> <text>`, a line split in partial
/// (`P`) pieces that end with a full (`F`) one.
public struct CRILogLine: Sendable, Equatable {
    public var time: String
    public var stream: String
    public var text: String
}

/// Joins partial lines and applies --stream, --since and --tail. Pure: the
/// caller feeds bytes, gets whole lines back.
public struct CRILogParser: Sendable {
    public var stream: String?
    /// Lines before this (seconds since 1970) are dropped.
    public var since: Double?
    private var pending: [String: (time: String, text: String)] = [:]
    private var carry = Data()

    public init(stream: String? = nil, since: Double? = nil) {
        self.stream = stream
        self.since = since
    }

    /// The longest line kept in memory: a record without a newline, or partial (`P`) pieces
    /// joined, past this is given out as a line of its own. The runtime splits lines at 16 KiB, so
    /// only a program printing megabytes without a newline (or a damaged file) gets here.
    public static let maxLine = 1 << 20

    /// Feeds raw file bytes; returns the complete lines they end.
    public mutating func feed(_ data: Data) -> [CRILogLine] {
        let scanned = carry.count  // The carry holds no newline: search only what is new.
        carry.append(data)
        var out: [CRILogLine] = []
        var start = carry.startIndex
        var from = carry.index(start, offsetBy: scanned)
        while let nl = carry[from...].firstIndex(of: 0x0a) {
            if let line = parse(String(decoding: carry[start..<nl], as: UTF8.self)) { out.append(line) }
            start = carry.index(after: nl)
            from = start
        }
        // One removal per call: removing each line from the front would copy the rest every time.
        carry.removeSubrange(carry.startIndex..<start)
        if carry.count > Self.maxLine {
            if let line = parse(String(decoding: carry, as: UTF8.self)) { out.append(line) }
            carry = Data()
        }
        return out
    }

    mutating func parse(_ raw: String) -> CRILogLine? {
        let parts = raw.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        let time = String(parts[0]), stream = String(parts[1]), tag = String(parts[2])
        // Only the runtime's two streams: partial lines are kept per stream, and a damaged file
        // must not make that table grow with every line.
        guard stream == "stdout" || stream == "stderr" else { return nil }
        let text = parts.count == 4 ? String(parts[3]) : ""
        var joined = pending[stream]?.text ?? ""
        let firstTime = pending[stream]?.time ?? time
        joined += text
        if tag == "P" && joined.utf8.count <= Self.maxLine {
            pending[stream] = (firstTime, joined)
            return nil
        }
        pending[stream] = nil
        if let want = self.stream, want != stream { return nil }
        if let since, let t = CRILogParser.seconds(firstTime), t < since { return nil }
        return CRILogLine(time: firstTime, stream: stream, text: joined)
    }

    /// RFC 3339 with nanoseconds -> seconds since 1970.
    public static func seconds(_ text: String) -> Double? { Timestamps.parse(text) }

    /// `--since`: a duration back from now (10s, 5m, 2h) or an RFC 3339 time.
    public static func since(_ text: String, now: Double = Date().timeIntervalSince1970) -> Double? {
        if let ms = DurationText.milliseconds(text) { return now - Double(ms) / 1000 }
        return seconds(text)
    }
}
