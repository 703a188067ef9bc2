import Foundation
import Yams

/// Reading the node's configuration files other than config.toml (ContainerdConfigFile): the kubelet's
/// and kube-proxy's YAML, CNI network configs. Each is read bounded (SmallFile) and parsed with a
/// bounded parser; what cannot be read comes back as a reason, never as a crash.
public enum NodeFiles {}

extension NodeFiles {
    // MARK: - YAML files (kubelet, kube-proxy)

    /// The kubelet's config.yaml (KubeletConfiguration) as JSON: (nil, nil) when the file does not
    /// exist, (nil, why) when it cannot be read or parsed.
    public static func loadKubeletConfig(path: String) -> (JSONValue?, String?) {
        loadYAML(path: path)
    }

    static func loadYAML(path: String) -> (JSONValue?, String?) {
        do {
            guard let text = try SmallFile.text(path) else { return (nil, nil) }
            return parseYAML(text, path: path)
        } catch {
            return (nil, error.description)
        }
    }

    /// A YAML document (kubelet or kube-proxy config) as JSON, or why it cannot be parsed.
    public static func parseYAML(_ text: String, path: String) -> (JSONValue?, String?) {
        do {
            let node = try BoundedYAML.load(text)
            return (yamlToJSON(node), nil)
        } catch {
            return (nil, "cannot parse \(path): \(error)")
        }
    }

    static func yamlToJSON(_ node: Any?) -> JSONValue {
        switch node {
        case nil, is NSNull: return .null
        case let b as Bool: return .bool(b)
        case let i as Int: return .number(Double(i))
        case let d as Double: return .number(d)
        case let s as String: return .string(s)
        case let date as Date: return .string(Timestamps.utc(date.timeIntervalSince1970))
        case let a as [Any]: return .array(a.map { yamlToJSON($0) })
        case let m as [String: Any]: return .object(m.mapValues { yamlToJSON($0) })
        case let m as [AnyHashable: Any]:
            var o: [String: JSONValue] = [:]
            for (k, v) in m { o["\(k.base)"] = yamlToJSON(v) }
            return .object(o)
        case let other?: return .string("\(other)")
        }
    }

    // MARK: - CNI network configs

    /// The plugin types a CNI config names (each plugin's `type` and its `ipam.type`). Read as the
    /// other config files are (`SmallFile`: a regular file of at most 1 MiB, never a FIFO or device)
    /// and parsed with the bounded JSON parser.
    static func readCNI(_ path: String, name: String) -> CNIFile {
        let text: String?
        do {
            text = try SmallFile.text(path)
        } catch {
            return CNIFile(name: name, types: [], error: error.message)
        }
        guard let text else {
            return CNIFile(name: name, types: [], error: "it is gone")
        }
        guard let json = JSONParser.parse(text), json.object != nil else {
            return CNIFile(name: name, types: [], error: "not a JSON object")
        }
        var plugins: [JSONValue] = []
        if name.hasSuffix(".conflist") || json["plugins"] != nil {
            if case .array(let list)? = json["plugins"] { plugins = list }
            if plugins.isEmpty { return CNIFile(name: name, network: json["name"]?.string, types: [], error: "no \"plugins\"") }
        } else {
            plugins = [json]
        }
        var types: [String] = []
        for p in plugins {
            guard let t = p["type"]?.string, !t.isEmpty else {
                return CNIFile(name: name, network: json["name"]?.string, types: types, error: "a plugin has no \"type\"")
            }
            types.append(t)
            if let ipam = p["ipam"]?["type"]?.string, !ipam.isEmpty { types.append(ipam) }
        }
        return CNIFile(name: name, network: json["name"]?.string, types: types, error: nil)
    }
}
