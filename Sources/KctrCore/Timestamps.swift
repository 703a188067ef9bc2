#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 times from libc's calendar functions.
///
/// Foundation's ISO8601DateFormatter and String(format:) go through CoreFoundation and ICU: a first
/// call touches ~5 MiB of ICU's locale data and ~1 MiB of its code (pages that stay resident until the
/// process ends) and costs millions of instructions. Times here are fixed-format UTC, so libc's
/// gmtime_r/timegm are all that is needed.
public enum Timestamps {
    /// "2026-01-02T03:04:05Z": what ISO8601DateFormatter prints by default (to the nearest millisecond,
    /// then the second it falls in).
    /// Seconds on the monotonic clock, for durations.
    public static func monotonic() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func utc(_ seconds: Double) -> String {
        let whole = ((seconds * 1000).rounded() / 1000).rounded(.down)
        guard let p = parts(whole) else { return "" }
        return date(p) + "T" + clock(p) + "Z"
    }

    /// "2026-01-02T03:04:05.123456Z": UTC with microseconds.
    public static func utcMicros(_ seconds: Double) -> String {
        let whole = seconds.rounded(.down)
        let micros = Int(((seconds - whole) * 1e6).rounded())
        let (sec, frac) = micros >= 1_000_000 ? (whole + 1, 0) : (whole, micros)
        guard let p = parts(sec) else { return "" }
        return date(p) + "T" + clock(p) + "." + pad(frac, 6) + "Z"
    }

    /// Today's date in the local time zone, "2026-01-02".
    public static func localDay(_ seconds: Double) -> String {
        var t = time_t(seconds.rounded(.down))
        var p = tm()
        guard localtime_r(&t, &p) != nil else { return "1970-01-01" }
        return date(p)
    }

    /// Seconds since 1970 of an RFC 3339 time ("2026-01-02T03:04:05.123456789Z", "...+01:00");
    /// fractions beyond the microsecond are dropped; nil when `text` is not one.
    public static func parse(_ text: String) -> Double? {
        let b = Array(text.utf8)
        var i = 0
        func number(_ width: Int) -> Int? {
            guard i + width <= b.count else { return nil }
            var v = 0
            for k in i..<(i + width) {
                guard b[k] >= 0x30, b[k] <= 0x39 else { return nil }
                v = v * 10 + Int(b[k] - 0x30)
            }
            i += width
            return v
        }
        func expect(_ c: UInt8...) -> Bool {
            guard i < b.count, c.contains(b[i]) else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(0x2D), let month = number(2), expect(0x2D), let day = number(2),
              expect(0x54, 0x74, 0x20), let hour = number(2), expect(0x3A), let minute = number(2), expect(0x3A),
              let second = number(2) else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 else { return nil }
        var fraction = 0.0
        if i < b.count, b[i] == 0x2E {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        var offset = 0
        if expect(0x5A, 0x7A) {
            offset = 0
        } else if i < b.count, b[i] == 0x2B || b[i] == 0x2D {
            let sign = b[i] == 0x2D ? -1 : 1
            i += 1
            guard let oh = number(2), expect(0x3A), let om = number(2), oh < 24, om < 60 else { return nil }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        guard i == b.count else { return nil }
        var p = tm()
        p.tm_year = Int32(year - 1900)
        p.tm_mon = Int32(month - 1)
        p.tm_mday = Int32(day)
        p.tm_hour = Int32(hour)
        p.tm_min = Int32(minute)
        p.tm_sec = Int32(second)
        let t = timegm(&p)
        // timegm normalises 31 February into March: such a date is not a date.
        guard p.tm_mday == Int32(day), p.tm_mon == Int32(month - 1) else { return nil }
        return Double(t - time_t(offset)) + (fraction * 1e6).rounded(.down) / 1e6
    }

    private static func parts(_ seconds: Double) -> tm? {
        var t = time_t(seconds)
        var p = tm()
        return gmtime_r(&t, &p) == nil ? nil : p
    }

    private static func date(_ p: tm) -> String {
        pad(Int(p.tm_year) + 1900, 4) + "-" + pad(Int(p.tm_mon) + 1, 2) + "-" + pad(Int(p.tm_mday), 2)
    }

    private static func clock(_ p: tm) -> String {
        pad(Int(p.tm_hour), 2) + ":" + pad(Int(p.tm_min), 2) + ":" + pad(Int(p.tm_sec), 2)
    }

    static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
