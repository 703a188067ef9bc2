import Foundation

/// What long work (import, export, pull) reports as it goes; one view renders it (ProgressState).
public enum ProgressEvent: Sendable, Equatable {
    /// The whole job: bytes to move (0 while unknown) and images; may come again with a new total.
    case job(bytes: Int64, images: Int)
    /// Bytes moved since the last event.
    case bytes(Int64)
    /// Working on image `index` (1-based) of the job, named `name`.
    case image(index: Int, name: String)
    /// The current step: "writing blob 1a2b3c", "unpacking layer 2/5 4d5e6f", "downloading 3 layers".
    case step(String)
}

public typealias ProgressSink = @Sendable (ProgressEvent) -> Void

/// The state of a job's progress, and its one-line rendering: a bar for the bytes of the whole job,
/// its rate and time left, which image (n of m) and which step. Pure: the clock is passed in.
public final class ProgressState: @unchecked Sendable {
    // @unchecked: every field is guarded by `lock` (events come from the transfer thread, renders from the caller's).
    private let lock = NSLock()
    private let started: Double
    private var total: Int64 = 0
    private var done: Int64 = 0
    private var images = 0
    private var image = 0
    private var name = ""
    private var step = ""
    /// Bumped whenever the image changes (what a plain log prints a line for).
    public private(set) var generation = 0

    public init(now: Double) { started = now }

    public func apply(_ event: ProgressEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .job(let bytes, let count):
            total = max(bytes, 0)
            images = count
        case .bytes(let n):
            done += n
        case .image(let index, let n):
            if index != image || n != name { generation += 1 }
            image = index
            name = n
            step = ""
        case .step(let s):
            step = s
        }
    }

    /// `[=====>    ]  45%  120.3 MiB/267.0 MiB  12.5 MiB/s  0:12 left  image 2/3 NAME  STEP`, cut to `width`.
    public func line(now: Double, width: Int, bar: Bool) -> String {
        lock.lock()
        let (total, done, images, image, name, step) = (self.total, self.done, self.images, self.image, self.name, self.step)
        lock.unlock()
        var parts: [String] = []
        let elapsed = max(now - started, 0.001)
        let rate = Double(done) / elapsed
        if total > 0 {
            let fraction = min(Double(done) / Double(total), 1)
            if bar {
                let cells = 20, filled = Int(fraction * Double(cells))
                parts.append("[" + String(repeating: "=", count: filled) + (filled < cells ? ">" + String(repeating: " ", count: cells - filled - 1) : "") + "]")
            }
            let percent = "\(Int(fraction * 100))%"
            parts.append(String(repeating: " ", count: max(0, 4 - percent.count)) + percent)
            parts.append("\(Render.size(done))/\(Render.size(total))")
        } else if done > 0 {
            parts.append(Render.size(done))
        }
        if done > 0 && elapsed >= 0.5 {
            parts.append("\(Render.size(Int64(rate)))/s")
            if total > done && rate > 0 { parts.append("\(Self.clock(Double(total - done) / rate)) left") }
        }
        if images > 1 && image > 0 { parts.append("image \(image)/\(images) \(name)") } else if !name.isEmpty { parts.append(name) }
        if !step.isEmpty { parts.append(step) }
        let text = parts.joined(separator: "  ")
        guard width > 0, text.count > width else { return text }
        return String(text.prefix(max(width - 1, 0))) + "…"
    }

    /// 75 -> "1:15", 3725 -> "1:02:05".
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        let two = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }
}
