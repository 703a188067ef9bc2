import Foundation

/// `kctr inspectp -o table` and `kctr inspect -o table`: the few facts a node debugger reads first, from
/// the same document the JSON output prints (CRI status + the runtime's verbose info).
public enum InspectSummary {
    public typealias Line = (key: String, value: String)

    /// The CRI enum values as words.
    static let sandboxStates = ["Ready", "NotReady"]
    static let containerStates = ["Created", "Running", "Exited", "Unknown"]
    static let namespaceModes = ["pod", "container", "node (host)", "target"]

    public static func pod(_ doc: JSONValue) -> [Line] {
        let status = doc["status"] ?? .null
        let info = doc["info"]?["info"] ?? .null
        let meta = status["metadata"] ?? .null
        var lines: [Line] = [("POD", status["id"]?.string ?? "?")]
        lines.append(("name", "\(meta["name"]?.string ?? "?") (namespace \(meta["namespace"]?.string ?? "?"), uid \(meta["uid"]?.string ?? "?"), attempt \(int(meta["attempt"])))"))
        var state = word(status["state"], sandboxStates)
        if let process = info["processStatus"]?.string { state += ", pause process \(process)" }
        if let pid = number(info["pid"]), pid > 0 { state += ", pid \(pid)" }
        lines.append(("state", state))
        lines.append(("created", time(status["createdAt"])))
        let options = status["linux"]?["namespaces"]?["options"] ?? .null
        let netMode = int(options["network"])
        var network = "network \(word(options["network"], namespaceModes)), pid \(word(options["pid"], namespaceModes)), ipc \(word(options["ipc"], namespaceModes))"
        if netMode != 2 {
            var ips = [status["network"]?["ip"]?.string ?? ""].filter { !$0.isEmpty }
            if case .array(let more)? = status["network"]?["additionalIps"] { ips += more.compactMap { $0["ip"]?.string } }
            network += ips.isEmpty ? ", no IP" : ", IP \(ips.joined(separator: ", "))"
        }
        lines.append(("namespaces", network))
        lines.append(("pause image", info["image"]?.string ?? "?"))
        lines += runtime(handler: status["runtimeHandler"]?.string, info: info)
        lines.append(("labels", pairs(status["labels"])))
        lines.append(("annotations", pairs(status["annotations"])))
        if case .array(let containers)? = doc["containers"] {
            let rows = containers.map { c in
                "\((c["id"]?.string ?? "?").prefix(13))  \(c["name"]?.string ?? "?")  \(c["state"]?.string ?? "?")  attempt \(int(c["attempt"]))"
            }
            lines.append(("containers", rows.isEmpty ? "none" : rows.joined(separator: "\n")))
        }
        return lines
    }

    public static func container(_ doc: JSONValue) -> [Line] {
        let status = doc["status"] ?? .null
        let info = doc["info"]?["info"] ?? .null
        let meta = status["metadata"] ?? .null
        var lines: [Line] = [("CONTAINER", status["id"]?.string ?? "?")]
        var name = "\(meta["name"]?.string ?? "?") (attempt \(int(meta["attempt"])))"
        if let pod = status["labels"]?["io.kubernetes.pod.name"]?.string {
            name += ", pod \(status["labels"]?["io.kubernetes.pod.namespace"]?.string ?? "?")/\(pod)"
        }
        if let sandbox = info["sandboxID"]?.string { name += " \(sandbox.prefix(13))" }
        lines.append(("name", name))
        let imageName = status["image"]?["image"]?.string ?? "?"
        let imageRef = status["imageRef"]?.string ?? ""
        lines.append(("image", imageRef.isEmpty || imageRef == imageName ? imageName : "\(imageName) (\(imageRef))"))
        var state = word(status["state"], containerStates)
        if int(status["state"]) == 2 {
            state += ", exit code \(int(status["exitCode"]))"
            if let reason = status["reason"]?.string, !reason.isEmpty { state += ", reason \(reason)" }
        }
        if let pid = number(info["pid"]), pid > 0 { state += ", pid \(pid)" }
        lines.append(("state", state))
        if let message = status["message"]?.string, !message.isEmpty { lines.append(("message", message)) }
        lines.append(("created", time(status["createdAt"])))
        lines.append(("started", time(status["startedAt"])))
        lines.append(("finished", time(status["finishedAt"])))
        lines.append(("log", status["logPath"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? "none"))
        var mounts: [String] = []
        if case .array(let list)? = status["mounts"] {
            mounts = list.map { m in
                "\(m["hostPath"]?.string ?? "?") -> \(m["containerPath"]?.string ?? "?")\(m["readonly"]?.bool == true ? " (ro)" : "")"
            }
        }
        lines.append(("mounts", mounts.isEmpty ? "none" : mounts.joined(separator: "\n")))
        lines += runtime(handler: nil, info: info)
        lines.append(("labels", pairs(status["labels"])))
        return lines
    }

    /// Items separated by a blank line, keys aligned.
    public static func render(_ items: [[Line]]) -> String {
        items.map { lines in
            let width = (lines.map(\.key.count).max() ?? 0) + 2
            return lines.map { line in
                let pad = String(repeating: " ", count: width)
                let values = line.value.split(separator: "\n", omittingEmptySubsequences: false)
                let first = Render.pad(line.key + ":", width) + (values.first.map(String.init) ?? "")
                return ([first] + values.dropFirst().map { pad + $0 }).joined(separator: "\n")
            }.joined(separator: "\n") + "\n"
        }.joined(separator: "\n")
    }

    static func runtime(handler: String?, info: JSONValue) -> [Line] {
        var lines: [Line] = []
        var runtime = info["runtimeType"]?.string ?? "?"
        if let handler { runtime = "handler \(handler.isEmpty ? "(default)" : handler), \(runtime)" }
        lines.append(("runtime", runtime))
        var options = pairs(info["runtimeOptions"])
        if runtime.contains("runc") {
            // runc's options omit false: say which cgroup driver that means, the kubelet's must match.
            let systemd = info["runtimeOptions"]?["systemd_cgroup"]?.bool == true
            options += "; cgroup driver \(systemd ? "systemd" : "cgroupfs") (SystemdCgroup = \(systemd))"
        }
        lines.append(("runtime options", options))
        if let cgroup = info["runtimeSpec"]?["linux"]?["cgroupsPath"]?.string { lines.append(("cgroup", cgroup)) }
        if let snapshotter = info["snapshotter"]?.string {
            lines.append(("snapshot", "\(snapshotter) \(info["snapshotKey"]?.string ?? "?")"))
        }
        return lines
    }

    static func word(_ v: JSONValue?, _ words: [String]) -> String {
        if let s = v?.string { return s }
        let n = int(v)
        return words.indices.contains(n) ? words[n] : "\(n)"
    }

    static func number(_ v: JSONValue?) -> Int? {
        if case .number(let n)? = v, n.isFinite, abs(n) < 9e18 { return Int(n) }
        return nil
    }

    static func int(_ v: JSONValue?) -> Int { number(v) ?? 0 }

    /// Nanoseconds since 1970 as an ISO time; "-" for zero (not yet).
    static func time(_ v: JSONValue?) -> String {
        guard let ns = number(v), ns > 0 else { return "-" }
        return Timestamps.utc(Double(ns) / 1e9)
    }

    /// `k=v, k=v` sorted by key; scalars only (nested values as JSON).
    static func pairs(_ v: JSONValue?) -> String {
        guard let o = v?.object, !o.isEmpty else { return "none" }
        return o.keys.sorted().map { key in
            let value: String
            switch o[key] {
            case .string(let s)?: value = s
            case .bool(let b)?: value = "\(b)"
            case .number(let n)?: value = n.rounded() == n && abs(n) < 9e15 ? "\(Int(n))" : "\(n)"
            default: value = (try? Render.json(o[key] ?? .null).trimmingCharacters(in: .whitespacesAndNewlines)) ?? "?"
            }
            return "\(key)=\(value)"
        }.joined(separator: ", ")
    }
}
