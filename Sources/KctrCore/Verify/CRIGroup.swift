import KctrRPC

/// The `cri` group: CRI's RuntimeReady and NetworkReady conditions, the CNI config CRI reads and the
/// plugin binaries it names.
enum CRIGroup {
    static func results(_ f: VerifyFacts) -> [CheckResult] {
        guard case .known(let status) = f.daemon.criStatus else {
            let why = f.daemon.reachable ? DaemonGroup.criNotServing : DaemonGroup.unreachable
            return [
                Check.criRuntimeReady.skip(why, evidence: "runtime.v1.RuntimeService/Status"),
                Check.criNetworkReady.skip(why, evidence: "runtime.v1.RuntimeService/Status"),
                Check.criCNIConfig.skip(why, evidence: "runtime.v1.RuntimeService/Status: config.cni.confDir"),
                Check.criCNIBinaries.skip(why, evidence: "runtime.v1.RuntimeService/Status: config.cni.binDir(s)"),
            ]
        }
        return [condition(.criRuntimeReady, "RuntimeReady", status, f), condition(.criNetworkReady, "NetworkReady", status, f)] + cni(f)
    }

    static func condition(_ check: Check, _ type: String, _ status: CRIStatus, _ f: VerifyFacts) -> CheckResult {
        let evidence = "runtime.v1.RuntimeService/Status: conditions[type=\(type)]"
        guard let c = status.conditions.first(where: { $0.type == type }) else {
            return check.warn("the runtime reports no \(type) condition", evidence: evidence, fix: "check that the socket is containerd's CRI (kctr info)")
        }
        if c.status { return check.pass("\(type) is true", evidence: evidence) }
        let detail = [c.reason, c.message].filter { !$0.isEmpty }.joined(separator: ": ")
        let fix: String
        if type == "NetworkReady" {
            let cni = f.cni
            fix = "install a CNI network add-on (Calico, Cilium, Flannel...) so that a config appears in \(cni?.confDir ?? "/etc/cni/net.d") and its plugins in \((cni?.binDirs ?? ["/opt/cni/bin"]).joined(separator: ", ")); see cri.cni-config"
        } else {
            fix = "read containerd's log (journalctl -u containerd) for the runtime error and restart containerd once fixed"
        }
        return check.fail("\(type) is false" + (detail.isEmpty ? "" : " (\(detail))"), evidence: evidence, fix: fix)
    }

    static func cni(_ f: VerifyFacts) -> [CheckResult] {
        guard let cni = f.cni else {
            return [Check.criCNIConfig.skip("CRI does not report its CNI settings", evidence: "runtime.v1.RuntimeService/Status: config.cni"),
                    Check.criCNIBinaries.skip("CRI does not report its CNI settings", evidence: "runtime.v1.RuntimeService/Status: config.cni")]
        }
        let layout = f.layout
        let confDir = cni.confDir
        // 2.1+ reports the list binDirs and leaves binDir empty.
        let binKey = (f.daemon.running?.cniBinDir ?? "").isEmpty ? "binDirs" : "binDir"
        let confEvidence = "runtime.v1.RuntimeService/Status: config.cni.confDir = \(confDir)"
        let binEvidence = "runtime.v1.RuntimeService/Status: config.cni.\(binKey) = \(cni.binDirs.joined(separator: ","))"
        let addOn = "install a CNI plugin / network add-on (Calico, Cilium, Flannel, or a bridge + host-local conflist on a single node) that writes a .conflist into \(confDir); containerd picks it up without a restart"
        let noConfig = Check.criCNIBinaries.skip("no CNI config to read plugin types from", evidence: binEvidence)
        guard case .known(let files) = cni.files else {
            return [Check.criCNIConfig.fail(cni.confDirExists ? "cannot read the CNI config directory \(confDir)" : "the CNI config directory \(confDir) does not exist",
                                            evidence: confEvidence, fix: addOn), noConfig]
        }
        guard let first = files.first else {
            return [Check.criCNIConfig.fail("no .conf, .conflist or .json file in \(confDir): pods that are not host-network cannot start (\"cni plugin not initialized\")",
                                            evidence: confEvidence, fix: addOn), noConfig]
        }
        var out: [CheckResult] = []
        let bad = files.filter { $0.error != nil }
        if let err = first.error {
            out.append(Check.criCNIConfig.fail("\(confDir)/\(first.name), the config containerd uses (first by name), is invalid: \(err)",
                                               evidence: confEvidence, fix: "fix or remove \(confDir)/\(first.name) (reinstall the network add-on)"))
        } else if !bad.isEmpty {
            out.append(Check.criCNIConfig.warn("\(files.count) config(s); containerd uses \(first.name) (network \(first.network ?? "?")), but these are invalid: "
                                               + bad.map { "\($0.name) (\($0.error ?? ""))" }.joined(separator: "; "),
                                               evidence: confEvidence, fix: "remove the invalid files from \(confDir)"))
        } else {
            out.append(Check.criCNIConfig.pass("\(files.count) config(s) in \(confDir); containerd uses \(first.name) (network \(first.network ?? "?"))",
                                               evidence: confEvidence))
        }

        // Plugin types in the order the files name them.
        var checked: [String] = [], missing: [String] = []
        for file in files where file.error == nil {
            for type in file.types where !checked.contains(type) {
                checked.append(type)
                if cni.binaries[type] != true { missing.append("\(type) (from \(file.name))") }
            }
        }
        let dirs = cni.binDirs.joined(separator: ",")
        if checked.isEmpty {
            out.append(Check.criCNIBinaries.skip("no readable CNI config names a plugin type", evidence: binEvidence))
        } else if missing.isEmpty {
            out.append(Check.criCNIBinaries.pass("every plugin the configs name is in \(dirs): \(checked.joined(separator: ", "))", evidence: binEvidence))
        } else {
            let setting = layout.cniBinIsList ? "set \(layout.key(.cniBinDirs)) to the directories they are in"
                : "set \(layout.key(.cniBinDirs)) to the directory they are in"
            out.append(Check.criCNIBinaries.fail("missing from \(dirs): \(missing.joined(separator: ", "))", evidence: binEvidence,
                                                 fix: "install the CNI plugins (apt-get install containernetworking-plugins, or the containernetworking/plugins release tarball into \(cni.binDirs.first ?? "/opt/cni/bin")), or \(setting) of \(f.paths.containerdConfig)"))
        }
        return out
    }
}
