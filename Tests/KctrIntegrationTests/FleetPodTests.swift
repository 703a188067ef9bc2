import Foundation
import KctrLab
import KctrRPC
import XCTest
import Yams

/// The DaemonSet's and the Job's pod (scripts/deploy/*.yaml) on a real runtime: no kubelet runs here,
/// so the test reads each manifest and creates its pod through CRI on the lab's containerd as the
/// kubelet would: the same image (dist/kctr-image.tar, imported with `kctr import`), command,
/// environment, user, dropped capabilities, no privilege escalation, read-only root filesystem,
/// memory limit, host network and read-only hostPath mounts. Keys the test does not know how to map
/// fail it, so the manifests cannot grow something the test silently ignores.
///
/// Host paths that do not exist in the lab are mapped to lab paths (`Mapping`): containerd's socket
/// directory, config, root and CNI directories are the lab's, the kubelet config and crictl.yaml are
/// files the test writes. A mount at its own path (mountPath == hostPath, "the daemon reports those
/// paths") is mounted at the lab path instead, and the command's arguments under it are rewritten the
/// same way; mounts under /host keep their mountPath. /proc, /sys and /usr are the host's own.
final class FleetPodTests: XCTestCase {
    static let shared = SharedLab(["--cni"]) { lab in
        try importPause(lab)
        let r = lab.kctr(["import", imagePath])
        guard r.status == 0 else { throw SetupError("kctr import \(imagePath) failed: \(r.stderr)") }
    }

    override class func tearDown() { shared.stop() }

    static var imagePath: String { Paths.root + "/dist/kctr-image.tar" }
    static let nodeName = "lab-node"

    var scratch = ""

    override func setUpWithError() throws {
        guard FileManager.default.fileExists(atPath: Self.imagePath), FileManager.default.isExecutableFile(atPath: Paths.root + "/dist/kctr") else {
            throw XCTSkip("\(Self.imagePath) is not built: run `make image` first (.ci/run writes it after make dist)")
        }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-fleet-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: scratch) }

    // MARK: - The lab as a node

    /// Manifest host paths -> lab paths (see the class comment), and the files the test writes.
    struct Mapping {
        var paths: [String: String]
        var kubeletConfig: String
        var crictlConfig: String
        var containerdConfig: String

        /// `path`, or the lab path of the longest mapped prefix.
        func map(_ path: String) -> String {
            for (from, to) in paths.sorted(by: { $0.key.count > $1.key.count }) where path == from || path.hasPrefix(from + "/") {
                return to + path.dropFirst(from.count)
            }
            return path
        }
    }

    /// The lab's paths for the manifest's; the kubelet config says `cgroupDriver`.
    func mapping(_ lab: Lab, cgroupDriver: String) throws -> Mapping {
        let etc = scratch + "/etc-containerd"
        try FileManager.default.createDirectory(atPath: etc, withIntermediateDirectories: true)
        let config = etc + "/config.toml"
        if !FileManager.default.fileExists(atPath: config) {
            try FileManager.default.copyItem(atPath: lab.base + "/config.toml", toPath: config)
        }
        let kubelet = scratch + "/kubelet-config-\(cgroupDriver).yaml"
        try """
        apiVersion: kubelet.config.k8s.io/v1beta1
        kind: KubeletConfiguration
        cgroupDriver: \(cgroupDriver)
        containerRuntimeEndpoint: unix://\(lab.socket)

        """.write(toFile: kubelet, atomically: true, encoding: .utf8)
        let crictl = scratch + "/crictl.yaml"
        try "runtime-endpoint: unix://\(lab.socket)\nimage-endpoint: unix://\(lab.socket)\ntimeout: 10\n"
            .write(toFile: crictl, atomically: true, encoding: .utf8)
        return Mapping(paths: [
            "/run/containerd": lab.base,                // the socket's directory
            "/etc/containerd": etc,                     // a copy of the lab's config.toml
            "/var/lib/containerd": lab.base + "/root",  // config.toml's root
            "/var/lib/kubelet/config.yaml": kubelet,
            "/etc/crictl.yaml": crictl,
            "/etc/cni/net.d": lab.base + "/net.d",      // the CRI plugin's conf_dir
            "/opt/cni/bin": "/usr/lib/cni",             // and bin_dir
        ], kubeletConfig: kubelet, crictlConfig: crictl, containerdConfig: config)
    }

    // MARK: - From the manifest to CRI

    /// A pod template of a manifest, with the CRI configs the kubelet would make of it.
    struct ManifestPod {
        var name: String
        var namespace: String
        var podSpec: [String: Any]
        var container: [String: Any]
        var sandbox: CRI.PodSandboxConfig
        var config: CRI.ContainerConfig
        var command: [String]
        /// (container path, host path) of each mount, longest container path first.
        var mounts: [(String, String)]

        /// A path as the container sees it -> the same file's path on the host.
        func hostPath(_ path: String) -> String {
            for (inside, outside) in mounts where path == inside || path.hasPrefix(inside + "/") {
                return outside + path.dropFirst(inside.count)
            }
            return path
        }

        /// Every container path in `text` -> its host path; what is left under `--root` (e.g. /host) is
        /// the host's own path (kctr reads ROOT/proc, ROOT/sys, ROOT/var/lib/kube-proxy... there).
        func hostText(_ text: String) -> String {
            let mapped = mounts.reduce(text) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
            guard let i = command.firstIndex(of: "--root"), i + 1 < command.count else { return mapped }
            return mapped.replacingOccurrences(of: command[i + 1] + "/", with: "/")
        }
    }

    static func load(_ file: String) throws -> [String: Any] {
        let text = try String(contentsOfFile: Paths.root + "/scripts/deploy/" + file, encoding: .utf8)
        guard let doc = try Yams.load(yaml: text) as? [String: Any] else { throw SetupError("\(file) is not a YAML mapping") }
        return doc
    }

    /// The keys each level may have: the ones mapped below, and the ones that only schedule the pod
    /// (a kubelet on one node has nothing to do with them).
    static let podKeys: Set = ["hostPID", "hostNetwork", "automountServiceAccountToken", "containers", "volumes", "restartPolicy",
                               "priorityClassName", "tolerations", "nodeSelector"]
    static let containerKeys: Set = ["name", "image", "imagePullPolicy", "env", "command", "args", "securityContext", "resources", "volumeMounts"]
    static let securityKeys: Set = ["runAsUser", "readOnlyRootFilesystem", "allowPrivilegeEscalation", "capabilities"]

    func pod(_ file: String, _ mapping: Mapping, logDir: String) throws -> ManifestPod {
        let doc = try Self.load(file)
        let meta = try XCTUnwrap(doc["metadata"] as? [String: Any])
        let template = try XCTUnwrap((doc["spec"] as? [String: Any])?["template"] as? [String: Any])
        let spec = try XCTUnwrap(template["spec"] as? [String: Any])
        let labels = (template["metadata"] as? [String: Any])?["labels"] as? [String: String] ?? [:]
        XCTAssertEqual(Set(spec.keys).subtracting(Self.podKeys), [], "\(file): pod keys the test does not map")
        let containers = try XCTUnwrap(spec["containers"] as? [[String: Any]])
        XCTAssertEqual(containers.count, 1)
        let c = try XCTUnwrap(containers.first)
        XCTAssertEqual(Set(c.keys).subtracting(Self.containerKeys), [], "\(file): container keys the test does not map")

        // Namespaces: NODE for host ones; the pod's own network (POD), the container's own PIDs (CONTAINER).
        let hostNetwork = spec["hostNetwork"] as? Bool ?? false, hostPID = spec["hostPID"] as? Bool ?? false
        let namespaces = CRI.NamespaceOption(network: hostNetwork ? .node : .pod, pid: hostPID ? .node : .container, ipc: .pod)
        let name = try XCTUnwrap(meta["name"] as? String) + "-lab"
        let namespace = meta["namespace"] as? String ?? "default"
        let kubelet = ["io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace]
        let sandbox = CRI.PodSandboxConfig(
            metadata: .init(name: name, uid: "uid-\(name)-\(UUID().uuidString.prefix(8))", namespace: namespace, attempt: 0),
            logDirectory: logDir, labels: labels.merging(kubelet) { a, _ in a },
            linux: .init(securityContext: .init(namespaceOptions: namespaces)))

        // env: values, and the downward API's spec.nodeName; $(VAR) in command and args expanded from it.
        var env: [(String, String)] = []
        for e in c["env"] as? [[String: Any]] ?? [] {
            let key = try XCTUnwrap(e["name"] as? String)
            if let value = e["value"] as? String {
                env.append((key, value))
            } else {
                let field = ((e["valueFrom"] as? [String: Any])?["fieldRef"] as? [String: Any])?["fieldPath"] as? String
                XCTAssertEqual(field, "spec.nodeName", "\(file): env \(key) comes from somewhere the test does not map")
                env.append((key, Self.nodeName))
            }
        }
        func expand(_ s: String) -> String {
            env.reduce(s) { $0.replacingOccurrences(of: "$(\($1.0))", with: $1.1) }
        }

        // Volumes: hostPath only, checked by type as the kubelet does before it starts the pod.
        var volumes: [String: String] = [:]
        for v in spec["volumes"] as? [[String: Any]] ?? [] {
            let vname = try XCTUnwrap(v["name"] as? String)
            let hostPath = try XCTUnwrap(v["hostPath"] as? [String: Any], "\(file): volume \(vname) is not a hostPath")
            let path = mapping.map(try XCTUnwrap(hostPath["path"] as? String))
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            switch hostPath["type"] as? String ?? "" {
            case "Directory": XCTAssertTrue(exists && isDir.boolValue, "\(file): \(vname): \(path) is not a directory")
            case "File": XCTAssertTrue(exists && !isDir.boolValue, "\(file): \(vname): \(path) is not a file")
            case "DirectoryOrCreate": try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            case let other: XCTFail("\(file): \(vname): hostPath type \(other) is not mapped")
            }
            volumes[vname] = path
        }
        var mounts: [CRI.Mount] = []
        var table: [(String, String)] = []
        var ownPaths: [String: String] = [:]
        for m in c["volumeMounts"] as? [[String: Any]] ?? [] {
            let vname = try XCTUnwrap(m["name"] as? String), mountPath = try XCTUnwrap(m["mountPath"] as? String)
            let hostPath = try XCTUnwrap(volumes[vname], "\(file): mount of unknown volume \(vname)")
            XCTAssertEqual(m["readOnly"] as? Bool, true, "\(file): \(mountPath) is not read-only")
            let original = ((spec["volumes"] as? [[String: Any]] ?? []).first { $0["name"] as? String == vname }?["hostPath"] as? [String: Any])?["path"] as? String
            var target = mountPath
            if mountPath == original, hostPath != mountPath {
                target = hostPath  // at its own path: the lab's path
                ownPaths[mountPath] = hostPath
            }
            table.append((target, hostPath))
            mounts.append(CRI.Mount(containerPath: target, hostPath: hostPath, readonly: m["readOnly"] as? Bool ?? false))
        }
        let own = Mapping(paths: ownPaths, kubeletConfig: "", crictlConfig: "", containerdConfig: "")
        let command = ((c["command"] as? [String] ?? []) + (c["args"] as? [String] ?? [])).map { own.map(expand($0)) }
        let commandOnly = (c["command"] as? [String] ?? []).map { own.map(expand($0)) }
        let args = (c["args"] as? [String] ?? []).map { own.map(expand($0)) }

        // securityContext and resources.
        let security = c["securityContext"] as? [String: Any] ?? [:]
        XCTAssertEqual(Set(security.keys).subtracting(Self.securityKeys), [], "\(file): securityContext keys the test does not map")
        var sc = CRI.LinuxContainerSecurityContext(namespaceOptions: namespaces,
                                                   readonlyRootfs: security["readOnlyRootFilesystem"] as? Bool ?? false,
                                                   noNewPrivs: !(security["allowPrivilegeEscalation"] as? Bool ?? true))
        if let uid = security["runAsUser"] as? Int { sc.runAsUser = .init(value: Int64(uid)) }
        if let caps = security["capabilities"] as? [String: Any] {
            XCTAssertEqual(Set(caps.keys).subtracting(["drop", "add"]), [])
            sc.capabilities = .init(addCapabilities: caps["add"] as? [String] ?? [], dropCapabilities: caps["drop"] as? [String] ?? [])
        }
        var resources = CRI.LinuxContainerResources()
        let res = c["resources"] as? [String: Any] ?? [:]
        if let memory = (res["limits"] as? [String: Any])?["memory"] as? String {
            resources.memoryLimitInBytes = try Self.quantity(memory)
        }
        if let cpu = (res["requests"] as? [String: Any])?["cpu"] as? String {
            // The kubelet's shares: milli-CPUs * 1024 / 1000, at least 2.
            resources.cpuShares = max(2, try Self.quantity(cpu, milli: true) * 1024 / 1000)
        }

        let containerName = try XCTUnwrap(c["name"] as? String)
        let config = CRI.ContainerConfig(
            metadata: .init(name: containerName, attempt: 0), image: .init(image: try XCTUnwrap(c["image"] as? String)),
            command: commandOnly, args: args, envs: env.map { CRI.KeyValue(key: $0.0, value: $0.1) }, mounts: mounts,
            labels: kubelet.merging(["io.kubernetes.container.name": containerName]) { a, _ in a },
            logPath: "\(containerName)/0.log", linux: .init(resources: resources, securityContext: sc))
        return ManifestPod(name: name, namespace: namespace, podSpec: spec, container: c, sandbox: sandbox, config: config, command: command,
                           mounts: table.sorted { $0.0.count > $1.0.count })
    }

    /// "128Mi" -> 134217728; with `milli`, "10m" -> 10 and "1" -> 1000.
    static func quantity(_ text: String, milli: Bool = false) throws -> Int64 {
        let units: [(String, Int64)] = milli ? [("m", 1)] : [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)) else { break }
            return n * factor
        }
        guard let n = Int64(text) else { throw SetupError("quantity \(text) is not mapped") }
        return milli ? n * 1000 : n
    }

    /// Runs the pod: sandbox, then the container, created and started. Returns (pod, container).
    func start(_ lab: Lab, _ pod: ManifestPod) throws -> (String, String) {
        try PodFixture.withCRI(socket: lab.socket) { [sandbox = pod.sandbox, config = pod.config] cri in
            let podID = try await cri.runPodSandbox(config: sandbox)
            let id = try await cri.createContainer(podSandboxID: podID, config: config, sandboxConfig: sandbox)
            try await cri.startContainer(id: id)
            return (podID, id)
        }
    }

    func status(_ lab: Lab, _ id: String) throws -> ContainerStatusReport {
        try PodFixture.withCRI(socket: lab.socket) { cri in try await cri.containerStatus(id: id, verbose: false) }
    }

    /// Polls every 100 ms, at most `timeout` seconds; false when `condition` never held.
    func poll(timeout: Double = 60, _ condition: () throws -> Bool) rethrows -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try condition() { return true }
            usleep(100_000)
        }
        return false
    }

    /// The container's log, read as an operator would (`kctr logs`: the CRI log file), and the JSON
    /// document it is, when it is one (nothing else printed, on stdout or stderr).
    func logReport(_ lab: Lab, _ id: String) -> (Run, [String: Any]?) {
        let r = lab.kctr(["logs", id])
        guard r.status == 0, r.stderr.isEmpty else { return (r, nil) }
        return (r, try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// dist/kctr on the host, with the pod's command: each path the container sees mapped to the host's
    /// file (`--root /host` left out: the host's /proc and /sys are at their own paths), and without
    /// --keep-running.
    func hostReport(_ pod: ManifestPod) throws -> (Int32, [String: Any]) {
        XCTAssertEqual(pod.command.first, "kctr")
        var args = Array(pod.command.dropFirst())
        if let i = args.firstIndex(of: "--root") { args.removeSubrange(i...(i + 1)) }
        args = args.filter { $0 != "--keep-running" }.map(pod.hostPath)
        let r = runProcess([Paths.root + "/dist/kctr"] + args)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout + r.stderr)
        return (r.status, doc)
    }

    /// The pod's report is the host's: the same node, checks, statuses and findings, once the paths
    /// the container sees are read as the host's (runtimes.binary differs in words only: it finds the
    /// host's runc under --root and does not run it).
    /// Checks that read containerd's own process (/proc/PID/environ): the pod drops every capability, so it
    /// cannot read another process's environment and skips them, where the host reports what it found.
    static let needsTheDaemonsProcess: Set<String> = ["daemon.decompression"]

    func assertSameReport(_ pod: ManifestPod, _ report: [String: Any], _ host: [String: Any], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(report["node"] as? String, Self.nodeName, file: file, line: line)
        XCTAssertEqual(report["node"] as? String, host["node"] as? String, file: file, line: line)
        func others(_ doc: [String: Any]) -> [[String: Any]] {
            (doc["checks"] as? [[String: Any]] ?? []).filter { !Self.needsTheDaemonsProcess.contains($0["id"] as? String ?? "") }
        }
        func summary(_ checks: [[String: Any]]) -> [String: Int] {
            Dictionary(grouping: checks, by: { $0["status"] as? String ?? "" }).mapValues(\.count)
        }
        for id in Self.needsTheDaemonsProcess {
            let podCheck = (report["checks"] as? [[String: Any]] ?? []).first { $0["id"] as? String == id }
            XCTAssertEqual(podCheck?["status"] as? String, "skip", "\(id) in the pod: \(String(describing: podCheck))", file: file, line: line)
        }
        let a = others(report), b = others(host)
        XCTAssertEqual(summary(a), summary(b), file: file, line: line)
        XCTAssertEqual(a.map { $0["id"] as? String ?? "" }, b.map { $0["id"] as? String ?? "" }, file: file, line: line)
        for (x, y) in zip(a, b) {
            let id = x["id"] as? String ?? ""
            XCTAssertEqual(x["status"] as? String, y["status"] as? String, "\(id): pod \(x), host \(y)", file: file, line: line)
            if id != "runtimes.binary" {
                XCTAssertEqual(pod.hostText(x["found"] as? String ?? ""), y["found"] as? String, id, file: file, line: line)
            }
        }
    }

    // MARK: - The tests

    /// The DaemonSet's pod prints one JSON report, the host's, and stays up (--keep-running) until
    /// it is stopped; then it exits with the report's code.
    func testDaemonSetPodPrintsTheHostsReportAndStaysUp() throws {
        let lab = try Self.shared.get()
        let mapping = try mapping(lab, cgroupDriver: "cgroupfs")
        let pod = try pod("verify-runtime-daemonset.yaml", mapping, logDir: scratch + "/pods/daemonset")
        XCTAssertEqual(pod.podSpec["hostNetwork"] as? Bool, true)
        XCTAssertTrue(pod.command.contains("--keep-running"), "\(pod.command)")
        let (podID, id) = try start(lab, pod)
        defer { try? PodFixture.removePod(socket: lab.socket, id: podID) }

        // The log is one JSON document (logReport parses all of it), and stays so.
        var log = Run(status: -1, stdout: "", stderr: "", seconds: 0)
        var report: [String: Any]?
        let printed = poll { (log, report) = logReport(lab, id); return report != nil }
        XCTAssertTrue(printed, "no JSON report alone in the log of \(id):\n\(log.stdout)\n\(log.stderr)\n\(lab.log.suffix(2000))")
        let running = try status(lab, id)
        XCTAssertEqual(running.state, "Running", "the DaemonSet's container exited: \(running.status)")
        let (hostCode, host) = try hostReport(pod)
        if let report { assertSameReport(pod, report, host) }

        // The kubelet stops it with SIGTERM: it exits at once, with the report's code.
        try PodFixture.withCRI(socket: lab.socket) { cri in try await cri.stopContainer(id: id, timeoutSeconds: 30) }
        let stopped = try status(lab, id)
        XCTAssertEqual(stopped.state, "Exited")
        XCTAssertEqual(stopped.exitCode, Int64(hostCode), "\(stopped.status)")
        XCTAssertEqual(stopped.status.reason, hostCode == 0 ? "Completed" : "Error")
    }

    /// The Job's pod exits with kctr's code: 1 when a check fails (the kubelet config asks for the
    /// systemd cgroup driver, containerd's runc uses cgroupfs), else what the host run says.
    func testJobPodExitCodeFollowsKctrs() throws {
        let lab = try Self.shared.get()
        var codes: [String: Int64] = [:]
        for driver in ["cgroupfs", "systemd"] {
            let mapping = try mapping(lab, cgroupDriver: driver)
            let pod = try pod("verify-runtime-job.yaml", mapping, logDir: scratch + "/pods/job-\(driver)")
            XCTAssertEqual(pod.podSpec["restartPolicy"] as? String, "Never")
            XCTAssertFalse(pod.command.contains("--keep-running"))
            let (podID, id) = try start(lab, pod)
            defer { try? PodFixture.removePod(socket: lab.socket, id: podID) }
            var last: ContainerStatusReport?
            let exited = try poll { last = try status(lab, id); return last?.state == "Exited" }
            XCTAssertTrue(exited, "the Job's container did not exit: \(String(describing: last?.status))")
            let (hostCode, host) = try hostReport(pod)
            let (log, report) = logReport(lab, id)
            let exitCode = last?.exitCode ?? -1
            XCTAssertEqual(exitCode, Int64(hostCode), "cgroupDriver \(driver): pod exit \(exitCode), kctr on the host \(hostCode)\n\(log.stdout)")
            if let report { assertSameReport(pod, report, host) } else { XCTFail("no JSON report alone in the Job's log:\n\(log.stdout)\n\(log.stderr)") }
            codes[driver] = exitCode
            // The host's own failures (a kernel module not loaded on a CI machine) are the kernel group's only.
            let failing = (host["checks"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "fail" }.compactMap { $0["id"] as? String }
            if driver == "cgroupfs" {
                XCTAssertEqual(failing.filter { !$0.hasPrefix("kernel.") }, [], "the lab fails checks: \(failing)")
            } else {
                XCTAssertTrue(failing.contains("cgroup.driver-match"), "\(failing)")
            }
        }
        XCTAssertEqual(codes["systemd"], 1)
    }

    /// What `make image` tags is what the manifests run.
    func testManifestsNameTheImageMakeImageTags() throws {
        let (version, _) = try DistImageTests.versionAndCommit(Paths.root + "/dist/kctr")
        for file in ["verify-runtime-daemonset.yaml", "verify-runtime-job.yaml"] {
            let template = try XCTUnwrap((try Self.load(file)["spec"] as? [String: Any])?["template"] as? [String: Any])
            let c = try XCTUnwrap(((template["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first)
            XCTAssertEqual(c["image"] as? String, "kctr:\(version)", file)
            XCTAssertEqual(c["imagePullPolicy"] as? String, "IfNotPresent", file)
        }
        let lab = try Self.shared.get()
        let images = lab.kctr(["images", "ls", "-q"])
        XCTAssertTrue(images.lines.contains("docker.io/library/kctr:\(version)"), images.stdout)
    }
}
