import XCTest
@testable import KctrRPC
internal import CGRPCShim

/// The decode budget: replies whose decoded form would dwarf their wire size are refused before protobuf-c
/// allocates anything; real replies, large ones included, decode with room to spare.
final class DecodeBudgetTests: XCTestCase {
    static let runtime = "runtime.v1.RuntimeService"

    private func output(_ service: String, _ method: String) throws -> MessageDescriptor {
        try RPCMethod(service, method).descriptors().output
    }

    private func decode(_ bytes: [UInt8], _ d: MessageDescriptor) throws -> Proto {
        try bytes.withUnsafeBytes { buf throws(RPCError) in try ProtoCodec.decode(buf, as: d) }
    }

    private func refusal(_ bytes: [UInt8], _ d: MessageDescriptor, file: StaticString = #filePath, line: UInt = #line) -> RPCError? {
        do {
            _ = try decode(bytes, d)
            XCTFail("decoded \(bytes.count) bytes that should have been refused", file: file, line: line)
        } catch let e as RPCError {
            return e
        } catch {
            XCTFail("expected an RPCError, got \(error)", file: file, line: line)
        }
        return nil
    }

    /// The estimate over the wire size, for replies that must fit.
    private func ratio(_ bytes: [UInt8], _ d: MessageDescriptor) -> Double {
        guard case .within(let cost) = bytes.withUnsafeBytes({ DecodeBudget.estimate($0, as: d, limit: .max) }) else { return .infinity }
        print("decode estimate for \(ProtoCodec.name(of: d)): \(cost) bytes for \(bytes.count) on the wire (\(Double(cost) / Double(bytes.count))x)")
        return Double(cost) / Double(bytes.count)
    }

    private static func repeating(_ element: [UInt8], count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(element.count * count)
        for _ in 0..<count { out += element }
        return out
    }

    private static func varint(_ n: Int) -> [UInt8] {
        var n = UInt64(n)
        var out: [UInt8] = []
        while n >= 0x80 {
            out.append(UInt8(n & 0x7F) | 0x80)
            n >>= 7
        }
        return out + [UInt8(n)]
    }

    private static func lengthDelimited(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(number << 3 | 2) + varint(payload.count) + payload
    }

    // MARK: crafted replies are refused

    /// 1 MiB of empty ContainerStatus entries (2 bytes each on the wire, ~1 KB each decoded: 500x).
    func testEmptyNestedMessagesAreRefused() throws {
        let d = try output(Self.runtime, "PodSandboxStatus")
        let e = refusal(Self.repeating([0x1a, 0x00], count: 1 << 19), d)
        XCTAssertEqual(e?.code, .replyTooLarge)
        XCTAssertEqual(e?.message, "the daemon's reply (a runtime.v1.PodSandboxStatusResponse of 1048576 bytes) was refused as too "
            + "large to decode: it would take more than 24 MiB of memory, the most kctr allows for a reply of its size "
            + "(20 times the size plus 4 MiB, at most 512 MiB)")
        XCTAssertEqual(e?.code.name, "ReplyTooLarge")
    }

    /// Image records, each an empty map entry in `labels` (zero-length repeated entries inside repeated entries).
    func testEmptyMapEntriesAreRefused() throws {
        let d = try output("containerd.services.images.v1.Images", "List")
        let image = Self.lengthDelimited(1, Self.repeating([0x12, 0x00], count: 1000))
        let e = refusal(Self.repeating(image, count: 600), d)
        XCTAssertEqual(e?.code, .replyTooLarge)
        XCTAssertTrue(e?.message.hasPrefix("the daemon's reply (a containerd.services.images.v1.ListImagesResponse of ") == true, e?.message ?? "")
    }

    /// A packed `repeated int64` (ContainerStatus.user.linux.supplemental_groups): 1 byte per entry on the
    /// wire, 32 decoded.
    func testPackedScalarsAreCountedPerEntry() throws {
        let d = try output(Self.runtime, "ContainerStatus")
        func reply(_ entries: Int) -> [UInt8] {
            let groups = Self.lengthDelimited(3, [UInt8](repeating: 0, count: entries))
            return Self.lengthDelimited(1, Self.lengthDelimited(18, Self.lengthDelimited(1, groups)))
        }
        let e = refusal(reply(2 << 20), d)
        XCTAssertEqual(e?.code, .replyTooLarge)
        // A real list of groups decodes.
        let few = try decode(reply(40), d)
        let groups = few.message("status")?.message("user")?.message("linux")?["supplemental_groups"]
        XCTAssertEqual(groups, .list([ProtoValue](repeating: .int(0), count: 40)))
    }

    /// Fields kctr does not know are kept by protobuf-c (a struct and a copy each): counted too.
    func testUnknownFieldsAreCounted() throws {
        let d = try output("containerd.services.version.v1.Version", "Version")
        // Field 1000, varint 0: 3 bytes each.
        let e = refusal(Self.repeating([0xC0, 0x3E, 0x00], count: 4 << 20), d)
        XCTAssertEqual(e?.code, .replyTooLarge)
        XCTAssertEqual(try decode(Self.repeating([0xC0, 0x3E, 0x00], count: 1000), d).string("version"), "")
    }

    /// Bytes that are no message are refused as before, whether the fault is outside or inside a nested message.
    func testMalformedBytesAreStillCodecErrors() throws {
        let d = try output(Self.runtime, "PodSandboxStatus")
        // A ContainerStatus whose id claims 5 bytes and has 1.
        let e = refusal([0x1a, 0x03, 0x0a, 0x05, 0x61], d)
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.message, "cannot decode a runtime.v1.PodSandboxStatusResponse from 5 bytes")
        // A group (wire type 3), which protobuf-c does not read either.
        XCTAssertEqual(refusal([0x0b], d)?.code, .codec)
    }

    // MARK: real replies fit

    func testSmallRepliesAlwaysFit() throws {
        let d = try output(Self.runtime, "PodSandboxStatus")
        XCTAssertEqual(try decode([0x1a, 0x00], d).messages("containers_statuses").count, 1)
        XCTAssertNil(try decode([], d).message("status"))
    }

    static func hex(_ i: Int) -> String {
        let h = String(i, radix: 16)
        return String(repeating: "0", count: 64 - h.count) + h
    }

    /// 5,000 image records as containerd lists them on a busy node (names, CRI's sha256 records, a label,
    /// a target, timestamps).
    func testFiveThousandImageRecordsFit() throws {
        let d = try output("containerd.services.images.v1.Images", "List")
        let images: [ProtoValue] = (0..<5000).map { i in
            let target = Proto(["media_type": .string("application/vnd.oci.image.index.v1+json"),
                                "digest": .string("sha256:" + Self.hex(i)), "size": .int(1609)])
            return .message(Proto([
                "name": .string(i % 2 == 0 ? "registry.example.com/team/app-\(i):1.\(i % 30)" : "sha256:" + Self.hex(i)),
                "labels": .map(["io.cri-containerd.image": "managed"]),
                "target": .message(target),
                "created_at": .message(Proto(["seconds": .int(1_700_000_000 + Int64(i)), "nanos": .int(5)])),
                "updated_at": .message(Proto(["seconds": .int(1_700_000_000 + Int64(i)), "nanos": .int(5)])),
            ]))
        }
        let bytes = try ProtoCodec.encode(Proto(["images": .list(images)]), as: d)
        XCTAssertEqual(try decode(bytes, d).messages("images").count, 5000)
        XCTAssertLessThan(ratio(bytes, d), 12)
    }

    /// 5,000 images as CRI lists them.
    func testFiveThousandCRIImagesFit() throws {
        let d = try output("runtime.v1.ImageService", "ListImages")
        let images: [ProtoValue] = (0..<5000).map { i in
            .message(Proto([
                "id": .string("sha256:" + Self.hex(i)),
                "repo_tags": .strings(["registry.example.com/team/app-\(i):1.\(i % 30)", "docker.io/library/app:\(i)"]),
                "repo_digests": .strings(["registry.example.com/team/app-\(i)@sha256:" + Self.hex(i + 1)]),
                "size": .uint(UInt64(1_000_000 + i)),
                "spec": .message(Proto(["image": .string("sha256:" + Self.hex(i))])),
            ]))
        }
        let bytes = try ProtoCodec.encode(Proto(["images": .list(images)]), as: d)
        XCTAssertEqual(try decode(bytes, d).messages("images").count, 5000)
        XCTAssertLessThan(ratio(bytes, d), 10)
    }

    /// 1,000 containers with the kubelet's labels and annotations (short values such as "0" included).
    func testThousandKubeletContainersFit() throws {
        let d = try output(Self.runtime, "ListContainers")
        let containers: [ProtoValue] = (0..<1000).map { i in
            .message(Proto([
                "id": .string(Self.hex(i)), "pod_sandbox_id": .string(Self.hex(i + 7)),
                "metadata": .message(Proto(["name": .string("app"), "attempt": .uint(0)])),
                "image": .message(Proto(["image": .string("sha256:" + Self.hex(i))])),
                "image_ref": .string("sha256:" + Self.hex(i)), "state": .enumeration(1), "created_at": .int(1_700_000_000_000_000_000),
                "labels": .map(["io.kubernetes.container.name": "app", "io.kubernetes.pod.name": "web-\(i)",
                                "io.kubernetes.pod.namespace": "default", "io.kubernetes.pod.uid": "uid-\(i)"]),
                "annotations": .map(["io.kubernetes.container.hash": "1a2b3c", "io.kubernetes.container.restartCount": "0",
                                     "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
                                     "io.kubernetes.container.terminationMessagePolicy": "File",
                                     "io.kubernetes.pod.terminationGracePeriod": "30"]),
            ]))
        }
        let bytes = try ProtoCodec.encode(Proto(["containers": .list(containers)]), as: d)
        XCTAssertEqual(try decode(bytes, d).messages("containers").count, 1000)
        XCTAssertLessThan(ratio(bytes, d), 12)
    }

    /// CRI's verbose status: its info is one large JSON document.
    func testBigVerboseStatusFits() throws {
        let d = try output(Self.runtime, "ContainerStatus")
        let json = "{\"pid\": 1, \"runtimeSpec\": {\"annotations\": {" + (0..<60_000).map { "\"k\($0)\": \"v\($0)\"" }.joined(separator: ", ") + "}}}"
        let status = Proto(["id": .string(Self.hex(1)), "log_path": .string("/var/log/pods/x/app/0.log")])
        let bytes = try ProtoCodec.encode(Proto(["status": .message(status), "info": .map(["info": json])]), as: d)
        XCTAssertGreaterThan(bytes.count, 1 << 20)
        XCTAssertEqual(try decode(bytes, d).map("info")["info"], json)
        XCTAssertLessThan(ratio(bytes, d), 3)
    }

    /// A 16 MiB content chunk (the receive limit's worth) through the generic decoder.
    func testSixteenMiBChunkFits() throws {
        let d = try output("containerd.services.content.v1.Content", "Read")
        let data = [UInt8](repeating: 0x5a, count: 16 << 20)
        let bytes = try ProtoCodec.encode(Proto(["offset": .int(0), "data": .bytes(data)]), as: d)
        XCTAssertEqual(try decode(bytes, d).bytes("data").count, 16 << 20)
        XCTAssertLessThan(ratio(bytes, d), 3)
    }

    func testAllowance() {
        XCTAssertEqual(DecodeBudget.allowance(wireBytes: 0), 4 << 20)
        XCTAssertEqual(DecodeBudget.allowance(wireBytes: 16 << 20), (4 << 20) + (320 << 20))
        XCTAssertEqual(DecodeBudget.allowance(wireBytes: 2047 << 20), 512 << 20)
    }

    /// The budget's recursion follows the schema: it stays bounded only while no type contains itself.
    func testNoReplyTypeContainsItself() {
        var finished = Set<UnsafeRawPointer>()
        func visit(_ d: MessageDescriptor, _ path: [String]) {
            let key = UnsafeRawPointer(d)
            if finished.contains(key) { return }
            let name = ProtoCodec.name(of: d)
            if path.contains(name) { return XCTFail("\(name) contains itself: \((path + [name]).joined(separator: " > "))") }
            if let fields = d.pointee.fields {
                for i in 0..<Int(d.pointee.n_fields) where fields[i].type == PROTOBUF_C_TYPE_MESSAGE {
                    if let sub = fields[i].descriptor { visit(sub.assumingMemoryBound(to: ProtobufCMessageDescriptor.self), path + [name]) }
                }
            }
            finished.insert(key)
        }
        let all = ReplyFuzzing.replyDescriptors()
        XCTAssertGreaterThan(all.count, 50)
        for d in all { visit(d, []) }
    }

    // MARK: the fuzz entry point

    func testFuzzEntryPointKnowsEveryReplyType() {
        XCTAssertTrue(ReplyFuzzing.typeNames.contains("containerd.services.images.v1.ListImagesResponse"))
        XCTAssertTrue(ReplyFuzzing.typeNames.contains("runtime.v1.PodSandboxStatusResponse"))
        XCTAssertTrue(ReplyFuzzing.typeNames.contains("containerd.services.events.v1.Envelope"))
        XCTAssertTrue(ReplyFuzzing.typeNames.contains("containerd.events.TaskExit"))
        XCTAssertEqual(ReplyFuzzing.typeNames, ReplyFuzzing.typeNames.sorted())
        XCTAssertEqual(ReplyFuzzing.decode("runtime.v1.PodSandboxStatusResponse", [0x1a, 0x00]), .decoded)
        XCTAssertEqual(ReplyFuzzing.decode("runtime.v1.PodSandboxStatusResponse", [0xff]), .refused)
        XCTAssertEqual(ReplyFuzzing.decode("runtime.v1.PodSandboxStatusResponse", Array(repeating: 0x1a, count: 1)), .refused)
        XCTAssertEqual(ReplyFuzzing.decode("runtime.v1.Nope", []), .unknownType)
    }

    /// A seed's request must be of the method's input type: refused before any call (the socket does not exist).
    func testRecordRefusesARequestOfAnotherType() async throws {
        let rpc = RPCClient(channel: RPCChannel(target: "unix:///nonexistent/kctr-record.sock"),
                            options: CallOptions(timeoutMilliseconds: 1_000))
        do {
            _ = try await ReplyFuzzing.record(rpc, RPCMethod(Self.runtime, "Version"), CRI.StatusRequest(verbose: true))
            XCTFail("recorded a Version call with a StatusRequest")
        } catch {
            XCTAssertEqual(error.code, .codec)
            XCTAssertEqual(error.message, "/runtime.v1.RuntimeService/Version takes a runtime.v1.VersionRequest, not a runtime.v1.StatusRequest")
        }
        let seed = ReplyFuzzing.Seed(typeName: "runtime.v1.VersionResponse", bytes: [0x0a, 0x02, 0x76, 0x31])
        XCTAssertEqual(seed.file, Array("runtime.v1.VersionResponse\n".utf8) + [0x0a, 0x02, 0x76, 0x31])
    }
}
