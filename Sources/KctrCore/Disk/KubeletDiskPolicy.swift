import Foundation

/// The kubelet's image garbage collection and disk eviction settings, from its config file
/// (KubeletConfiguration), with the kubelet's defaults where a field is unset.
public struct KubeletDiskPolicy: Codable, Sendable, Equatable {
    public struct Threshold: Codable, Sendable, Equatable {
        /// "imagefs.available", "nodefs.available", "imagefs.inodesFree", "nodefs.inodesFree".
        public var signal: String
        /// "hard" or "soft".
        public var kind: String
        /// As written: "15%", "1Gi", "100000".
        public var value: String
        /// Where it came from: "config", or "default".
        public var source: String
        /// Set for "15%": the fraction of the capacity.
        public var percent: Double?
        /// Set for a quantity: bytes (or inodes).
        public var quantity: Int64?
        /// The soft threshold's grace period as written, when the config gives one.
        public var gracePeriod: String?
    }

    /// The config file read, and whether it existed.
    public var configPath: String
    public var configFound: Bool
    public var highThresholdPercent: Int
    public var lowThresholdPercent: Int
    public var minimumGCAgeSeconds: Double
    /// 0: disabled (the default).
    public var maximumGCAgeSeconds: Double
    /// Which of the values above came from the file (the others are the kubelet's defaults).
    public var fromConfig: [String]
    public var thresholds: [Threshold]
    /// Signals a partial evictionHard disables (the kubelet sets unspecified defaults to 0 unless
    /// mergeDefaultEvictionSettings is true).
    public var disabledDefaults: [String]

    public static let defaultPath = "/var/lib/kubelet/config.yaml"
    /// The kubelet's disk-related defaults of evictionHard on Linux (imagefs.inodesFree: recent kubelets;
    /// older ones have the other three).
    public static let defaultEvictionHard: [(String, String)] = [
        ("imagefs.available", "15%"), ("imagefs.inodesFree", "5%"), ("nodefs.available", "10%"), ("nodefs.inodesFree", "5%"),
    ]
    static let diskSignals: Set<String> = ["imagefs.available", "imagefs.inodesFree", "nodefs.available", "nodefs.inodesFree"]

    /// Reads the file at `path`: absent means the kubelet's defaults; unreadable or invalid is an error.
    public static func load(path: String) throws -> KubeletDiskPolicy {
        let (config, error) = NodeFiles.loadKubeletConfig(path: path)
        if let error {
            throw KctrError("cannot read the kubelet config \(path): \(error)",
                            hint: "pass the kubelet's config file with --kubelet-config (ps -o args= -C kubelet shows its --config)")
        }
        return try parse(config, path: path)
    }

    /// The policy from a parsed KubeletConfiguration (nil: no file, every default).
    public static func parse(_ config: JSONValue?, path: String) throws -> KubeletDiskPolicy {
        var fromConfig: [String] = []
        func int(_ key: String, _ fallback: Int) throws -> Int {
            guard let v = config?[key], v != .null else { return fallback }
            guard case .number(let n) = v, n.rounded() == n, n >= 0, n <= 100 else {
                throw KctrError("the kubelet config \(path) sets \(key) to \(describe(v)): not a percentage from 0 to 100",
                                hint: "fix it there: the kubelet refuses such a config as well")
            }
            fromConfig.append(key)
            return Int(n)
        }
        func duration(_ key: String, _ fallback: Double) throws -> Double {
            guard let v = config?[key], v != .null else { return fallback }
            guard let text = v.string, let seconds = GoDuration.seconds(text) else {
                throw KctrError("the kubelet config \(path) sets \(key) to \(describe(v)): not a duration",
                                hint: "durations are written as Go writes them: 2m0s, 1h30m, 90s")
            }
            fromConfig.append(key)
            return seconds
        }
        var p = KubeletDiskPolicy(configPath: path, configFound: config != nil,
                                  highThresholdPercent: try int("imageGCHighThresholdPercent", 85),
                                  lowThresholdPercent: try int("imageGCLowThresholdPercent", 80),
                                  minimumGCAgeSeconds: try duration("imageMinimumGCAge", 120),
                                  maximumGCAgeSeconds: try duration("imageMaximumGCAge", 0),
                                  fromConfig: [], thresholds: [], disabledDefaults: [])
        guard p.lowThresholdPercent < p.highThresholdPercent || p.highThresholdPercent == 100 else {
            throw KctrError("the kubelet config \(path) sets imageGCLowThresholdPercent (\(p.lowThresholdPercent)) not below imageGCHighThresholdPercent (\(p.highThresholdPercent))",
                            hint: "the kubelet refuses this config: set low below high")
        }
        let hard = try signals(config?["evictionHard"], key: "evictionHard", path: path)
        let soft = try signals(config?["evictionSoft"], key: "evictionSoft", path: path)
        let grace = try signals(config?["evictionSoftGracePeriod"], key: "evictionSoftGracePeriod", path: path, values: false)
        let merge = config?["mergeDefaultEvictionSettings"]?.bool ?? false
        var thresholds: [Threshold] = []
        if hard.isEmpty && config?["evictionHard"] == nil {
            for (signal, value) in defaultEvictionHard {
                thresholds.append(try threshold(signal, value, kind: "hard", source: "default", path: path))
            }
        } else {
            for (signal, value) in hard where diskSignals.contains(signal) {
                thresholds.append(try threshold(signal, value, kind: "hard", source: "config", path: path))
            }
            for (signal, value) in defaultEvictionHard where hard[signal] == nil {
                if merge {
                    thresholds.append(try threshold(signal, value, kind: "hard", source: "default", path: path))
                } else {
                    p.disabledDefaults.append(signal)
                }
            }
        }
        for (signal, value) in soft where diskSignals.contains(signal) {
            var t = try threshold(signal, value, kind: "soft", source: "config", path: path)
            t.gracePeriod = grace[signal]
            thresholds.append(t)
        }
        p.thresholds = thresholds.sorted { ($0.signal, $0.kind) < ($1.signal, $1.kind) }
        p.disabledDefaults.sort()
        if !hard.isEmpty || config?["evictionHard"] != nil { fromConfig.append("evictionHard") }
        if !soft.isEmpty { fromConfig.append("evictionSoft") }
        p.fromConfig = fromConfig.sorted()
        return p
    }

    private static func describe(_ v: JSONValue) -> String {
        switch v {
        case .string(let s): return "\"\(s)\""
        case .number(let n): return n.rounded() == n ? "\(Int64(n))" : "\(n)"
        case .bool(let b): return "\(b)"
        default: return "a \(v == .null ? "null" : "structure")"
        }
    }

    private static func signals(_ v: JSONValue?, key: String, path: String, values: Bool = true) throws -> [String: String] {
        guard let v, v != .null else { return [:] }
        guard let object = v.object else {
            throw KctrError("the kubelet config \(path) sets \(key) to \(describe(v)): not a map of signal to threshold",
                            hint: "write it as \(key): {imagefs.available: \"15%\"}")
        }
        var out: [String: String] = [:]
        for (signal, value) in object {
            switch value {
            case .string(let s): out[signal] = s
            case .number(let n): out[signal] = n.rounded() == n ? "\(Int64(n))" : "\(n)"
            default:
                throw KctrError("the kubelet config \(path) sets \(key).\(signal) to \(describe(value)): not a \(values ? "quantity or percentage" : "duration")")
            }
        }
        return out
    }

    static func threshold(_ signal: String, _ value: String, kind: String, source: String, path: String) throws -> Threshold {
        var t = Threshold(signal: signal, kind: kind, value: value, source: source)
        let text = value.trimmingCharacters(in: .whitespaces)
        if text.hasSuffix("%") {
            guard let n = Double(text.dropLast()), n >= 0, n <= 100 else {
                throw KctrError("the kubelet config \(path) sets \(kind == "hard" ? "evictionHard" : "evictionSoft").\(signal) to \"\(value)\": not a percentage")
            }
            t.percent = n / 100
        } else {
            guard let q = Quantity.value(text), q >= 0 else {
                throw KctrError("the kubelet config \(path) sets \(kind == "hard" ? "evictionHard" : "evictionSoft").\(signal) to \"\(value)\": not a quantity",
                                hint: "quantities are written as Kubernetes writes them: 1Gi, 500Mi, 2G, or a percentage: 10%")
            }
            t.quantity = q
        }
        return t
    }

    // MARK: the kubelet's arithmetic

    /// The kubelet's image GC usage: `100 - int(available*100/capacity)` (integer division).
    public static func usagePercent(capacity: Int64, available: Int64) -> Int {
        guard capacity > 0 else { return 0 }
        return 100 - Int(multiply(available, 100) / capacity)
    }

    /// Bytes that must still be written before the kubelet's usage reaches `high` percent (0 when it
    /// already has): GC starts once `available*100/capacity <= 100 - high`, i.e. once
    /// available <= floor(((101 - high) * capacity - 1) / 100).
    public static func bytesUntilGC(capacity: Int64, available: Int64, high: Int) -> Int64 {
        guard capacity > 0, high <= 100 else { return 0 }
        let limit = (multiply(capacity, Int64(101 - high)) - 1) / 100
        return max(0, available - limit)
    }

    /// What the kubelet tries to free when it collects: `capacity*(100-low)/100 - available`.
    public static func bytesToFree(capacity: Int64, available: Int64, low: Int) -> Int64 {
        multiply(capacity, Int64(100 - low)) / 100 - available
    }

    /// Available bytes (or inodes) below which a threshold is met.
    public static func limit(_ t: Threshold, capacity: Int64) -> Int64 {
        if let p = t.percent { return Int64((Double(capacity) * p).rounded(.up)) }
        return t.quantity ?? 0
    }

    private static func multiply(_ a: Int64, _ b: Int64) -> Int64 {
        let (v, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow ? Int64.max : v
    }
}

/// Kubernetes quantities: "100Mi", "1.5Gi", "2G", "500k", "12345".
public enum Quantity {
    static let suffixes: [(String, Double)] = [
        ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776), ("Pi", 1_125_899_906_842_624),
        ("Ei", 1_152_921_504_606_846_976), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
    ]

    public static func value(_ text: String) -> Int64? {
        for (suffix, factor) in suffixes where text.hasSuffix(suffix) {
            guard let n = Double(text.dropLast(suffix.count)) else { return nil }
            return clamp(n * factor)
        }
        guard let n = Double(text) else { return nil }
        return clamp(n)
    }

    private static func clamp(_ v: Double) -> Int64? {
        guard v.isFinite, v >= 0, v < 9.2e18 else { return nil }
        return Int64(v.rounded(.up))
    }
}

/// Go's time.Duration text: "2m0s", "1h30m", "1.5h", "300ms", "90s".
public enum GoDuration {
    public static func seconds(_ text: String) -> Double? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return 0 }
        let units: [(String, Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let n = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let (unit, factor) = units.first(where: { rest.hasPrefix($0.0) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.count)
            total += n * factor
        }
        return total
    }
}
