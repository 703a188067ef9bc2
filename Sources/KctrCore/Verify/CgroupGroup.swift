import KctrRPC

/// The `cgroup` group: containerd's cgroup driver against PID 1 and the kubelet's; which of the two
/// sets the kubelet's (the runtime's from kubelet 1.34); a cgroup v1 host that containerd or the
/// kubelet objects to.
enum CgroupGroup {
    static func results(_ f: VerifyFacts) -> [CheckResult] {
        [driverMatch(f), driverSource(f), v1(f)]
    }

    enum ContainerdDriver {
        case known(systemd: Bool, evidence: String)
        /// Why it cannot be known, as the result to print.
        case unknown(CheckResult)
    }

    /// containerd's driver and how kctr knows it: RuntimeConfig (2.0+), else the default runtime's
    /// SystemdCgroup in CRI's status.
    static func containerdDriver(_ f: VerifyFacts) -> ContainerdDriver {
        let check = Check.cgroupDriverMatch
        guard f.daemon.reachable else { return .unknown(check.skip(DaemonGroup.unreachable, evidence: "runtime.v1.RuntimeService/Status")) }
        guard let running = f.daemon.running else {
            return .unknown(check.skip(DaemonGroup.criNotServing, evidence: "runtime.v1.RuntimeService/Status"))
        }
        if case .known(let driver?) = f.daemon.cgroupDriver {
            return .known(systemd: driver == "systemd", evidence: "runtime.v1.RuntimeService/RuntimeConfig: linux.cgroup_driver = \(driver)")
        }
        let name = running.defaultRuntime ?? "runc"
        guard let r = running.runtimes.first(where: { $0.name == name }) else {
            return .unknown(check.skip("the default runtime \(name) is not configured (see runtimes.default)",
                                       evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes"))
        }
        switch r.runtimeType {
        case "io.containerd.runc.v2", "io.containerd.runc.v1", "":
            return .known(systemd: r.systemdCgroup ?? false,
                          evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes.\(name).options.SystemdCgroup = \(r.systemdCgroup.map(String.init) ?? "unset (false)")")
        case "io.containerd.runtime.v1.linux":
            return .known(systemd: running.systemdCgroupLegacy ?? false,
                          evidence: "runtime.v1.RuntimeService/Status verbose: config.systemdCgroup = \(running.systemdCgroupLegacy ?? false)")
        default:
            return .unknown(check.skip("the default runtime \(name) is \(r.runtimeType): its cgroup driver is set in its own config, not known to kctr",
                                       evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes.\(name).runtimeType"))
        }
    }

    /// The kubelet takes its cgroup driver from containerd: kubelet 1.34+ with a runtime that answers RuntimeConfig.
    static func kubeletFollowsRuntime(_ f: VerifyFacts) -> Bool {
        guard case .known(let kubelet) = f.kubelet.version, kubelet.takesCgroupDriverFromRuntime else { return false }
        if case .known(_?) = f.daemon.cgroupDriver { return true }
        return false
    }

    static func driverMatch(_ f: VerifyFacts) -> CheckResult {
        let check = Check.cgroupDriverMatch
        let found: (systemd: Bool, evidence: String)
        switch containerdDriver(f) {
        case .unknown(let skipped): return skipped
        case .known(let systemd, let evidence): found = (systemd, evidence)
        }
        let systemd = found.systemd
        let layout = f.layout
        let runtime = f.daemon.running?.defaultRuntime ?? "runc"
        let configPath = f.paths.containerdConfig
        let kubeletPath = f.paths.kubeletConfig
        let restart = DaemonGroup.restart
        let set = { (value: Bool) in "set \(layout.assignment(layout.systemdCgroup(runtime: runtime), "\(value)")) of \(configPath)" }
        let driver = systemd ? "systemd" : "cgroupfs"
        let pid1 = f.host.pid1IsSystemd
        let kubelet = f.kubeletCgroupDriver
        let follows = kubeletFollowsRuntime(f)
        var evidence = found.evidence + "; PID 1 \(pid1 ? "is" : "is not") systemd (\(f.paths.proc("1/comm")))"
        if let kubelet { evidence += "; \(kubelet.source) = \(kubelet.driver)" }

        if systemd && !pid1 {
            var text = "containerd runs runc with SystemdCgroup = true (cgroup driver systemd) but PID 1 is not systemd: RunPodSandbox fails with: expected cgroupsPath to be of format slice:prefix:name"
            if follows {
                text += "; the kubelet takes the systemd driver from containerd"
            } else if let kubelet, kubelet.driver != "cgroupfs" {
                text += "; the kubelet's cgroupDriver is \(kubelet.driver) too"
            } else if let kubelet {
                text += "; the kubelet's cgroupDriver is cgroupfs (\(kubelet.source)), which does not match containerd"
            }
            var fix = "\(set(false)) and run \(restart) (or restart containerd with your init system)"
            if !follows, let kubelet, kubelet.driver != "cgroupfs" { fix += "; set cgroupDriver: cgroupfs in \(kubeletPath) and restart the kubelet" }
            return check.fail(text, evidence: evidence, fix: fix)
        }
        if follows {
            return check.pass("containerd uses the \(driver) cgroup driver, consistent with PID 1; the kubelet takes it from containerd (see cgroup.driver-source)",
                              evidence: evidence)
        }
        guard let kubelet else {
            let why = f.kubelet.configError.map { "the kubelet config could not be read (\($0))" } ?? "no kubelet config at \(kubeletPath)"
            return check.skip("containerd uses the \(driver) cgroup driver (SystemdCgroup = \(systemd)), consistent with PID 1; \(why): kubelet comparison skipped",
                              evidence: evidence)
        }
        if kubelet.driver != driver {
            let text = "containerd uses the \(driver) cgroup driver (SystemdCgroup = \(systemd)) but the kubelet's cgroupDriver is \(kubelet.driver) (\(kubelet.source)): pods fail to start or get killed by the other manager"
            let fix: String
            if kubelet.driver == "systemd" && !pid1 {
                fix = "PID 1 is not systemd: set cgroupDriver: cgroupfs in \(kubeletPath) and restart the kubelet"
            } else if kubelet.driver == "systemd" {
                fix = "\(set(true)) and run \(restart)"
            } else if pid1 {
                fix = "set cgroupDriver: systemd in \(kubeletPath) and restart the kubelet (recommended on systemd hosts), or \(set(false)) and run \(restart)"
            } else {
                fix = "\(set(kubelet.driver == "systemd")) and run \(restart)"
            }
            return check.fail(text, evidence: evidence, fix: fix)
        }
        return check.pass("containerd and the kubelet both use the \(driver) cgroup driver; PID 1 \(pid1 ? "is" : "is not") systemd", evidence: evidence)
    }

    /// From 1.34 the kubelet asks the runtime (RuntimeConfig) and ignores its own cgroupDriver when the
    /// runtime answers (containerd 2.0+); older kubelets, or containerd 1.x, leave the kubelet's setting in force.
    static func driverSource(_ f: VerifyFacts) -> CheckResult {
        let check = Check.cgroupDriverSource
        guard case .known(let kubelet) = f.kubelet.version else {
            return check.skip("\(f.kubelet.version.problem?.message ?? "the kubelet's version is unknown"): not known which side sets the driver",
                              evidence: "kubelet --version")
        }
        var evidence = "kubelet --version: \(kubelet)"
        let file = f.kubeletCgroupDriver
        if let file { evidence += "; \(file.source) = \(file.driver)" }
        guard kubelet.takesCgroupDriverFromRuntime else {
            return check.pass("the kubelet \(kubelet) uses its own cgroupDriver\(file.map { " (\($0.driver))" } ?? ""); containerd must match it (cgroup.driver-match)",
                              evidence: evidence)
        }
        switch f.daemon.cgroupDriver {
        case .known(let runtime?):
            evidence += "; runtime.v1.RuntimeService/RuntimeConfig: linux.cgroup_driver = \(runtime)"
            guard let configured = f.kubelet.config?["cgroupDriver"]?.string, !configured.isEmpty, configured != runtime else {
                return check.pass("the kubelet \(kubelet) takes the \(runtime) cgroup driver from containerd (RuntimeConfig)", evidence: evidence)
            }
            return check.warn("the kubelet \(kubelet) takes the \(runtime) cgroup driver from containerd and ignores cgroupDriver: \(configured) in \(f.paths.kubeletConfig); a runtime without RuntimeConfig (containerd 1.x) would get \(configured)",
                              evidence: evidence,
                              fix: "set cgroupDriver: \(runtime) in \(f.paths.kubeletConfig) (or remove it) so that the file says what runs")
        case .known(nil):
            return check.pass("containerd \(f.daemon.version?.version ?? "") does not answer RuntimeConfig: the kubelet \(kubelet) uses its own cgroupDriver\(file.map { " (\($0.driver))" } ?? "")",
                              evidence: evidence + "; runtime.v1.RuntimeService/RuntimeConfig: Unimplemented")
        case .unknown(let why):
            return check.skip("\(f.daemon.reachable ? why.message : DaemonGroup.unreachable): not known which side sets the driver", evidence: evidence)
        }
    }

    /// cgroup v1 under containerd 2.2+ (deprecated), or under a kubelet configured with failCgroupV1.
    static func v1(_ f: VerifyFacts) -> CheckResult {
        let check = Check.cgroupV1
        let sysfs = f.paths.sys("fs/cgroup")
        let reported = DaemonGroup.reportedDeprecations(f)?.warnings.first { $0.id == "io.containerd.deprecation/cgroup-v1" }
        var evidence = sysfs
        var isV1: Bool
        switch f.host.cgroupMode {
        case .v2:
            return check.pass("the host runs cgroup v2 (unified hierarchy)", evidence: "\(sysfs)/cgroup.controllers")
        case .v1(let hybrid):
            isV1 = true
            evidence = "\(sysfs): one directory per controller" + (hybrid ? " (hybrid: cgroup2 at \(sysfs)/unified)" : "")
        case .unknown:
            isV1 = reported != nil
        }
        if let reported { evidence += "; containerd reports \(reported.id)" }
        guard isV1 else { return check.skip("\(sysfs) does not show which cgroup version the host runs", evidence: sysfs) }
        let failCgroupV1 = f.kubelet.config?["failCgroupV1"]?.bool
        if failCgroupV1 == true {
            return check.fail("the host runs cgroup v1 and the kubelet's failCgroupV1 is true: the kubelet refuses to start",
                              evidence: evidence + "; \(f.paths.kubeletConfig): failCgroupV1 = true",
                              fix: "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line, or a distribution that defaults to it), or set failCgroupV1: false in \(f.paths.kubeletConfig) while you migrate")
        }
        let deprecated = reported != nil || (f.release?.deprecatesCgroupV1 ?? false)
        if deprecated {
            let text = reported?.message ?? "cgroup v1 support is deprecated since containerd 2.2"
            return check.warn("the host runs cgroup v1 under containerd \(f.daemon.version?.version ?? "2.2+"): \(text)", evidence: evidence,
                              fix: "move the host to cgroup v2: systemd.unified_cgroup_hierarchy=1 on the kernel command line (or a distribution that defaults to it), then reboot")
        }
        let who = f.release.map { "containerd \($0)" } ?? "containerd"
        return check.pass("the host runs cgroup v1; \(who) supports it and the kubelet config does not set failCgroupV1 (containerd deprecates it from 2.2)",
                          evidence: evidence + (failCgroupV1 == false ? "; \(f.paths.kubeletConfig): failCgroupV1 = false" : ""))
    }
}
