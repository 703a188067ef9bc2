import Foundation
import KctrLab
import XCTest

/// kctr's `-o json` documents against crictl's, field by field, on the same pod, containers and images of a
/// private containerd: the key paths, the value types and the enum names must match (kctr's additions, under
/// the key `kctr`, aside). crictl's output was recorded as fixtures (Fixtures/crictl/containerd-X.Y/); when
/// crictl is on PATH (or at $KCTR_CRICTL) the test compares with it live too, and with KCTR_RECORD_CRICTL=1
/// it records the fixtures again.
final class CrictlDocumentTests: XCTestCase {
    nonisolated(unsafe) static var podID = ""
    nonisolated(unsafe) static var runningID = ""
    nonisolated(unsafe) static var exitedID = ""

    static let shared = SharedLab { lab in
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("kctr import failed: \(r.stderr)") }
        let (pod, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "web-1", logDir: lab.base + "/pod-logs", labels: ["app": "web"]), containers: [
            ContainerSpec(name: "app", command: ["sh", "-c", "exec sleep 3600"]),
            ContainerSpec(name: "done", command: ["sh", "-c", "exit 3"]),
        ])
        guard ids.count == 2 else { throw SetupError("expected 2 containers, got \(ids.count)") }
        (podID, runningID, exitedID) = (pod, ids[0], ids[1])
        // The exited container's state settles once its task is gone.
        for _ in 0..<100 where !lab.kctr(["ps", "-a", "--state", "exited", "-q"]).lines.contains(exitedID) {
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    override class func tearDown() { shared.stop() }

    /// Each document: its fixture name, kctr's arguments, crictl's.
    static func cases() -> [(name: String, kctr: [String], crictl: [String])] {
        [
            ("inspect-running", ["inspect", runningID], ["inspect", runningID]),
            ("inspect-exited", ["inspect", exitedID], ["inspect", exitedID]),
            ("inspectp", ["inspectp", podID], ["inspectp", podID]),
            ("ps", ["ps", "-a", "-o", "json"], ["ps", "-a", "-o", "json"]),
            ("pods", ["pods", "-o", "json"], ["pods", "-o", "json"]),
            ("inspecti", ["images", "inspect", "docker.io/library/busybox:kctr-test"], ["inspecti", "docker.io/library/busybox:kctr-test"]),
            ("stats", ["stats", "-o", "json", runningID], ["stats", "-o", "json", runningID]),
            ("info", ["info", "-o", "json"], ["info", "-o", "json"]),
        ]
    }

    static var fixtures: String { Paths.root + "/Tests/KctrIntegrationTests/Fixtures/crictl" }

    static var crictl: String? {
        if let path = ProcessInfo.processInfo.environment["KCTR_CRICTL"], !path.isEmpty { return path }
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
        return paths.map { "\($0)/crictl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// "1.6" or "2.3": the fixtures recorded on that containerd.
    func daemonSeries(_ lab: Lab) throws -> String {
        let v = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lab.kctr(["version", "-o", "json"]).stdout.utf8)) as? [String: Any])
        let version = try XCTUnwrap((v["containerd"] as? [String: Any])?["version"] as? String).trimmingCharacters(in: CharacterSet(charactersIn: "v"))
        return version.split(separator: ".").prefix(2).joined(separator: ".")
    }

    func testKctrDocumentsHaveCrictlsShape() throws {
        let lab = try Self.shared.get()
        let dir = Self.fixtures + "/containerd-" + (try daemonSeries(lab))
        let record = ProcessInfo.processInfo.environment["KCTR_RECORD_CRICTL"] == "1"
        var compared = 0
        for c in Self.cases() {
            let k = lab.kctr(c.kctr)
            XCTAssertExit(k, 0)
            let mine = try JSONSerialization.jsonObject(with: Data(k.stdout.utf8), options: .fragmentsAllowed)
            let kctrPaths = DocumentShape.paths(mine, dropping: "kctr")
            if let crictl = Self.crictl {
                let r = runProcess([crictl, "--runtime-endpoint", "unix://" + lab.socket, "--image-endpoint", "unix://" + lab.socket] + c.crictl)
                XCTAssertExit(r, 0)
                let theirs = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: .fragmentsAllowed)
                DocumentShape.assertSame(kctrPaths, DocumentShape.paths(theirs, dropping: nil), c.name + " (live crictl)")
                if record {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                    let normalised = DocumentShape.normalise(theirs, base: lab.base)
                    let data = try JSONSerialization.data(withJSONObject: normalised, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
                    try (data + Data("\n".utf8)).write(to: URL(fileURLWithPath: "\(dir)/\(c.name).json"))
                }
                compared += 1
            }
            let fixture = "\(dir)/\(c.name).json"
            guard FileManager.default.fileExists(atPath: fixture) else { continue }
            let recorded = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture)), options: .fragmentsAllowed)
            DocumentShape.assertSame(kctrPaths, DocumentShape.paths(recorded, dropping: nil), c.name + " (fixture \(fixture))")
            compared += 1
        }
        if compared == 0 { throw XCTSkip("no crictl on PATH and no fixtures for this containerd in \(dir)") }
    }

    /// Values crictl converts: RFC 3339 times in inspect, int64 as strings in lists, enum names.
    func testValuesAreConvertedAsCrictlConvertsThem() throws {
        let lab = try Self.shared.get()
        let inspect = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lab.kctr(["inspect", Self.exitedID]).stdout.utf8)) as? [String: Any])
        let status = try XCTUnwrap(inspect["status"] as? [String: Any])
        XCTAssertEqual(status["state"] as? String, "CONTAINER_EXITED")
        XCTAssertEqual(status["exitCode"] as? Int, 3)
        for key in ["createdAt", "startedAt", "finishedAt"] {
            let time = try XCTUnwrap(status[key] as? String, key)
            XCTAssertNotNil(time.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$"#, options: .regularExpression), "\(key): \(time)")
        }
        XCTAssertTrue(status.keys.contains("user"), "unset messages are null, as crictl prints them")
        let ps = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lab.kctr(["ps", "-o", "json"]).stdout.utf8)) as? [String: Any])
        let running = try XCTUnwrap((ps["containers"] as? [[String: Any]])?.first)
        XCTAssertEqual(running["id"] as? String, Self.runningID)
        XCTAssertEqual(running["state"] as? String, "CONTAINER_RUNNING")
        XCTAssertNotNil(Int64(try XCTUnwrap(running["createdAt"] as? String)))
        let extras = try XCTUnwrap(running["kctr"] as? [String: Any])
        XCTAssertEqual(extras["podName"] as? String, "web-1")
        XCTAssertEqual(extras["taskStatus"] as? String, "running")
        XCTAssertGreaterThan(extras["pid"] as? Int ?? 0, 0)
        let image = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(lab.kctr(["images", "inspect", "busybox:kctr-test"]).stdout.utf8)) as? [String: Any])
        XCTAssertEqual((image["status"] as? [String: Any])?["repoTags"] as? [String], ["docker.io/library/busybox:kctr-test"])
        XCTAssertEqual((image["kctr"] as? [String: Any])?["name"] as? String, "docker.io/library/busybox:kctr-test")
        let podsYAML = lab.kctr(["pods", "-o", "yaml"])
        XCTAssertTrue(podsYAML.stdout.contains("state: SANDBOX_READY"), podsYAML.stdout)
        XCTAssertTrue(podsYAML.stdout.contains("sandboxImage: registry.k8s.io/pause:3.9"), podsYAML.stdout)
    }
}

/// A document as the set of its key paths with each value's type (enum names spelled out).
enum DocumentShape {
    static func paths(_ value: Any, dropping extra: String?, at path: String = "") -> Set<String> {
        switch value {
        case let o as [String: Any]:
            if o.isEmpty { return ["\(path): {}"] }
            var out: Set<String> = []
            for (k, v) in o where k != extra { out.formUnion(paths(v, dropping: extra, at: "\(path).\(k)")) }
            return out
        case let a as [Any]:
            if a.isEmpty { return ["\(path): []"] }
            return a.reduce(into: Set<String>()) { $0.formUnion(paths($1, dropping: extra, at: path + "[]")) }
        case let s as String:
            return [s.range(of: "^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$", options: .regularExpression) != nil ? "\(path): enum \(s)" : "\(path): string"]
        case let n as NSNumber:
            return [isBool(n) ? "\(path): bool" : "\(path): number"]
        case is NSNull:
            return ["\(path): null"]
        default:
            return ["\(path): \(type(of: value))"]
        }
    }

    /// JSONSerialization's true and false (NSNumbers of type char).
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    static func assertSame(_ kctr: Set<String>, _ crictl: Set<String>, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let missing = crictl.subtracting(kctr).sorted()
        let extra = kctr.subtracting(crictl).sorted()
        XCTAssertTrue(missing.isEmpty && extra.isEmpty,
                      "\(what): crictl has, kctr not:\n  \(missing.joined(separator: "\n  "))\nkctr has, crictl not:\n  \(extra.joined(separator: "\n  "))",
                      file: file, line: line)
    }

    /// crictl's output with what changes from run to run replaced: IDs, the lab's directory, times, PIDs.
    static func normalise(_ value: Any, base: String, key: String = "") -> Any {
        switch value {
        case let o as [String: Any]:
            return Dictionary(uniqueKeysWithValues: o.map { (normaliseString($0.key, base: base), normalise($0.value, base: base, key: $0.key)) })
        case let a as [Any]:
            return a.map { normalise($0, base: base, key: key) }
        case let s as String:
            return normaliseString(s, base: base)
        case let n as NSNumber where !isBool(n) && ["pid", "timestamp"].contains(key.lowercased()):
            return 0
        default:
            return value
        }
    }

    static func normaliseString(_ s: String, base: String) -> String {
        var out = s.replacingOccurrences(of: base, with: "<lab>")
        for (pattern, replacement) in [("[0-9a-f]{64}", "<id>"), (#"^\d{4}-\d\d-\d\dT[0-9:.]+Z$"#, "<time>"), (#"^\d{12,}$"#, "<int64>")] {
            out = out.replacingOccurrences(of: pattern, with: replacement, options: .regularExpression)
        }
        return out
    }
}

/// kctr's own inspection of each image in `images inspect -o json` (under `kctr` in crictl's document: one
/// object for one image, an array for several).
func kctrInspections(_ text: String) -> [[String: Any]]? {
    guard let doc = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { return nil }
    let items = (doc as? [[String: Any]]) ?? ((doc as? [String: Any]).map { [$0] } ?? [])
    let inspections = items.compactMap { $0["kctr"] as? [String: Any] }
    return inspections.count == items.count && !items.isEmpty ? inspections : nil
}
