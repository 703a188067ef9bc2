/// Where `kctr logs --tail N` starts parsing: found by reading the file backwards in chunks, so that the
/// last lines of a log of gigabytes cost memory for those lines only, not for the file.
///
/// A log line is a run of partial (`P`) records ended by a full one, per stream, and stdout's and
/// stderr's records interleave; parsing from an arbitrary record could begin inside a line. So the scan
/// looks for a point where neither stream is inside a line (the last record of each stream before it is
/// not a `P`) with at least N whole lines after it that pass --stream and --since. CRILogParser, started
/// there, reads exactly what it would have read from the start of the file: the same last N lines, and
/// the same state at the end for --follow.
enum CRILogTail {
    static let chunk = 64 << 10

    /// The most of a record's start kept while its beginning is searched for: a record's time, stream and
    /// tag take ~45 bytes. A record whose first three fields do not fit (no runtime writes one) is skipped
    /// by the scan, as if damaged.
    static let maxHeader = 4096

    /// The offset of the first byte CRILogParser must read (0: the whole file), for a file of `size` bytes
    /// read through `read(offset, count)`.
    static func start(size: Int64, want: Int, stream: String?, since: Double?, chunk: Int = chunk,
                      read: (_ offset: Int64, _ count: Int) throws -> [UInt8]) throws -> Int64 {
        var scan = Scan(want: want, stream: stream, since: since)
        // The newline that ends the record being assembled; bytes after the file's last newline are not a record yet.
        var recordEnd: Int64?
        // The first bytes (at most maxHeader) of that record from the chunk after this one on.
        var carry: [UInt8] = []
        var hi = size
        while hi > 0 {
            let lo = max(0, hi - Int64(chunk))
            let bytes = try read(lo, Int(hi - lo))
            guard bytes.count == Int(hi - lo) else { return 0 }  // The file shrank (rotated): parse what is there.
            var upper = bytes.count
            while let nl = bytes[..<upper].lastIndex(of: 0x0a) {
                if let end = recordEnd {
                    let header = Array((bytes[(nl + 1)..<upper] + carry).prefix(maxHeader))
                    if let found = scan.record(header, truncated: end - (lo + Int64(nl) + 1) > Int64(header.count), end: end + 1) {
                        return found
                    }
                }
                recordEnd = lo + Int64(nl)
                carry = []
                upper = nl
            }
            if recordEnd != nil { carry = Array((bytes[..<upper] + carry).prefix(maxHeader)) }
            hi = lo
        }
        if let end = recordEnd, let found = scan.record(carry, truncated: end > Int64(carry.count), end: end + 1) {
            return found
        }
        return scan.atStartOfFile()
    }

    /// The records seen so far, newest first.
    struct Scan {
        let want: Int
        let stream: String?
        let since: Double?
        /// Per stream, the time of the first piece seen of a line whose full record came later in the file.
        var open: [String: String] = [:]
        /// Whole lines after the current point that pass the filters.
        var lines = 0
        /// A point with enough lines after it, after a full record of one stream: it is where parsing may start
        /// once the other stream's last record before it turns out not to be a `P`.
        var candidate: (offset: Int64, waitingOn: String)?

        /// One record, the one that ends just before `end`; the start offset when it settles the search.
        mutating func record(_ header: [UInt8], truncated: Bool, end: Int64) -> Int64? {
            // CRILogParser's reading: `<time> <stream> <tag> <text>`, stdout and stderr only, any tag but P full.
            let parts = header.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count >= 3, parts.count == 4 || !truncated else { return nil }
            let stream = String(decoding: parts[1], as: UTF8.self)
            guard stream == "stdout" || stream == "stderr" else { return nil }
            let time = String(decoding: parts[0], as: UTF8.self)
            let partial = parts[2].elementsEqual([0x50]) && (parts.count == 4 || !truncated)
            if let c = candidate, c.waitingOn == stream {
                if !partial { return c.offset }
                candidate = nil
            }
            if partial {
                if open[stream] != nil { open[stream] = time }
                return nil
            }
            if let first = open[stream], passes(stream, first) { lines += 1 }
            open[stream] = time
            // The other stream's open line is whole after this point exactly when the point settles (its
            // record before is not a P), and its first piece's time is known then: count it already.
            let other = stream == "stdout" ? "stderr" : "stdout"
            let otherLine = open[other].map { passes(other, $0) ? 1 : 0 } ?? 0
            if lines + otherLine >= want, candidate == nil {
                candidate = (end, other)
            }
            return nil
        }

        /// At the start of the file: a waiting point is settled (nothing of the other stream comes before it).
        func atStartOfFile() -> Int64 { candidate?.offset ?? 0 }

        func passes(_ stream: String, _ time: String) -> Bool {
            if let want = self.stream, want != stream { return false }
            if let since, let t = CRILogParser.seconds(time), t < since { return false }
            return true
        }
    }
}
