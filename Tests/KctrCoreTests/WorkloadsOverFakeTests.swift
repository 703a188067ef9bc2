import Foundation
import XCTest
@testable import KctrCore
@testable import KctrRPC

/// `pods`, `ps`, `inspect`, `inspectp`, `stats` and `statsp` over the fake daemon: filters, sorting, the joins
/// with containerd's tasks and sandbox records, and CRI's failures as the operator reads them.
final class WorkloadsOverFakeTests: XCTestCase {
    static let t0: Int64 = 1_796_000_000 * FakeCRI.nanosPerSecond
    static let web = FakeCRI.pod("aaaa1111", name: "web-1", namespace: "shop", createdAt: t0 + 3, labels: ["app": "web"])
    static let db = FakeCRI.pod("aaab2222", name: "db-0", namespace: "shop", createdAt: t0 + 2, labels: ["app": "db"])
    static let old = FakeCRI.pod("cccc3333", name: "old-job", namespace: "batch", ready: false, createdAt: t0 + 1)
    static let busyboxID = "sha256:" + String(repeating: "b", count: 64)
    static let nginxID = "sha256:" + String(repeating: "e", count: 64)

    /// Three pods (one not ready), four containers (one exited), their tasks and sandbox records in k8s.io.
    static func node() -> FakeDaemon {
        var d = FakeDaemon()
        d.pods = [old, web, db]
        d.containerList = [
            FakeCRI.container("c1web", name: "nginx", pod: web, image: nginxID, imageRef: nginxID, createdAt: t0 + 10,
                              labels: ["io.kubernetes.pod.name": "web-1", "io.kubernetes.pod.namespace": "shop"]),
            FakeCRI.container("c2web", name: "sidecar", pod: web, image: "docker.io/library/busybox:1.36", imageRef: busyboxID, createdAt: t0 + 11),
            FakeCRI.container("c3db", name: "postgres", pod: db, image: busyboxID, imageRef: busyboxID, createdAt: t0 + 12),
            FakeCRI.container("c4job", name: "migrate", pod: old, state: .exited, image: busyboxID, imageRef: busyboxID, createdAt: t0 + 9),
        ]
        d.criImages = [FakeCRI.image(nginxID, tags: ["docker.io/library/nginx:1.27"]),
                       FakeCRI.image(busyboxID, tags: [], digests: ["docker.io/library/busybox@sha256:1234"])]
        d.taskRecords["k8s.io"] = [
            TaskRecord(containerID: "c1web", pid: 4242, status: "running", exitStatus: 0),
            TaskRecord(containerID: "c2web", pid: 4343, status: "running", exitStatus: 0),
            TaskRecord(containerID: "c4job", pid: 0, status: "stopped", exitStatus: 3),
        ]
        d.containerRecords["k8s.io"] = [
            ContainerRecord(id: web.id, image: "registry.k8s.io/pause:3.10", labels: ["io.cri-containerd.kind": "sandbox"], runtime: "io.containerd.runc.v2", snapshotter: "overlayfs", snapshotKey: web.id),
            ContainerRecord(id: db.id, image: "registry.k8s.io/pause:3.9", labels: ["io.cri-containerd.kind": "sandbox"], runtime: "io.containerd.runc.v2", snapshotter: "overlayfs", snapshotKey: db.id),
            ContainerRecord(id: "c1web", image: "docker.io/library/nginx:1.27", labels: ["io.cri-containerd.kind": "container"], runtime: "io.containerd.runc.v2", snapshotter: "overlayfs", snapshotKey: "c1web"),
        ]
        return d
    }

    // MARK: pods

    func testPodsAreNewestFirstWithTheirPauseImageFromK8sIO() async throws {
        let d = Self.node()
        // The session's namespace is not CRI's: the sandbox records are still read in k8s.io.
        let rows = try await Workloads(session: try d.session(namespace: "default")).pods(PodFilter(), details: true)
        XCTAssertEqual(rows.map(\.name), ["web-1", "db-0", "old-job"])
        XCTAssertEqual(rows.map(\.state), ["Ready", "Ready", "NotReady"])
        XCTAssertEqual(rows.map(\.sandboxImage), ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.9", nil])
        XCTAssertEqual(rows[0].createdAt, Workloads.iso(Self.t0 + 3))
        XCTAssertEqual(d.calls.count("containerd.services.containers.v1.Containers/List [k8s.io]"), 1)
        XCTAssertEqual(d.calls.count("containerd.services.containers.v1.Containers/List [default]"), 0)

        // Without details, containerd is not asked.
        let plain = FakeDaemon()
        _ = try await Workloads(session: try plain.session()).pods(PodFilter(), details: false)
        XCTAssertEqual(plain.calls.all, ["runtime.v1.RuntimeService/ListPodSandbox"])
    }

    func testPodFilters() async throws {
        let w = Workloads(session: try Self.node().session())
        func names(_ edit: (inout PodFilter) -> Void) async throws -> [String] {
            var f = PodFilter()
            edit(&f)
            return try await w.pods(f, details: false).map(\.name)
        }
        var result = try await names { $0.namespace = "^sho" }
        XCTAssertEqual(result, ["web-1", "db-0"])
        result = try await names { $0.name = "-[0-9]$" }
        XCTAssertEqual(result, ["web-1", "db-0"])
        result = try await names { $0.state = "notready" }
        XCTAssertEqual(result, ["old-job"])
        result = try await names { $0.labels = ["app": "db"] }
        XCTAssertEqual(result, ["db-0"])
        result = try await names { $0.idPrefix = "aaa" }
        XCTAssertEqual(result, ["web-1", "db-0"])
        result = try await names { $0.latest = true }
        XCTAssertEqual(result, ["web-1"])
        result = try await names { $0.last = 2 }
        XCTAssertEqual(result, ["web-1", "db-0"])
    }

    func testAnInvalidNamePatternIsAUsageError() async throws {
        var f = PodFilter()
        f.name = "web-("
        do {
            _ = try await Workloads(session: try Self.node().session()).pods(f, details: false)
            XCTFail("an invalid pattern was accepted")
        } catch let e as KctrError {
            XCTAssertEqual(e.exitCode, 64)
            XCTAssertEqual(e.message, "--name web-( is not a valid regular expression")
        }
    }

    func testCRINotServingSaysWhichPluginAndWhatToDo() async throws {
        var d = Self.node()
        d.failures["runtime.v1.RuntimeService/ListPodSandbox"] = .unimplemented
        do {
            _ = try await Workloads(session: try d.session()).pods(PodFilter(), details: true)
            XCTFail("pods listed without CRI")
        } catch let e as KctrError {
            XCTAssertEqual(e.exitCode, 1)
            XCTAssertEqual(e.message, "listing pod sandboxes (RuntimeService/ListPodSandbox): the CRI plugin is not serving on /nonexistent/kctr-fake.sock (fake Unimplemented for runtime.v1.RuntimeService/ListPodSandbox)")
            XCTAssertTrue(e.hint?.contains("disabled_plugins") ?? false, e.hint ?? "")
        }
    }

    /// crictl's document: CRI's PodSandbox in protobuf's JSON mapping, kctr's pause image under `kctr`.
    func testPodsDocumentIsCRIsWithKctrsPauseImage() async throws {
        let doc = try await Workloads(session: try Self.node().session()).podsDocument(PodFilter())
        guard case .array(let items)? = doc["items"] else { return XCTFail("no items: \(doc)") }
        XCTAssertEqual(items.map { $0["metadata"]?["name"]?.string }, ["web-1", "db-0", "old-job"])
        XCTAssertEqual(items[0]["state"]?.string, "SANDBOX_READY")
        XCTAssertEqual(items[2]["state"]?.string, "SANDBOX_NOTREADY")
        XCTAssertEqual(items[0]["kctr"]?["sandboxImage"]?.string, "registry.k8s.io/pause:3.10")
        XCTAssertNil(items[2]["kctr"])
    }

    // MARK: containers

    func testContainersJoinPodsImagesAndTasks() async throws {
        let d = Self.node()
        var f = ContainerFilter()
        f.all = true
        let rows = try await Workloads(session: try d.session()).containers(f, details: true)
        XCTAssertEqual(rows.map(\.name), ["postgres", "sidecar", "nginx", "migrate"])
        let byName = Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0) })
        // The name CRI knows for the image: first tag, else first digest; a name the container was created with stays.
        XCTAssertEqual(byName["nginx"]?.image, "docker.io/library/nginx:1.27")
        XCTAssertEqual(byName["postgres"]?.image, "docker.io/library/busybox@sha256:1234")
        XCTAssertEqual(byName["sidecar"]?.image, "docker.io/library/busybox@sha256:1234")
        // Pod name and namespace: the container's labels first, else the pod's.
        XCTAssertEqual(byName["nginx"]?.podName, "web-1")
        XCTAssertEqual(byName["postgres"]?.podName, "db-0")
        XCTAssertEqual(byName["migrate"]?.podNamespace, "batch")
        // containerd's task: PID and status; the exit status only once stopped; nothing without a task.
        XCTAssertEqual(byName["nginx"]?.pid, 4242)
        XCTAssertEqual(byName["nginx"]?.taskStatus, "running")
        XCTAssertNil(byName["nginx"]?.taskExitStatus)
        XCTAssertEqual(byName["migrate"]?.taskStatus, "stopped")
        XCTAssertEqual(byName["migrate"]?.taskExitStatus, 3)
        XCTAssertNil(byName["postgres"]?.pid)
        XCTAssertNil(byName["postgres"]?.taskStatus)
        // Two image IDs: asked one by one, no listing of every image.
        XCTAssertEqual(d.calls.count("runtime.v1.ImageService/ImageStatus"), 2)
        XCTAssertEqual(d.calls.count("runtime.v1.ImageService/ListImages"), 0)
        XCTAssertEqual(d.calls.count("containerd.services.tasks.v1.Tasks/List [k8s.io]"), 1)
    }

    func testContainerFilters() async throws {
        let w = Workloads(session: try Self.node().session())
        func names(_ edit: (inout ContainerFilter) -> Void) async throws -> [String] {
            var f = ContainerFilter()
            edit(&f)
            return try await w.containers(f, details: false).map(\.name)
        }
        var result = try await names { _ in }
        XCTAssertEqual(result, ["postgres", "sidecar", "nginx"], "running only by default")
        result = try await names { $0.state = "exited" }
        XCTAssertEqual(result, ["migrate"])
        result = try await names { $0.all = true; $0.pod = "aaaa" }
        XCTAssertEqual(result, ["sidecar", "nginx"])
        result = try await names { $0.image = "nginx" }
        XCTAssertEqual(result, ["nginx"])
        result = try await names { $0.image = "busybox" }
        XCTAssertEqual(result, ["postgres", "sidecar"])
        result = try await names { $0.name = "^s" }
        XCTAssertEqual(result, ["sidecar"])
        result = try await names { $0.labels = ["io.kubernetes.pod.name": "web-1"] }
        XCTAssertEqual(result, ["nginx"])
        result = try await names { $0.latest = true }
        XCTAssertEqual(result, ["postgres"])
        do {
            _ = try await names { $0.pod = "aaa" }
            XCTFail("an ambiguous pod prefix was accepted")
        } catch let e as KctrError {
            XCTAssertEqual("\(e)", "pod sandbox ID prefix aaa is ambiguous: aaaa1111, aaab2222 (hint: give more characters of the ID)")
        }
    }

    /// Past 16 image IDs, one ListImages instead of an ImageStatus each.
    func testManyImagesAreListedOnce() async throws {
        var d = FakeDaemon()
        d.pods = [Self.web]
        let ids = (0..<17).map { "sha256:" + String(repeating: String($0 % 10), count: 63) + String($0 / 10) }
        d.containerList = ids.enumerated().map { n, id in
            FakeCRI.container("c\(n)", name: "c\(n)", pod: Self.web, image: id, imageRef: id, createdAt: Self.t0 + Int64(n))
        }
        d.criImages = ids.map { FakeCRI.image($0, tags: ["example.com/image:\($0.suffix(2))"]) }
        let rows = try await Workloads(session: try d.session()).containers(ContainerFilter(), details: false)
        XCTAssertEqual(rows.count, 17)
        XCTAssertTrue(rows.allSatisfy { $0.image.hasPrefix("example.com/image:") }, "\(rows.map(\.image))")
        XCTAssertEqual(d.calls.count("runtime.v1.ImageService/ListImages"), 1)
        XCTAssertEqual(d.calls.count("runtime.v1.ImageService/ImageStatus"), 0)
    }

    func testContainersDocumentCarriesKctrsTaskUnderKctr() async throws {
        var f = ContainerFilter()
        f.all = true
        let doc = try await Workloads(session: try Self.node().session()).containersDocument(f)
        guard case .array(let items)? = doc["containers"] else { return XCTFail("no containers: \(doc)") }
        let nginx = try XCTUnwrap(items.first { $0["id"]?.string == "c1web" })
        XCTAssertEqual(nginx["state"]?.string, "CONTAINER_RUNNING")
        XCTAssertEqual(nginx["podSandboxId"]?.string, "aaaa1111")
        XCTAssertEqual(nginx["kctr"]?["pid"], .number(4242))
        XCTAssertEqual(nginx["kctr"]?["image"]?.string, "docker.io/library/nginx:1.27")
        let migrate = try XCTUnwrap(items.first { $0["id"]?.string == "c4job" })
        XCTAssertEqual(migrate["kctr"]?["taskExitStatus"], .number(3))
    }

    // MARK: inspect

    private func recordedInfo(_ name: String) throws -> String {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/inspect"))
        let doc = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
        return String(decoding: try JSONEncoder().encode(doc["info"]?["info"] ?? .null), as: UTF8.self)
    }

    func testInspectContainerSummarisesStatusAndVerboseInfo() async throws {
        var d = Self.node()
        d.containerStatuses["c4job"] = FakeCRI.containerStatus(
            id: "c4job", state: .exited, exitCode: 3, name: "migrate", createdAt: Self.t0 + 9,
            labels: ["io.kubernetes.pod.name": "old-job", "io.kubernetes.pod.namespace": "batch"],
            info: try recordedInfo("container-exited"))
        let inspected = try await Workloads(session: try d.session()).inspectContainer("c4")
        let lines = Dictionary(uniqueKeysWithValues: InspectSummary.container(inspected.summary).map { ($0.key, $0.value) })
        XCTAssertEqual(lines["CONTAINER"], "c4job")
        XCTAssertEqual(lines["name"], "migrate (attempt 0), pod batch/old-job 7dbd672e02b83")
        XCTAssertEqual(lines["state"]?.hasPrefix("Exited, exit code 3"), true, lines["state"] ?? "")
        XCTAssertEqual(lines["log"], "/var/log/pods/migrate.log")
        XCTAssertEqual(lines["runtime options"], "root=/tmp/lab/runc, systemd_cgroup=true; cgroup driver systemd (SystemdCgroup = true)")
        // crictl's document: enum names, the verbose info parsed.
        XCTAssertEqual(inspected.document["status"]?["state"]?.string, "CONTAINER_EXITED")
        XCTAssertEqual(inspected.document["info"]?["runtimeType"]?.string, "io.containerd.runc.v2")
    }

    func testInspectOfAContainerRemovedAfterListingSaysSo() async throws {
        // Listed, but gone by the time its status is read (no status in the fake: NotFound).
        do {
            _ = try await Workloads(session: try Self.node().session()).inspectContainer("c1")
            XCTFail("inspected a container that has no status")
        } catch let e as KctrError {
            XCTAssertEqual(e.exitCode, 1)
            XCTAssertEqual("\(e)", "container c1web was removed while kctr was reading it (an error occurred when try to find container c1web) (hint: list what exists now with `kctr ps -a`)")
        }
        do {
            _ = try await Workloads(session: try Self.node().session()).inspectContainer("zz")
            XCTFail("inspected a container that does not exist")
        } catch let e as KctrError {
            XCTAssertEqual("\(e)", "no container with ID zz (hint: list them with `kctr ps -a -q`)")
        }
    }

    func testInspectPodListsItsContainersNewestFirst() async throws {
        var d = Self.node()
        d.podStatuses[Self.web.id] = FakeCRI.podStatus(Self.web, ip: "10.88.0.7",
                                                       info: #"{"image":"registry.k8s.io/pause:3.10","pid":77,"processStatus":"running","runtimeType":"io.containerd.runc.v2"}"#)
        let inspected = try await Workloads(session: try d.session()).inspectPod("aaaa")
        let lines = Dictionary(uniqueKeysWithValues: InspectSummary.pod(inspected.summary).map { ($0.key, $0.value) })
        XCTAssertEqual(lines["POD"], "aaaa1111")
        XCTAssertEqual(lines["name"], "web-1 (namespace shop, uid uid-web-1, attempt 0)")
        XCTAssertEqual(lines["state"], "Ready, pause process running, pid 77")
        XCTAssertEqual(lines["namespaces"], "network pod, pid container, ipc pod, IP 10.88.0.7")
        XCTAssertEqual(lines["pause image"], "registry.k8s.io/pause:3.10")
        XCTAssertEqual(lines["containers"]?.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) },
                       ["c2web", "c1web"])
        XCTAssertEqual(inspected.document["status"]?["state"]?.string, "SANDBOX_READY")
        XCTAssertEqual(inspected.document["kctr"]?["containers"], inspected.summary["containers"])
    }

    // MARK: stats

    func testStatsUseTheRuntimesRateInOneSample() async throws {
        var d = Self.node()
        let c = d.containerList
        d.containerStatsSamples = [[
            FakeCRI.containerStats(c[0], cpuAt: 100, coreNanos: 5_000_000_000, nanoCores: 250_000_000, workingSet: 64 << 20, layerBytes: 4096),
            FakeCRI.containerStats(c[1], cpuAt: 100, coreNanos: 1_000_000, nanoCores: 1_000_000, workingSet: 1 << 20),
            FakeCRI.containerStats(c[2], cpuAt: 100, coreNanos: 9_000_000, nanoCores: 30_000_000, workingSet: 2 << 20),
        ]]
        var stats = Stats(session: try d.session())
        stats.interval = 0
        let rows = try await stats.rows(StatsFilter())
        // Running containers, by pod namespace, pod, name.
        XCTAssertEqual(rows.map(\.name), ["postgres", "nginx", "sidecar"])
        XCTAssertEqual(rows.map(\.cpuPercent), [3, 25, 0.1])
        XCTAssertEqual(rows[1].memoryWorkingSetBytes, 64 << 20)
        XCTAssertEqual(rows[1].writableLayerUsedBytes, 4096)
        XCTAssertEqual(rows[1].timestamp, Workloads.iso(100 * FakeCRI.nanosPerSecond))
        XCTAssertEqual(Stats.cells(rows[1]), ["c1web", "nginx", "shop/web-1", "25.00", "64.0 MiB", "4.0 KiB", "-"])
        XCTAssertEqual(d.calls.count("runtime.v1.RuntimeService/ListContainerStats"), 1)
    }

    /// containerd 1.6 gives no rate on a first sample: kctr samples twice and divides.
    func testStatsWithoutARateSampleTwice() async throws {
        var d = Self.node()
        let migrate = d.containerList[3]
        d.containerStatsSamples = [
            [FakeCRI.containerStats(migrate, cpuAt: 100, coreNanos: 1_000_000_000, nanoCores: nil, workingSet: 1)],
            [FakeCRI.containerStats(migrate, cpuAt: 102, coreNanos: 2_000_000_000, nanoCores: nil, workingSet: 2)],
        ]
        var f = StatsFilter()
        f.ids = ["c4"]
        var stats = Stats(session: try d.session())
        stats.interval = 0
        let rows = try await stats.rows(f)
        // Named on the command line: shown although exited.
        XCTAssertEqual(rows.map(\.name), ["migrate"])
        XCTAssertEqual(rows.first?.cpuPercent, 50)
        XCTAssertEqual(rows.first?.memoryWorkingSetBytes, 2)
        XCTAssertEqual(d.calls.count("runtime.v1.RuntimeService/ListContainerStats"), 2)

        let doc = try await stats.document(f)
        guard case .array(let items)? = doc["stats"] else { return XCTFail("no stats: \(doc)") }
        XCTAssertEqual(items.first?["attributes"]?["id"]?.string, "c4job")
        XCTAssertEqual(items.first?["kctr"]?["state"]?.string, "Exited")
    }

    func testPodStatsAndARuntimeWithoutThem() async throws {
        var d = Self.node()
        d.podStatsSamples = [[FakeCRI.podStats(Self.web, cpuAt: 10, coreNanos: 4_000_000_000, nanoCores: 120_000_000, processes: 3),
                              FakeCRI.podStats(Self.db, cpuAt: 10, coreNanos: 1_000_000_000, nanoCores: 10_000_000, processes: 1)]]
        var pods = PodStats(session: try d.session())
        pods.interval = 0
        let rows = try await pods.rows(prefixes: ["aaaa"])
        XCTAssertEqual(rows.map(\.name), ["web-1"])
        XCTAssertEqual(rows.first?.cpuPercent, 12)
        XCTAssertEqual(rows.first?.processCount, 3)

        // CRI answers, but not ListPodSandboxStats: the runtime has no pod-level stats.
        d.failures["runtime.v1.RuntimeService/ListPodSandboxStats"] = .unimplemented
        do {
            _ = try await PodStats(session: try d.session()).rows(prefixes: [])
            XCTFail("pod stats without ListPodSandboxStats")
        } catch let e as KctrError {
            XCTAssertEqual("\(e)", "the runtime does not report pod-level stats: CRI ListPodSandboxStats is not implemented (fake Unimplemented for runtime.v1.RuntimeService/ListPodSandboxStats) (hint: per-container figures are there: kctr stats --pod ID)")
        }
        // CRI does not answer at all: the CRI plugin is not serving.
        d.failures["runtime.v1.RuntimeService/Version"] = .unimplemented
        do {
            _ = try await PodStats(session: try d.session()).rows(prefixes: [])
            XCTFail("pod stats without CRI")
        } catch let e as KctrError {
            XCTAssertTrue(e.message.hasPrefix("reading pod sandbox stats (RuntimeService/ListPodSandboxStats): the CRI plugin is not serving on"), e.message)
        }
    }
}
