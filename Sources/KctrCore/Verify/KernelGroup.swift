/// The `kernel` group: modules, sysctls, kube-proxy's IPVS modules, swap.
enum KernelGroup {
    static let ipvsModules = ["ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"]
    /// The /proc/sys files the group reads (below /proc/sys).
    static let sysctlFiles = ["net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables"]

    static func results(_ f: VerifyFacts) -> [CheckResult] {
        let k = f.kernel ?? KernelFacts(modules: [], sysModules: [], sysctls: [:], swaps: nil)
        let paths = f.paths
        let modulesFile = paths.proc("modules")
        var results: [CheckResult] = []

        // overlay: also fine when the filesystem is registered (built in).
        let overlayFS = f.host.kernelHasOverlay ?? false
        if k.loaded("overlay") || overlayFS {
            results.append(Check.kernelOverlay.pass(
                overlayFS && !k.modules.contains("overlay") ? "overlay is registered in /proc/filesystems" : "overlay is loaded",
                evidence: k.modules.contains("overlay") ? "\(modulesFile): overlay" : overlayFS ? "\(paths.proc("filesystems")): overlay" : paths.sys("module/overlay")))
        } else {
            results.append(Check.kernelOverlay.warn(
                "the overlay module is not loaded: the overlayfs snapshotter needs it (the kernel loads it on the first mount only when module autoloading works)",
                evidence: "\(modulesFile), \(paths.sys("module/overlay")), \(paths.proc("filesystems"))",
                fix: "modprobe overlay && echo overlay > /etc/modules-load.d/containerd.conf"))
        }

        // The net.bridge.bridge-nf-* sysctls exist only while br_netfilter is loaded (also where
        // /proc/modules is not shown, e.g. in a sandboxed kernel).
        let bridgeSysctl = paths.proc("sys/net/bridge/bridge-nf-call-iptables")
        if k.loaded("br_netfilter") || k.sysctls["net/bridge/bridge-nf-call-iptables"] != nil {
            results.append(Check.kernelBrNetfilter.pass("br_netfilter is loaded",
                                                        evidence: k.modules.contains("br_netfilter") ? "\(modulesFile): br_netfilter"
                                                            : k.sysModules.contains("br_netfilter") ? paths.sys("module/br_netfilter") : "\(bridgeSysctl) exists"))
        } else {
            results.append(Check.kernelBrNetfilter.fail("br_netfilter is not loaded: bridged pod traffic bypasses iptables, so Services do not work",
                                                        evidence: "\(modulesFile), \(paths.sys("module/br_netfilter"))",
                                                        fix: "modprobe br_netfilter && echo br_netfilter >> /etc/modules-load.d/k8s.conf"))
        }

        func sysctl(_ check: Check, _ name: String, _ file: String, missing: String, missingFix: String) -> CheckResult {
            let full = paths.proc("sys/" + file)
            guard let value = k.sysctls[file] else { return check.fail(missing, evidence: full, fix: missingFix) }
            if value == "1" { return check.pass("\(name) = 1", evidence: full) }
            return check.fail("\(name) = \(value): pods \(name == "net.ipv4.ip_forward" ? "cannot reach anything off the node" : "bypass iptables on the bridge, so Service traffic breaks")",
                              evidence: full, fix: "sysctl -w \(name)=1 && echo '\(name) = 1' >> /etc/sysctl.d/99-kubernetes.conf")
        }
        results.append(sysctl(.kernelIPForward, "net.ipv4.ip_forward", "net/ipv4/ip_forward",
                              missing: "\(paths.proc("sys/net/ipv4/ip_forward")) cannot be read",
                              missingFix: "sysctl -w net.ipv4.ip_forward=1 && echo 'net.ipv4.ip_forward = 1' >> /etc/sysctl.d/99-kubernetes.conf"))
        let brFix = "modprobe br_netfilter && echo br_netfilter >> /etc/modules-load.d/k8s.conf, then sysctl -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 and persist them in /etc/sysctl.d/99-kubernetes.conf"
        results.append(sysctl(.kernelBridgeNFCallIptables, "net.bridge.bridge-nf-call-iptables", "net/bridge/bridge-nf-call-iptables",
                              missing: "net.bridge.bridge-nf-call-iptables does not exist: br_netfilter not loaded", missingFix: brFix))
        results.append(sysctl(.kernelBridgeNFCallIp6tables, "net.bridge.bridge-nf-call-ip6tables", "net/bridge/bridge-nf-call-ip6tables",
                              missing: "net.bridge.bridge-nf-call-ip6tables does not exist: br_netfilter not loaded", missingFix: brFix))
        results.append(ipvs(f, k))
        results.append(swap(f, k))
        return results
    }

    /// kube-proxy in IPVS mode needs the ip_vs modules; its mode comes from the running kube-proxy
    /// container (through CRI) or the host's /var/lib/kube-proxy/config.conf.
    static func ipvs(_ f: VerifyFacts, _ k: KernelFacts) -> CheckResult {
        let check = Check.kernelIPVS
        let proxy: KubeProxyMode
        switch f.kubeProxy {
        case .unknown(let why): return check.skip(why.message.contains("mode is unknown") ? why.message : "\(why.message): kube-proxy's mode is unknown",
                                                  evidence: "runtime.v1.RuntimeService/ListContainers (kube-proxy); \(f.paths.root)/var/lib/kube-proxy/config.conf")
        case .known(let p): proxy = p
        }
        guard proxy.mode == "ipvs" else {
            return check.skip("kube-proxy mode is \(proxy.mode.isEmpty ? "not set (iptables)" : proxy.mode), not ipvs", evidence: proxy.evidence)
        }
        var missing = ipvsModules.filter { !k.loaded($0) }
        if !k.loaded("nf_conntrack") && !k.loaded("nf_conntrack_ipv4") { missing.append("nf_conntrack") }
        let evidence = "\(proxy.evidence), \(f.paths.proc("modules"))"
        if missing.isEmpty {
            return check.pass("kube-proxy mode is ipvs and \((ipvsModules + ["nf_conntrack"]).joined(separator: ", ")) are loaded", evidence: evidence)
        }
        return check.fail("kube-proxy mode is ipvs but \(missing.joined(separator: ", ")) \(missing.count == 1 ? "is" : "are") not loaded", evidence: evidence,
                          fix: "for m in \(missing.joined(separator: " ")); do modprobe $m; done && printf '%s\\n' \(missing.joined(separator: " ")) >> /etc/modules-load.d/ipvs.conf")
    }

    static func swap(_ f: VerifyFacts, _ k: KernelFacts) -> CheckResult {
        let check = Check.kernelSwap
        let swapsFile = f.paths.proc("swaps")
        guard let text = k.swaps else { return check.skip("\(swapsFile) cannot be read", evidence: swapsFile) }
        let devices = text.split(separator: "\n").dropFirst().compactMap { $0.split(whereSeparator: \.isWhitespace).first.map(String.init) }
        let kubeletPath = f.paths.kubeletConfig
        let failSwapOnValue = f.kubelet.config?["failSwapOn"]?.bool
        let failSwapOn = failSwapOnValue ?? true
        let kubeletEvidence = f.kubelet.config == nil ? "\(kubeletPath) (absent: failSwapOn defaults to true)"
            : failSwapOnValue == nil ? "\(kubeletPath): failSwapOn (absent: defaults to true)" : "\(kubeletPath): failSwapOn"
        if devices.isEmpty { return check.pass("no swap is active", evidence: swapsFile) }
        if !failSwapOn {
            return check.pass("swap is on (\(devices.joined(separator: ", "))) and the kubelet allows it (failSwapOn: false)", evidence: "\(swapsFile), \(kubeletEvidence)")
        }
        return check.fail("swap is on (\(devices.joined(separator: ", "))) and the kubelet refuses to start with swap (failSwapOn is true)",
                          evidence: "\(swapsFile), \(kubeletEvidence)",
                          fix: "swapoff -a && sed -i '/\\sswap\\s/ s/^#*/#/' /etc/fstab (and mask any swap unit: systemctl mask \(devices.first.map { "$(systemd-escape -p --suffix=swap \($0))" } ?? "<dev>.swap")); or keep swap with `failSwapOn: false` (and memorySwap.swapBehavior) in \(kubeletPath)")
    }
}
