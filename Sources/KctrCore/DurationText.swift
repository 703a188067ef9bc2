/// `--timeout`: "500ms", "10s", "2m", or a number of seconds.
/// (Not Swift's Duration: text in, milliseconds out.)
public enum DurationText {
    public static func milliseconds(_ text: String) -> Int64? {
        // Trimmed by hand: Foundation's trimmingCharacters costs ~0.8 M instructions
        // (CharacterSet set-up) on the start-up path of every command.
        var t = Substring(text)
        while let c = t.first, c == " " || c == "\t" { t.removeFirst() }
        while let c = t.last, c == " " || c == "\t" { t.removeLast() }
        let units: [(String, Double)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)) else { return nil }
            return clamp(v * factor)
        }
        guard let v = Double(t) else { return nil }
        return clamp(v * 1000)
    }

    /// Finite, non-negative and at most a year; nil otherwise.
    private static func clamp(_ ms: Double) -> Int64? {
        guard ms.isFinite, ms >= 0, ms <= 365 * 86_400_000 else { return nil }
        return Int64(ms)
    }

    public static func describe(milliseconds ms: Int64) -> String {
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }
}
