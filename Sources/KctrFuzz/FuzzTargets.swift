import Foundation
import KctrCore
import KctrRPC

/// Fuzz targets: each feeds arbitrary bytes to a parser kctr runs on input it does not control,
/// through the same functions the commands call. A target must return normally for every input:
/// thrown errors are expected (they become the command's message); a crash, a hang or unbounded
/// memory is a bug. Used by `kctr-fuzz` (libFuzzer or corpus replay) and by KctrFuzzTests.
public enum FuzzTargets {
    public static let names = ["archive", "json", "toml", "yaml", "crilog", "reply", "cache"]

    /// Inputs longer than this are ignored (libFuzzer's -max_len keeps them shorter anyway).
    public static let maxInput = 1 << 20

    /// Each input runs on a thread with this stack, far smaller than the main thread's 8 MiB: a
    /// recursion without a limit then overflows on inputs as short as libFuzzer's -max_len allows.
    public static let stackSize = 512 << 10

    /// Runs `target` on `data`; false when `target` is not one of `names`.
    @discardableResult
    public static func run(_ target: String, _ data: [UInt8]) -> Bool {
        guard names.contains(target) else { return false }
        guard data.count <= maxInput else { return true }
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            runHere(target, data)
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
        done.wait()
        return true
    }

    static func runHere(_ target: String, _ data: [UInt8]) {
        switch target {
        case "archive": archive(data)
        case "json": json(data)
        case "toml": toml(data)
        case "yaml": yaml(data)
        case "crilog": crilog(data)
        case "reply": reply(data)
        case "cache": CacheFileFuzzing.parse(data)
        default: break
        }
    }

    // MARK: archive: the bytes are an image archive, read as `kctr images import` reads one

    /// The file the archive target writes each input to: tmpfs when there is one, one per process.
    static let archivePath: String = {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return "\(dir)/kctr-fuzz-archive-\(ProcessInfo.processInfo.processIdentifier).tar"
    }()

    static func archive(_ data: [UInt8]) {
        guard FileManager.default.createFile(atPath: archivePath, contents: Data(data)) else { return }
        defer { try? FileManager.default.removeItem(atPath: archivePath) }
        guard let catalog = try? ArchiveCatalog.scan(path: archivePath) else { return }
        _ = try? ImportPlan.make(catalog, source: archivePath, platforms: .all)
        _ = try? ImportPlan.make(catalog, source: archivePath, platforms: .node)
    }

    // MARK: json: index.json / manifest.json and the documents they name

    /// The input is documents separated by a line "--". The first byte picks the layout: even, an
    /// OCI layout whose index.json is document 0; odd, a docker save whose manifest.json is
    /// document 0. Document i (i >= 1) is stored as blob "x:i" (path blobs/x/i) and as file "pi",
    /// so a fuzzed descriptor or manifest.json can name it without computing a sha256.
    static func json(_ data: [UInt8]) {
        guard let selector = data.first else { return }
        let documents = split(Array(data.dropFirst()))
        var catalog = ArchiveCatalog()
        catalog.source = "fuzz.tar"
        let top = selector % 2 == 0 ? "index.json" : "manifest.json"
        for (i, document) in documents.enumerated() {
            let paths = i == 0 ? [top] : ["blobs/x/\(i)", "p\(i)"]
            for path in paths {
                catalog.entries[path] = .init(size: Int64(document.count), magic: Array(document.prefix(8)), link: nil)
                catalog.json[path] = document
            }
        }
        // A link, so that link resolution is exercised too.
        catalog.entries["link"] = .init(size: 0, magic: [], link: "p1")
        _ = try? ImportPlan.make(catalog, source: "fuzz.tar", platforms: selector & 2 == 0 ? .all : .node)
        // The same bytes through the generic JSON reader kctr uses for CRI's verbose info, which must
        // read what JSONSerialization reads, and the same way.
        let text = String(decoding: documents.first ?? [], as: UTF8.self)
        let ours = JSONValue.parse(text)
        // JSONSerialization stops reading at a NUL byte ("1\0x" is 1 to it); JSON has no NUL outside
        // strings and JSONValue.parse refuses it, so texts holding one are not compared.
        if !text.utf8.contains(0), !sameDocument(ours, viaFoundation(text)) {
            fatalError("JSONValue.parse and JSONSerialization disagree on \(Array(text.utf8).prefix(200))")
        }
    }

    /// Equal, numbers to 1e-12 relative: past 17 significant digits JSONSerialization goes through
    /// Decimal and lands a few units in the last place away from the correctly rounded Double.
    public static func sameDocument(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.number(x), .number(y)):
            return x == y || abs(x - y) <= 1e-12 * max(abs(x), abs(y))
        case let (.array(x), .array(y)):
            return x.count == y.count && zip(x, y).allSatisfy { sameDocument($0, $1) }
        case let (.object(x), .object(y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { sameDocument(v, $0) } ?? false }
        default:
            return a == b
        }
    }

    /// What JSONSerialization reads in `text`, as a JSONValue (booleans are NSNumbers of type "c").
    public static func viaFoundation(_ text: String) -> JSONValue {
        guard let any = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return .string(text)
        }
        return convert(any)
    }

    static func convert(_ any: Any) -> JSONValue {
        switch any {
        case let s as String: return .string(s)
        case let n as NSNumber:
            return String(cString: n.objCType) == "c" ? .bool(n.boolValue) : .number(n.doubleValue)
        case let a as [Any]: return .array(a.map(convert))
        case let o as [String: Any]: return .object(o.mapValues(convert))
        default: return .null
        }
    }

    public static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        let separator = Array("\n--\n".utf8)
        var parts: [[UInt8]] = []
        var start = 0
        var i = 0
        while i + separator.count <= bytes.count {
            if bytes[i..<(i + separator.count)].elementsEqual(separator) {
                parts.append(Array(bytes[start..<i]))
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(Array(bytes[start...]))
        return parts
    }

    // MARK: node files: containerd's config.toml, kubelet config and crictl.yaml, CRI logs

    static func toml(_ data: [UInt8]) {
        _ = try? TOML.parse(String(decoding: data, as: UTF8.self))
    }

    static func yaml(_ data: [UInt8]) {
        let text = String(decoding: data, as: UTF8.self)
        let (kubelet, _) = NodeFiles.parseYAML(text, path: "fuzz.yaml")
        // As `kctr df` reads the kubelet's config: thresholds, quantities, durations.
        if let kubelet { _ = try? KubeletDiskPolicy.parse(kubelet, path: "fuzz.yaml") }
        _ = try? CrictlConfig.parse(text, path: "fuzz.yaml")
    }

    /// The first byte sets the size of the chunks the rest is fed in (log files are read as they grow).
    static func crilog(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let chunk = Int(first) + 1
        let body = Array(data.dropFirst())
        var parser = CRILogParser(stream: first & 1 == 0 ? nil : "stdout", since: first & 2 == 0 ? nil : 1_600_000_000)
        var offset = 0
        while offset < body.count {
            let end = min(body.count, offset + chunk)
            for line in parser.feed(Data(body[offset..<end])) {
                _ = CRILogParser.seconds(line.time)
            }
            offset = end
        }
    }

    // MARK: reply: what the daemon's socket sends, decoded as kctr decodes replies

    /// The input is a message type's full name, a newline, then the reply's bytes (the seeds are real
    /// replies, see kctr-lab replies). A name that is not a reply type (a mutated one) picks
    /// one of them by its bytes, so that every input decodes something.
    static func reply(_ data: [UInt8]) {
        let names = ReplyFuzzing.typeNames
        guard !names.isEmpty else { return }
        let newline = data.firstIndex(of: 0x0a) ?? data.count
        var name = String(decoding: data[..<newline], as: UTF8.self)
        if !names.contains(name) {
            name = names[data[..<newline].reduce(0) { ($0 &+ Int($1)) % names.count }]
        }
        ReplyFuzzing.decode(name, Array(data[min(newline + 1, data.count)...]))
    }
}
