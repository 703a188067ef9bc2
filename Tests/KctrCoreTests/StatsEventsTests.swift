import Foundation
import KctrRPC
import XCTest
@testable import KctrCore

final class StatsEventsTests: XCTestCase {
    func record(id: String = "c1", cpuTS: Int64, total: UInt64?, cores: UInt64?) -> ContainerStatsRecord {
        ContainerStatsRecord(CRI.ContainerStats(
            attributes: .init(id: id, metadata: .init(name: "app"), labels: ["io.kubernetes.pod.name": "p"]),
            cpu: .init(timestamp: cpuTS, usageCoreNanoSeconds: total.map { .init(value: $0) }, usageNanoCores: cores.map { .init(value: $0) }),
            memory: .init(timestamp: cpuTS, workingSetBytes: .init(value: 2 << 20)),
            writableLayer: .init(usedBytes: .init(value: 1536), inodesUsed: .init(value: 7))))
    }

    func testRecordDecodesWrappedCounters() {
        let r = record(cpuTS: 5, total: 100, cores: nil)
        XCTAssertEqual(r.id, "c1")
        XCTAssertEqual(r.name, "app")
        XCTAssertEqual(r.cpuUsageCoreNanoSeconds, 100)
        XCTAssertNil(r.cpuUsageNanoCores)
        XCTAssertEqual(r.memoryWorkingSetBytes, 2 << 20)
        XCTAssertEqual(r.writableLayerUsedBytes, 1536)
        XCTAssertEqual(r.writableLayerInodesUsed, 7)
    }

    func testCPUPercentFromTheRuntimeOrFromTwoSamples() {
        // The runtime's rate: 0.25 core = 25 %.
        let rated = record(cpuTS: 0, total: 10, cores: 250_000_000)
        XCTAssertFalse(Stats.needsSecondSample(rated))
        XCTAssertEqual(Stats.cpuPercent(first: rated, second: nil) ?? -1, 25, accuracy: 1e-9)
        // No rate on the first sample (containerd 1.6): 0.5 s of CPU in 1 s = 50 %.
        let a = record(cpuTS: 1_000_000_000, total: 3_000_000_000, cores: 0)
        let b = record(cpuTS: 2_000_000_000, total: 3_500_000_000, cores: 0)
        XCTAssertTrue(Stats.needsSecondSample(a))
        XCTAssertEqual(Stats.cpuPercent(first: a, second: b) ?? -1, 50, accuracy: 1e-9)
        // Two cores busy.
        let c = record(cpuTS: 2_000_000_000, total: 5_000_000_000, cores: 0)
        XCTAssertEqual(Stats.cpuPercent(first: a, second: c) ?? -1, 200, accuracy: 1e-9)
        // No second sample, or no time between them: the runtime's 0.
        XCTAssertEqual(Stats.cpuPercent(first: a, second: nil), 0)
        XCTAssertEqual(Stats.cpuPercent(first: a, second: a), 0)
        XCTAssertNil(Stats.cpuPercent(first: nil, second: nil))
        XCTAssertFalse(Stats.needsSecondSample(nil))
    }

    func testStatsCells() {
        let row = StatsRow(id: "0123456789abcdef0123", name: "app", podID: "p1", podName: "web-1", podNamespace: "shop",
                           state: "Running", cpuPercent: 12.345, cpuUsageCoreNanoSeconds: 1,
                           memoryWorkingSetBytes: 1536, writableLayerUsedBytes: 4096, writableLayerInodesUsed: 9, timestamp: nil)
        XCTAssertEqual(Stats.cells(row), ["0123456789abc", "app", "shop/web-1", "12.35", "1.5 KiB", "4.0 KiB", "9"])
        var bare = row
        bare.cpuPercent = nil
        bare.memoryWorkingSetBytes = nil
        bare.writableLayerUsedBytes = nil
        bare.writableLayerInodesUsed = nil
        bare.podName = ""
        bare.podNamespace = ""
        XCTAssertEqual(Stats.cells(bare, noTrunc: true), ["0123456789abcdef0123", "app", "-", "-", "-", "-", "-"])
    }

    func testTopicPrefixFilter() {
        XCTAssertEqual(EventFilters.topicPrefix("/tasks/"), #"topic~="^/tasks/""#)
        XCTAssertEqual(EventFilters.topicPrefix("/a.b"), #"topic~="^/a\\.b""#)
        XCTAssertEqual(EventFilters.topicPrefix(#"x"y\"#), #"topic~="^x\"y\\\\""#)
    }

    func testFilterCombinations() {
        XCTAssertEqual(EventFilters.build(topics: [], filters: [], namespace: nil), [])
        XCTAssertEqual(EventFilters.build(topics: [], filters: [], namespace: "k8s.io"), [#"namespace=="k8s.io""#])
        XCTAssertEqual(EventFilters.build(topics: ["/tasks/", "/images/"], filters: [], namespace: nil),
                       [#"topic~="^/tasks/""#, #"topic~="^/images/""#])
        XCTAssertEqual(EventFilters.build(topics: ["/tasks/"], filters: ["event.id==a", "event.id==b"], namespace: "n"), [
            #"topic~="^/tasks/",event.id==a,namespace=="n""#,
            #"topic~="^/tasks/",event.id==b,namespace=="n""#,
        ])
    }

    func testEventLineAndJSON() throws {
        let e = EventEnvelope(timestamp: 1_700_000_000.25, namespace: "k8s.io", topic: "/images/create",
                              typeURL: "containerd.services.images.v1.ImageCreate",
                              payload: .object(["name": .string("docker.io/library/busybox:1"), "labels": .object(["a": .string("b")])]),
                              raw: [1, 2])
        XCTAssertEqual(try EventFormat.line(e),
                       #"2023-11-14T22:13:20.250000Z k8s.io /images/create {"labels":{"a":"b"},"name":"docker.io/library/busybox:1"}"# + "\n")
        XCTAssertEqual(try EventFormat.jsonLine(e),
                       #"{"event":{"labels":{"a":"b"},"name":"docker.io/library/busybox:1"},"namespace":"k8s.io","timestamp":"2023-11-14T22:13:20.250000Z","topic":"/images/create","type":"containerd.services.images.v1.ImageCreate"}"# + "\n")
        // A type kctr cannot decode: its type and bytes.
        let unknown = EventEnvelope(timestamp: 0, namespace: "", topic: "/x", typeURL: "example.com/Thing", payload: nil, raw: [0xff])
        XCTAssertEqual(try EventFormat.line(unknown), #"1970-01-01T00:00:00.000000Z - /x {"@type":"example.com/Thing","value":"/w=="}"# + "\n")
        XCTAssertEqual(EventFormat.time(1.9999999), "1970-01-01T00:00:02.000000Z")
    }

    func testEnvelopeDecodesTheAnyPayload() throws {
        // TaskExit{container_id: "c1", exit_status: 3}: field 1 (string), field 4 (varint).
        let payload: [UInt8] = [0x0a, 0x02, 0x63, 0x31, 0x20, 0x03]
        let envelope = Containerd.EventService.Envelope(
            timestamp: .init(seconds: 10, nanos: 500_000_000), namespace: "k8s.io", topic: "/tasks/exit",
            event: .init(typeUrl: "containerd.events.TaskExit", value: payload))
        let e = EventEnvelope(envelope)
        XCTAssertEqual(e.timestamp, 10.5)
        XCTAssertEqual(e.topic, "/tasks/exit")
        XCTAssertEqual(e.typeURL, "containerd.events.TaskExit")
        guard case .object(let o)? = e.payload else { return XCTFail("payload not decoded: \(String(describing: e.payload))") }
        XCTAssertEqual(o["containerId"], .string("c1"))
        XCTAssertEqual(o["exitStatus"], .number(3))
    }
}
