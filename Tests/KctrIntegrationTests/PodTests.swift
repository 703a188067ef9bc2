import Foundation
import KctrLab
import KctrRPC
import XCTest

/// Real pods on a private containerd: a host-network sandbox from the locally
/// built pause image and a busybox container, seen through kctr and ctr.
final class PodTests: XCTestCase {
    nonisolated(unsafe) static var podID = ""
    nonisolated(unsafe) static var containerID = ""
    nonisolated(unsafe) static var printerID = ""
    nonisolated(unsafe) static var secondAttemptID = ""

    static let shared = SharedLab { lab in
        // Imported by kctr: the pods below prove CRI can run what kctr imports.
        let r = lab.kctr(["import", try TestImages.path("all.oci.tar")])
        guard r.status == 0 else { throw SetupError("kctr import failed: \(r.stderr)") }
        (podID, containerID, printerID, secondAttemptID) = try startPod(socket: lab.socket, logDir: lab.base + "/pod-logs")
    }

    override class func tearDown() { shared.stop() }

    static func startPod(socket: String, logDir: String) throws -> (String, String, String, String) {
        let printer = ["sh", "-c", "echo one; echo two; printf '%020000d\\n' 7; sleep 2; echo last"]
        let (pod, ids) = try PodFixture.start(socket: socket, pod: PodSpec(name: "web-1", logDir: logDir, labels: ["app": "web"]), containers: [
            ContainerSpec(name: "app", command: ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exec sleep 3600"]),
            // Prints a long line in pieces and exits after a moment.
            ContainerSpec(name: "printer", command: printer),
            // The kubelet's restart: the same container name, attempt 1, its own log file.
            ContainerSpec(name: "printer", command: ["sh", "-c", "echo second-attempt; exit 3"], attempt: 1),
        ])
        guard ids.count == 3 else { throw SetupError("expected 3 containers, got \(ids.count)") }
        return (pod, ids[0], ids[1], ids[2])
    }

    func json(_ r: Run) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
    }

    /// crictl's list document (`{"containers": [...]}`, `{"items": [...]}`), each item with kctr's additions
    /// (under `kctr`) merged in.
    func listed(_ r: Run, _ key: String) throws -> [[String: Any]] {
        let doc = try XCTUnwrap(try json(r) as? [String: Any], r.stdout)
        return try XCTUnwrap(doc[key] as? [[String: Any]], r.stdout).map { item in
            item.merging(item["kctr"] as? [String: Any] ?? [:]) { _, kctr in kctr }
        }
    }

    func testPodsListMatchesTheSandbox() throws {
        let lab = try Self.shared.get()
        let q = lab.kctr(["pods", "-q"])
        XCTAssertExit(q, 0)
        XCTAssertEqual(q.lines, [Self.podID])
        // ctr sees the sandbox as a container of k8s.io.
        XCTAssertTrue(lab.ctr(["containers", "ls", "-q"]).lines.contains(Self.podID))

        let rows = try listed(lab.kctr(["pods", "-o", "json"]), "items")
        let row = try XCTUnwrap(rows.first)
        let metadata = try XCTUnwrap(row["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["name"] as? String, "web-1")
        XCTAssertEqual(metadata["namespace"] as? String, "shop")
        XCTAssertEqual(row["state"] as? String, "SANDBOX_READY")
        XCTAssertEqual(row["sandboxImage"] as? String, "registry.k8s.io/pause:3.9")
        // The same image ctr's container record names for the sandbox.
        let record = lab.ctr(["containers", "ls"]).lines.first { $0.hasPrefix(Self.podID) }
        XCTAssertEqual(record?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init),
                       "registry.k8s.io/pause:3.9")

        let table = lab.kctr(["pods"])
        XCTAssertExit(table, 0)
        XCTAssertEqual(table.lines.first?.split(separator: " ", omittingEmptySubsequences: true).first, "POD")
        XCTAssertTrue(table.stdout.contains(String(Self.podID.prefix(13))), table.stdout)
        XCTAssertTrue(table.stdout.contains("registry.k8s.io/pause:3.9"), table.stdout)

        XCTAssertEqual(lab.kctr(["pods", "-q", "--name", "^web-"]).lines, [Self.podID])
        XCTAssertEqual(lab.kctr(["pods", "-q", "--name", "^db-"]).stdout, "")
        XCTAssertEqual(lab.kctr(["pods", "-q", "--label", "app=web"]).lines, [Self.podID])
        XCTAssertEqual(lab.kctr(["pods", "-q", "--state", "notready"]).stdout, "")
        XCTAssertEqual(lab.kctr(["pods", "-q", "--pod-namespace", "shop", "--latest"]).lines, [Self.podID])
        // crictl's spelling: --namespace after `pods` is the Kubernetes namespace (a regular expression).
        XCTAssertEqual(lab.kctr(["pods", "-q", "--namespace", "^sh", "--latest"]).lines, [Self.podID])
        XCTAssertEqual(lab.kctr(["pods", "-q", "--namespace", "kube-system"]).stdout, "")
        XCTAssertExit(lab.kctr(["pods", "--state", "sleepy"]), 64)
        XCTAssertExit(lab.kctr(["pods", "--name", "("]), 64)
    }

    func testPsShowsTheContainerWithPodNameImageAndPid() throws {
        let lab = try Self.shared.get()
        let rows = try listed(lab.kctr(["ps", "-o", "json"]), "containers")
        let row = try XCTUnwrap(rows.first { ($0["metadata"] as? [String: Any])?["name"] as? String == "app" })
        XCTAssertEqual(row["id"] as? String, Self.containerID)
        XCTAssertEqual(row["state"] as? String, "CONTAINER_RUNNING")
        XCTAssertEqual(row["image"] as? String, "docker.io/library/busybox:kctr-test")
        XCTAssertEqual(row["podName"] as? String, "web-1")
        XCTAssertEqual(row["podNamespace"] as? String, "shop")
        XCTAssertEqual(row["podSandboxId"] as? String, Self.podID)
        let pid = try XCTUnwrap(row["pid"] as? Int)
        // ctr's task list agrees on the PID.
        let task = lab.ctr(["tasks", "ls"]).lines.first { $0.hasPrefix(Self.containerID) }
        XCTAssertEqual(task?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init), "\(pid)")

        XCTAssertTrue(lab.kctr(["ps", "-q"]).lines.contains(Self.containerID))
        XCTAssertEqual(lab.kctr(["ps", "-q", "--name", "^app$"]).lines, [Self.containerID])
        XCTAssertEqual(lab.kctr(["containers", "ls", "-q", "--name", "^app$"]).lines, [Self.containerID])
        XCTAssertEqual(lab.kctr(["ps", "-q", "--name", "app", "--pod", String(Self.podID.prefix(6))]).lines, [Self.containerID])
        XCTAssertEqual(lab.kctr(["ps", "-q", "--name", "app", "--image", "busybox"]).lines, [Self.containerID])
        XCTAssertEqual(Set(lab.kctr(["ps", "-a", "-q"]).lines), Set([Self.containerID, Self.printerID, Self.secondAttemptID]))
        let table = lab.kctr(["ps"])
        XCTAssertTrue(table.stdout.contains("shop/web-1"), table.stdout)
        XCTAssertTrue(table.stdout.contains("\(pid)"), table.stdout)
    }

    /// The TASK column is containerd's own view of the process: it agrees with `ctr tasks ls` row by row.
    func testPsShowsContainerdTaskStatusAsCtrDoes() throws {
        let lab = try Self.shared.get()
        // Let the printer containers finish, so that both views are read in a settled state.
        var rows: [[String: Any]] = []
        for _ in 0..<150 {
            rows = (try? listed(lab.kctr(["ps", "-a", "-o", "json"]), "containers")) ?? []
            let printers = rows.filter { ($0["metadata"] as? [String: Any])?["name"] as? String == "printer" }
            if printers.count == 2, printers.allSatisfy({ $0["state"] as? String == "CONTAINER_EXITED" }) { break }
            usleep(100_000)
        }
        var ctrTasks: [String: (pid: Int, status: String)] = [:]
        for line in lab.ctr(["tasks", "ls"]).lines.dropFirst() {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if f.count >= 3, let pid = Int(f[1]) { ctrTasks[f[0]] = (pid, f[2].lowercased()) }
        }
        XCTAssertEqual(ctrTasks[Self.containerID]?.status, "running")
        XCTAssertEqual(rows.count, 3, "\(rows)")
        for row in rows {
            let id = try XCTUnwrap(row["id"] as? String)
            if let task = ctrTasks[id] {
                XCTAssertEqual(row["pid"] as? Int, task.pid, id)
                XCTAssertEqual(row["taskStatus"] as? String, task.status, id)
            } else {
                XCTAssertNil(row["taskStatus"], "kctr shows a task ctr does not list: \(row)")
                XCTAssertNil(row["pid"], id)
            }
        }
        let table = lab.kctr(["ps"])
        let header = table.stdout.split(separator: "\n").first?.split(separator: " ", omittingEmptySubsequences: true) ?? []
        XCTAssertEqual(header.suffix(2), ["PID", "TASK"], table.stdout)
        XCTAssertTrue(table.stdout.contains(" running\n"), table.stdout)
    }

    /// A pod or container removed after kctr listed it (to resolve the ID) and before it read the status.
    /// `KCTR_TEST_FAULT=status-read:gate=PATH` holds kctr between the two calls, so the race is staged deterministically.
    func testRemovedBetweenListingAndInspecting() throws {
        let lab = try Self.shared.get()
        let (pod, ids) = try PodFixture.start(socket: lab.socket, pod: PodSpec(name: "doomed-1", namespace: "race", logDir: lab.base + "/race-logs"),
                                              containers: [ContainerSpec(name: "victim", command: ["sleep", "3600"])])
        let container = try XCTUnwrap(ids.first)

        let c = try raced(lab, ["inspect", String(container.prefix(10))], gate: lab.base + "/gate-container") {
            try PodFixture.removeContainer(socket: lab.socket, id: container)
        }
        XCTAssertExit(c, 1)
        XCTAssertTrue(c.stderr.contains("container \(container.prefix(13)) was removed while kctr was reading it"), c.stderr)
        XCTAssertTrue(c.stderr.contains("list what exists now with `kctr ps -a`"), c.stderr)

        let p = try raced(lab, ["inspectp", String(pod.prefix(10))], gate: lab.base + "/gate-pod") {
            try PodFixture.removePod(socket: lab.socket, id: pod)
        }
        XCTAssertExit(p, 1)
        XCTAssertTrue(p.stderr.contains("pod sandbox \(pod.prefix(13)) was removed while kctr was reading it"), p.stderr)
        XCTAssertTrue(p.stderr.contains("list what exists now with `kctr pods`"), p.stderr)
        // Both are really gone: ctr agrees.
        let left = lab.ctr(["containers", "ls", "-q"]).lines
        XCTAssertFalse(left.contains(container))
        XCTAssertFalse(left.contains(pod))
    }

    /// Runs kctr until it has listed, runs `between`, then lets kctr read the status.
    func raced(_ lab: Lab, _ args: [String], gate: String, between: () throws -> Void) throws -> Run {
        nonisolated(unsafe) var run: Run?
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let lab = lab
        DispatchQueue.global().async {
            run = lab.kctr(args, env: ["KCTR_TEST_FAULT": "status-read:gate=" + gate], timeout: 60)
            done.signal()
        }
        var listed = false
        for _ in 0..<1500 {
            if FileManager.default.fileExists(atPath: gate + ".listed") { listed = true; break }
            usleep(20_000)
        }
        guard listed else {
            FileManager.default.createFile(atPath: gate, contents: nil)
            done.wait()
            throw SetupError("kctr never reached the gate: \(run?.stderr ?? "")")
        }
        try between()
        FileManager.default.createFile(atPath: gate, contents: nil)
        done.wait()
        return try XCTUnwrap(run)
    }

    /// root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (setpriv) meets a mode-000 log file: a real EACCES.
    func testUnreadableLogFileSaysPermissionDeniedAndWhere() throws {
        let lab = try Self.shared.get()
        let path = lab.base + "/pod-logs/app/0.log"
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let mode = try XCTUnwrap(attributes[.posixPermissions] as? Int)
        XCTAssertEqual(chmod(path, 0), 0)
        defer { chmod(path, mode_t(mode)) }
        let r = runProcess(["/usr/bin/setpriv", "--inh-caps=-dac_override,-dac_read_search",
                            "--bounding-set=-dac_override,-dac_read_search", "--",
                            Paths.kctr, "--address", lab.socket, "logs", Self.containerID])
        XCTAssertExit(r, 1)
        XCTAssertTrue(r.stderr.contains("cannot read the log of container \(Self.containerID.prefix(13)) at \(path): permission denied"), r.stderr)
        XCTAssertTrue(r.stderr.contains("run it as root (with CAP_DAC_OVERRIDE)"), r.stderr)
        // The same command with the capabilities reads it: the failure was the permission, nothing else.
        XCTAssertExit(lab.kctr(["logs", Self.containerID]), 0)
    }

    func testInspectPodAndContainerByPrefix() throws {
        let lab = try Self.shared.get()
        for command in [["inspectp"], ["pods", "inspect"]] {
            let r = lab.kctr(command + [String(Self.podID.prefix(8))])
            XCTAssertExit(r, 0)
            // crictl's document: one ID, one object.
            let item = try XCTUnwrap(try json(r) as? [String: Any])
            let status = try XCTUnwrap(item["status"] as? [String: Any])
            XCTAssertEqual(status["id"] as? String, Self.podID)
            let info = try XCTUnwrap(item["info"] as? [String: Any])
            XCTAssertEqual(info["image"] as? String, "registry.k8s.io/pause:3.9")
            XCTAssertGreaterThan(info["pid"] as? Int ?? 0, 0)
            let containers = try XCTUnwrap((item["kctr"] as? [String: Any])?["containers"] as? [[String: Any]])
            XCTAssertEqual(Set(containers.compactMap { $0["id"] as? String }), Set([Self.containerID, Self.printerID, Self.secondAttemptID]))
        }
        let c = lab.kctr(["inspect", String(Self.containerID.prefix(8))])
        XCTAssertExit(c, 0)
        let item = try XCTUnwrap(try json(c) as? [String: Any])
        let status = try XCTUnwrap(item["status"] as? [String: Any])
        XCTAssertEqual(status["id"] as? String, Self.containerID)
        XCTAssertEqual(status["logPath"] as? String, lab.base + "/pod-logs/app/0.log")
        let info = try XCTUnwrap(item["info"] as? [String: Any])
        XCTAssertEqual(info["snapshotter"] as? String, "overlayfs")
        XCTAssertGreaterThan(info["pid"] as? Int ?? 0, 0)
        XCTAssertExit(lab.kctr(["inspect", "-o", "yaml", Self.containerID]), 0)
        // -o table: the readable summary, from the same documents.
        let podTable = lab.kctr(["inspectp", "-o", "table", String(Self.podID.prefix(8))])
        XCTAssertExit(podTable, 0)
        XCTAssertTrue(podTable.stdout.contains("pause image:     registry.k8s.io/pause:3.9\n"), podTable.stdout)
        XCTAssertTrue(podTable.stdout.contains("cgroup driver cgroupfs (SystemdCgroup = false)"), podTable.stdout)
        XCTAssertTrue(podTable.stdout.contains("\(Self.containerID.prefix(13))  app  Running  attempt 0"), podTable.stdout)
        let containerTable = lab.kctr(["inspect", "-o", "table", Self.containerID])
        XCTAssertExit(containerTable, 0)
        XCTAssertTrue(containerTable.stdout.contains("state:           Running, pid \(info["pid"] as? Int ?? -1)\n"), containerTable.stdout)
        XCTAssertTrue(containerTable.stdout.contains("log:             \(lab.base)/pod-logs/app/0.log\n"), containerTable.stdout)
    }

    func testUnknownIDsSayHowToList() throws {
        let lab = try Self.shared.get()
        let pod = lab.kctr(["inspectp", "zzzz"])
        XCTAssertExit(pod, 1)
        XCTAssertTrue(pod.stderr.contains("no pod sandbox with ID zzzz (hint: list them with `kctr pods -q`)"), pod.stderr)
        let container = lab.kctr(["inspect", "zzzz"])
        XCTAssertExit(container, 1)
        XCTAssertTrue(container.stderr.contains("no container with ID zzzz"), container.stderr)
        let noPod = lab.kctr(["ps", "--pod", "zzzz"])
        XCTAssertExit(noPod, 1)
        XCTAssertTrue(noPod.stderr.contains("no pod sandbox with ID zzzz"), noPod.stderr)
    }

    func testLogsSplitStreamsJoinPartialLinesAndFollow() throws {
        let lab = try Self.shared.get()
        let r = lab.kctr(["logs", String(Self.containerID.prefix(8))])
        XCTAssertExit(r, 0)
        XCTAssertEqual(r.stdout, "to-stdout\n")
        XCTAssertEqual(r.stderr, "to-stderr\n")
        XCTAssertEqual(lab.kctr(["logs", "--stream", "stderr", Self.containerID]).stdout, "")
        let ts = lab.kctr(["logs", "--timestamps", "--stream", "stdout", Self.containerID])
        XCTAssertTrue(ts.stdout.range(of: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+) to-stdout\n$", options: .regularExpression) != nil, ts.stdout)
        XCTAssertEqual(lab.kctr(["logs", "--since", "1h", Self.containerID]).stdout, "to-stdout\n")

        // -f returns when the container exits, after its last line; the 20 000-character
        // line arrives in partial pieces and is printed whole.
        let follow = lab.kctr(["logs", "-f", Self.printerID], timeout: 30)
        XCTAssertExit(follow, 0)
        XCTAssertEqual(follow.lines.first, "one")
        XCTAssertEqual(follow.lines.last, "last")
        XCTAssertTrue(follow.lines.contains(String(repeating: "0", count: 19_999) + "7"), "\(follow.lines.map(\.count))")
        XCTAssertEqual(lab.kctr(["logs", "--tail", "1", Self.printerID]).stdout, "last\n")
        XCTAssertEqual(lab.kctr(["logs", "--tail", "0", Self.printerID]).stdout, "")
    }

    func testRestartedContainerAndPreviousLogs() throws {
        let lab = try Self.shared.get()
        // Wait for the second attempt to exit with its code.
        var rows: [[String: Any]] = []
        for _ in 0..<100 {
            rows = (try? listed(lab.kctr(["ps", "-a", "--name", "^printer$", "-o", "json"]), "containers")) ?? []
            if rows.first(where: { $0["id"] as? String == Self.secondAttemptID })?["state"] as? String == "CONTAINER_EXITED" { break }
            usleep(100_000)
        }
        let second = try XCTUnwrap(rows.first { $0["id"] as? String == Self.secondAttemptID })
        XCTAssertEqual((second["metadata"] as? [String: Any])?["attempt"] as? Int, 1)
        XCTAssertEqual(second["state"] as? String, "CONTAINER_EXITED")
        let inspected = try XCTUnwrap(try json(lab.kctr(["inspect", Self.secondAttemptID])) as? [String: Any])
        XCTAssertEqual((inspected["status"] as? [String: Any])?["exitCode"] as? Int, 3)
        XCTAssertEqual(lab.kctr(["logs", Self.secondAttemptID]).stdout, "second-attempt\n")
        let previous = lab.kctr(["logs", "--previous", Self.secondAttemptID], timeout: 30)
        XCTAssertExit(previous, 0)
        XCTAssertEqual(previous.lines.first, "one")
    }

    func testLogErrorsNameThePath() throws {
        let lab = try Self.shared.get()
        let previous = lab.kctr(["logs", "--previous", Self.containerID])
        XCTAssertExit(previous, 1)
        XCTAssertTrue(previous.stderr.contains("has no previous attempt kept"), previous.stderr)
        XCTAssertExit(lab.kctr(["logs", "--stream", "both", Self.containerID]), 64)
        XCTAssertExit(lab.kctr(["logs", "--since", "yesterday", Self.containerID]), 64)
        // The log file gone (or never written): kctr names the path and why.
        let path = lab.base + "/pod-logs/app/0.log"
        try FileManager.default.moveItem(atPath: path, toPath: path + ".aside")
        let missing = lab.kctr(["logs", Self.containerID])
        try FileManager.default.moveItem(atPath: path + ".aside", toPath: path)
        XCTAssertExit(missing, 1)
        XCTAssertTrue(missing.stderr.contains("cannot read the log of container \(Self.containerID.prefix(13)) at \(path): no such file"),
                      missing.stderr)
        // A FIFO in its place: refused at once (opening it would wait for a writer), the path named.
        try FileManager.default.moveItem(atPath: path, toPath: path + ".aside")
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        let fifo = lab.kctr(["logs", Self.containerID], timeout: 30)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.moveItem(atPath: path + ".aside", toPath: path)
        XCTAssertExit(fifo, 1)
        XCTAssertTrue(fifo.stderr.hasPrefix("kctr: cannot read the log of container \(Self.containerID.prefix(13)) at \(path): it is a FIFO "
            + "(named pipe), and kctr reads only regular log files (hint: "), fifo.stderr)
        let unknown = lab.kctr(["logs", "zzzz"])
        XCTAssertExit(unknown, 1)
        XCTAssertTrue(unknown.stderr.contains("no container with ID zzzz"), unknown.stderr)
    }
}
