/// The `crictl` group: /etc/crictl.yaml points crictl at the socket containerd answers on.
enum CrictlGroup {
    static func results(_ f: VerifyFacts) -> [CheckResult] {
        let path = f.paths.crictlConfig
        let live = f.endpoint.path
        let checks: [(Check, String)] = [(.crictlRuntimeEndpoint, "runtime-endpoint"), (.crictlImageEndpoint, "image-endpoint")]
        let setBoth = "crictl config --set runtime-endpoint=unix://\(live) --set image-endpoint=unix://\(live)"
        guard let facts = f.crictl, let loaded = facts.config else {
            return checks.map { check, _ in
                check.skip("\(path) does not exist: crictl uses its defaults (it tries the containerd, crio and cri-dockerd sockets in turn, with a warning)",
                           evidence: path)
            }
        }
        let config: CrictlConfig
        switch loaded {
        case .failure(let error):
            return checks.map { check, _ in check.fail("\(error)", evidence: path, fix: "rewrite it: rm \(path) && \(setBoth)") }
        case .success(let c):
            config = c
        }
        let isSocket = { (p: String) in facts.sockets[p] ?? false }
        let resolved = { (p: String) in facts.resolved[p] ?? p }
        func check(_ check: Check, key: String, value: String?, fallback: String?) -> CheckResult {
            let evidence = "\(path): \(key)"
            let fix = "crictl config --set \(key)=unix://\(live)"
            guard let value, !value.isEmpty else {
                if key == "image-endpoint", let fallback, !fallback.isEmpty {
                    return check.pass("image-endpoint not set: crictl uses runtime-endpoint (\(fallback))", evidence: evidence)
                }
                return check.warn("\(key) is not set: crictl tries its default endpoints in turn (deprecated, with a warning on every call)",
                                  evidence: evidence, fix: fix)
            }
            let socket: String
            do {
                socket = try Endpoint.socketPath(value, source: evidence)
            } catch {
                return check.fail("\(key) is \(value): \(error.message)", evidence: evidence, fix: fix)
            }
            if resolved(socket) != resolved(live) {
                return check.fail("\(key) is \(value) but containerd listens on \(live) (\(f.endpoint.source))", evidence: evidence, fix: fix)
            }
            if !isSocket(socket) {
                return check.fail("\(key) is \(value) but \(socket) is not a unix socket (is containerd running?)", evidence: evidence,
                                  fix: isSocket(live) ? fix : "systemctl start containerd (then `\(fix)` if it listens elsewhere)")
            }
            return check.pass("\(key) is \(value), the live socket", evidence: evidence)
        }
        return [
            check(.crictlRuntimeEndpoint, key: "runtime-endpoint", value: config.runtimeEndpoint, fallback: nil),
            check(.crictlImageEndpoint, key: "image-endpoint", value: config.imageEndpoint, fallback: config.runtimeEndpoint),
        ]
    }
}
