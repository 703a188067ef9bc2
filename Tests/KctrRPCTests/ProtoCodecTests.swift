import XCTest
@testable import KctrRPC

/// Round trips through the real protobuf-c descriptors generated from Protos/.
final class ProtoCodecTests: XCTestCase {
    static let images = "containerd.services.images.v1.Images"
    static let content = "containerd.services.content.v1.Content"
    static let runtime = "runtime.v1.RuntimeService"
    static let imageService = "runtime.v1.ImageService"

    // MARK: helpers

    private func descriptor(_ service: String, _ method: String, output: Bool = false) throws -> MessageDescriptor {
        let d = try RPCMethod(service, method).descriptors()
        return output ? d.output : d.input
    }

    private func encode(_ p: Proto, _ service: String, _ method: String, output: Bool = false) throws -> [UInt8] {
        try ProtoCodec.encode(p, as: descriptor(service, method, output: output))
    }

    private func decode(_ bytes: [UInt8], _ service: String, _ method: String, output: Bool = false) throws -> Proto {
        let d = try descriptor(service, method, output: output)
        return try bytes.withUnsafeBytes { buf throws(RPCError) in try ProtoCodec.decode(buf, as: d) }
    }

    private func roundTrip(_ p: Proto, _ service: String, _ method: String, output: Bool = false) throws -> Proto {
        try decode(encode(p, service, method, output: output), service, method, output: output)
    }

    /// Runs `body`, which must throw an RPCError; returns it.
    private func rpcError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> RPCError? {
        do {
            try body()
            XCTFail("expected an RPCError", file: file, line: line)
            return nil
        } catch let e as RPCError {
            return e
        } catch {
            XCTFail("expected an RPCError, got \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: descriptors

    func testDescriptorNamesOfImagesCreate() throws {
        let d = try RPCMethod(Self.images, "Create").descriptors()
        XCTAssertEqual(ProtoCodec.name(of: d.input), "containerd.services.images.v1.CreateImageRequest")
        XCTAssertEqual(ProtoCodec.name(of: d.output), "containerd.services.images.v1.CreateImageResponse")
    }

    func testUnknownMethodIsCodecError() {
        let e = rpcError { _ = try RPCMethod(Self.images, "Nope").descriptors() }
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.method, "/containerd.services.images.v1.Images/Nope")
        XCTAssertEqual(e?.message, "kctr has no descriptor for /containerd.services.images.v1.Images/Nope")
    }

    func testUnknownServiceIsCodecError() {
        let e = rpcError { _ = try RPCMethod("containerd.services.nothing.v1.Nothing", "List").descriptors() }
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.method, "/containerd.services.nothing.v1.Nothing/List")
    }

    func testMethodPathAndDescription() {
        let m = RPCMethod(Self.images, "List")
        XCTAssertEqual(m.path, "/containerd.services.images.v1.Images/List")
        XCTAssertEqual(m.description, "/containerd.services.images.v1.Images/List")
    }

    // MARK: round trips

    func testImagesCreateRoundTripWithNestedMapAndTimestamps() throws {
        let target = Proto([
            "media_type": .string("application/vnd.oci.image.index.v1+json"),
            "digest": .string("sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
            "size": .int(1609),
            "annotations": .map(["org.opencontainers.image.ref.name": "1.36"]),
        ])
        let image = Proto([
            "name": .string("docker.io/library/busybox:1.36"),
            "labels": .map(["io.cri-containerd.image": "managed", "a": "b"]),
            "target": .message(target),
            "created_at": .message(Proto(["seconds": .int(1_700_000_000), "nanos": .int(500_000_000)])),
            "updated_at": .message(Proto(["seconds": .int(1_700_000_100), "nanos": .int(0)])),
        ])
        let decoded = try roundTrip(Proto(["image": .message(image)]), Self.images, "Create")

        // proto3 scalars come back with every field present; the map comes
        // back as its entries, in the sorted order `.map` wrote them.
        XCTAssertEqual(decoded, Proto(["image": .message(image)]))
        let back = try XCTUnwrap(decoded.message("image"))
        XCTAssertEqual(back.string("name"), "docker.io/library/busybox:1.36")
        XCTAssertEqual(back.map("labels"), ["io.cri-containerd.image": "managed", "a": "b"])
        XCTAssertEqual(back.messages("labels").map { $0.string("key") }, ["a", "io.cri-containerd.image"])
        XCTAssertEqual(back.timestamp("created_at"), 1_700_000_000.5)
        XCTAssertEqual(back.timestamp("updated_at"), 1_700_000_100)
        XCTAssertEqual(back.message("target")?.int("size"), 1609)
        XCTAssertEqual(back.message("target")?.map("annotations"), ["org.opencontainers.image.ref.name": "1.36"])

        let record = ImageRecord(Containerd.Images.Image(proto: back))
        XCTAssertEqual(record.name, "docker.io/library/busybox:1.36")
        XCTAssertEqual(record.target, Descriptor(mediaType: "application/vnd.oci.image.index.v1+json",
                                                 digest: "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
                                                 size: 1609, annotations: ["org.opencontainers.image.ref.name": "1.36"]))
        XCTAssertEqual(record.createdAt, 1_700_000_000.5)
        XCTAssertEqual(record.updatedAt, 1_700_000_100)
    }

    func testDefaultsComeBackAndUnsetMessagesStayAbsent() throws {
        // Only the name is set: target and timestamps are unset messages,
        // labels an empty repeated field; none of them is decoded.
        let decoded = try roundTrip(Proto(["image": .message(Proto(["name": .string("x")]))]), Self.images, "Create")
        XCTAssertEqual(decoded, Proto(["image": .message(Proto(["name": .string("x")]))]))
        let image = try XCTUnwrap(decoded.message("image"))
        XCTAssertNil(image.message("target"))
        XCTAssertNil(image.timestamp("created_at"))
        XCTAssertFalse(image.has("labels"))
    }

    func testEmptyMessageEncodesToNoBytes() throws {
        XCTAssertEqual(try encode(Proto(), Self.images, "Create"), [])
        XCTAssertEqual(try decode([], Self.images, "Create"), Proto())
        // A proto3 scalar at its default is not written, and reads back as the default.
        XCTAssertEqual(try encode(Proto(["name": .string(""), "sync": .bool(false)]), Self.images, "Delete"), [])
        XCTAssertEqual(try decode([], Self.images, "Delete"), Proto(["name": .string(""), "sync": .bool(false)]))
    }

    func testImagesListRepeatedStrings() throws {
        let filters = ["name==docker.io/library/busybox:latest", "labels.\"a\"==b", ""]
        let request = Proto(["filters": .strings(filters)])
        let bytes = try encode(Proto(["filters": .strings(["ab"])]), Self.images, "List")
        XCTAssertEqual(bytes, [0x0a, 0x02, 0x61, 0x62])
        let decoded = try roundTrip(request, Self.images, "List")
        XCTAssertEqual(decoded.strings("filters"), filters)
        XCTAssertEqual(decoded, request)
    }

    func testImagesListEmptyRepeatedIsAbsent() throws {
        let decoded = try roundTrip(Proto(["filters": .strings([])]), Self.images, "List")
        XCTAssertEqual(decoded, Proto())
        XCTAssertEqual(decoded.strings("filters"), [])
    }

    func testContentWriteBytesInt64AndEnum() throws {
        let data: [UInt8] = [0, 1, 2, 0xfe, 0xff, 0]
        let request = Proto([
            "action": .enumeration(1), // WRITE
            "ref": .string("kctr-import-1"),
            "total": .int(1 << 40),
            "expected": .string("sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"),
            "offset": .int(-1),
            "data": .bytes(data),
            "labels": .map(["containerd.io/gc.root": "2024-01-01T00:00:00Z"]),
        ])
        let decoded = try roundTrip(request, Self.content, "Write")
        XCTAssertEqual(decoded, request)
        XCTAssertEqual(decoded.bytes("data"), data)
        XCTAssertEqual(decoded.int("total"), 1_099_511_627_776)
        XCTAssertEqual(decoded.int("offset"), -1)
        XCTAssertEqual(decoded.enumValue("action"), 1)
        XCTAssertEqual(decoded.int("action"), 1)
    }

    func testContentWriteWireBytes() throws {
        // action=COMMIT (field 1, varint 2), data=[7,8,9] (field 6, length-delimited).
        let bytes = try encode(Proto(["action": .enumeration(2), "data": .bytes([7, 8, 9])]), Self.content, "Write")
        XCTAssertEqual(bytes, [0x08, 0x02, 0x32, 0x03, 0x07, 0x08, 0x09])
        let decoded = try decode(bytes, Self.content, "Write")
        XCTAssertEqual(decoded.enumValue("action"), 2)
        XCTAssertEqual(decoded.bytes("data"), [7, 8, 9])
        XCTAssertEqual(decoded.string("ref"), "")
        XCTAssertEqual(decoded.int("total"), 0)
    }

    func testEnumFieldAcceptsIntAndDecodesAsEnumeration() throws {
        let decoded = try roundTrip(Proto(["action": .int(2)]), Self.content, "Write")
        XCTAssertEqual(decoded["action"], .enumeration(2))
    }

    func testEmptyBytesFieldDecodesAsEmpty() throws {
        let decoded = try roundTrip(Proto(["data": .bytes([])]), Self.content, "Write")
        XCTAssertEqual(decoded["data"], .bytes([]))
        XCTAssertEqual(decoded.bytes("data"), [])
    }

    func testCRIStatusRequestBool() throws {
        XCTAssertEqual(try encode(Proto(["verbose": .bool(true)]), Self.runtime, "Status"), [0x08, 0x01])
        XCTAssertEqual(try roundTrip(Proto(["verbose": .bool(true)]), Self.runtime, "Status"),
                       Proto(["verbose": .bool(true)]))
        XCTAssertEqual(try encode(Proto(["verbose": .bool(false)]), Self.runtime, "Status"), [])
        XCTAssertEqual(try roundTrip(Proto(["verbose": .bool(false)]), Self.runtime, "Status"),
                       Proto(["verbose": .bool(false)]))
        XCTAssertTrue(try decode([0x08, 0x01], Self.runtime, "Status").bool("verbose"))
    }

    func testCRIImageUint64AndRepeatedMessages() throws {
        let image = Proto([
            "id": .string("sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"),
            "repo_tags": .strings(["docker.io/library/busybox:1.36"]),
            "repo_digests": .strings(["docker.io/library/busybox@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"]),
            "size": .uint(UInt64(Int64.max) + 1),
            "username": .string(""),
            "pinned": .bool(true),
        ])
        let response = Proto(["images": .list([.message(image), .message(Proto(["id": .string("b")]))])])
        let decoded = try roundTrip(response, Self.imageService, "ListImages", output: true)
        let images = decoded.messages("images")
        XCTAssertEqual(images.count, 2)
        XCTAssertEqual(images[0], image)
        XCTAssertEqual(images[0].uint("size"), 9_223_372_036_854_775_808)
        XCTAssertEqual(images[0].int("size"), Int64.max) // clamped
        XCTAssertEqual(images[1], Proto(["id": .string("b"), "size": .uint(0), "username": .string(""), "pinned": .bool(false)]))

        let cri = CRIImage(CRI.Image(proto: images[0]))
        XCTAssertEqual(cri.id, "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6")
        XCTAssertEqual(cri.repoTags, ["docker.io/library/busybox:1.36"])
        XCTAssertEqual(cri.size, 9_223_372_036_854_775_808)
        XCTAssertTrue(cri.pinned)
    }

    func testIntrospectionPluginInitErrorIntoPluginRecord() throws {
        let plugin = Proto([
            "type": .string("io.containerd.snapshotter.v1"),
            "id": .string("btrfs"),
            "requires": .strings(["io.containerd.content.v1"]),
            "platforms": .list([.message(Proto(["os": .string("linux"), "architecture": .string("amd64")]))]),
            "exports": .map(["root": "/var/lib/containerd/io.containerd.snapshotter.v1.btrfs"]),
            "init_err": .message(Proto(["code": .int(2), "message": .string("path must be a btrfs filesystem: skip plugin")])),
        ])
        let ok = Proto(["type": .string("io.containerd.grpc.v1"), "id": .string("cri")])
        let noMessage = Proto(["type": .string("t"), "id": .string("x"), "init_err": .message(Proto(["code": .int(13)]))])
        let decoded = try roundTrip(Proto(["plugins": .list([.message(plugin), .message(ok), .message(noMessage)])]),
                                    "containerd.services.introspection.v1.Introspection", "Plugins", output: true)
        let records = decoded.messages("plugins").map { PluginRecord(Containerd.Introspection.Plugin(proto: $0)) }
        XCTAssertEqual(records.count, 3)
        XCTAssertEqual(records[0].type, "io.containerd.snapshotter.v1")
        XCTAssertEqual(records[0].id, "btrfs")
        XCTAssertEqual(records[0].requires, ["io.containerd.content.v1"])
        XCTAssertEqual(records[0].platforms, [Platform(os: "linux", architecture: "amd64")])
        XCTAssertEqual(records[0].exports, ["root": "/var/lib/containerd/io.containerd.snapshotter.v1.btrfs"])
        XCTAssertEqual(records[0].capabilities, [])
        XCTAssertEqual(records[0].initError, "path must be a btrfs filesystem: skip plugin")
        XCTAssertNil(records[1].initError)
        XCTAssertEqual(records[2].initError, "error code 13")
    }

    func testDecodeAnyKnownAndUnknownType() {
        // containerd.services.images.v1.ImageCreate{name: "x", labels: {"k": "v"}}
        let bytes: [UInt8] = [0x0a, 0x01, 0x78, 0x12, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76]
        let p = ProtoCodec.decodeAny(typeURL: "containerd.services.images.v1.ImageCreate", value: bytes)
        XCTAssertEqual(p?.string("name"), "x")
        XCTAssertEqual(p?.map("labels"), ["k": "v"])
        let prefixed = ProtoCodec.decodeAny(typeURL: "type.googleapis.com/containerd.services.images.v1.ImageCreate", value: bytes)
        XCTAssertEqual(prefixed, p)
        XCTAssertNil(ProtoCodec.decodeAny(typeURL: "containerd.services.images.v1.Nope", value: bytes))
        XCTAssertNil(ProtoCodec.decodeAny(typeURL: "containerd.services.images.v1.ImageCreate", value: [0xff, 0xff]))
    }

    // MARK: errors

    func testUnknownFieldIsCodecError() throws {
        let d = try descriptor(Self.images, "List")
        let e = rpcError { _ = try ProtoCodec.encode(Proto(["filter": .strings(["x"])]), as: d) }
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.message, "containerd.services.images.v1.ListImagesRequest has no field filter")
        XCTAssertEqual(e?.method, "")
    }

    func testUnknownFieldInNestedMessageIsCodecError() throws {
        let d = try descriptor(Self.images, "Create")
        let e = rpcError {
            _ = try ProtoCodec.encode(Proto(["image": .message(Proto(["nmae": .string("x")]))]), as: d)
        }
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.message, "containerd.services.images.v1.Image has no field nmae")
    }

    func testWrongTypeIsCodecError() throws {
        let d = try descriptor(Self.images, "Create")
        let notAMessage = rpcError { _ = try ProtoCodec.encode(Proto(["image": .string("busybox")]), as: d) }
        XCTAssertEqual(notAMessage?.code, .codec)
        XCTAssertEqual(notAMessage?.message, "value string(\"busybox\") does not fit field image")

        let intForString = rpcError {
            _ = try ProtoCodec.encode(Proto(["image": .message(Proto(["name": .int(5)]))]), as: d)
        }
        XCTAssertEqual(intForString?.code, .codec)
        XCTAssertEqual(intForString?.message, "value int(5) does not fit field name")

        let status = try descriptor(Self.runtime, "Status")
        let intForBool = rpcError { _ = try ProtoCodec.encode(Proto(["verbose": .int(1)]), as: status) }
        XCTAssertEqual(intForBool?.code, .codec)
        XCTAssertEqual(intForBool?.message, "value int(1) does not fit field verbose")

        let write = try descriptor(Self.content, "Write")
        let stringForBytes = rpcError { _ = try ProtoCodec.encode(Proto(["data": .string("abc")]), as: write) }
        XCTAssertEqual(stringForBytes?.code, .codec)
        let stringForInt64 = rpcError { _ = try ProtoCodec.encode(Proto(["offset": .string("1")]), as: write) }
        XCTAssertEqual(stringForInt64?.code, .codec)
        XCTAssertEqual(stringForInt64?.message, "value string(\"1\") does not fit field offset")
    }

    func testScalarForRepeatedIsCodecError() throws {
        let d = try descriptor(Self.images, "List")
        let e = rpcError { _ = try ProtoCodec.encode(Proto(["filters": .string("name==x")]), as: d) }
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.message, "field filters is repeated: give a list")

        let badElement = rpcError { _ = try ProtoCodec.encode(Proto(["filters": .list([.string("a"), .int(1)])]), as: d) }
        XCTAssertEqual(badElement?.code, .codec)
        XCTAssertEqual(badElement?.message, "value int(1) does not fit field filters")
    }

    func testGarbageBytesAreCodecError() throws {
        let d = try descriptor(Self.images, "List")
        let garbage: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        let e = rpcError { _ = try garbage.withUnsafeBytes { buf throws(RPCError) in try ProtoCodec.decode(buf, as: d) } }
        XCTAssertEqual(e?.code, .codec)
        XCTAssertEqual(e?.message, "cannot decode a containerd.services.images.v1.ListImagesRequest from 11 bytes")

        // A length prefix longer than the buffer.
        let truncated: [UInt8] = [0x0a, 0x05, 0x61]
        let t = rpcError { _ = try truncated.withUnsafeBytes { buf throws(RPCError) in try ProtoCodec.decode(buf, as: d) } }
        XCTAssertEqual(t?.code, .codec)
        XCTAssertEqual(t?.message, "cannot decode a containerd.services.images.v1.ListImagesRequest from 3 bytes")
    }

    // MARK: WireBytes (Content.Read's fast path)

    /// WireBytes reads `data` exactly as protobuf-c does, next to other fields of every wire type.
    func testWireBytesMatchesProtobufC() throws {
        var chunk = [UInt8](repeating: 0, count: 300_000)
        for i in chunk.indices { chunk[i] = UInt8(truncatingIfNeeded: i &* 31) }
        for (offset, data) in [(Int64(0), chunk), (Int64(1) << 40, [UInt8]()), (-5, [0x00, 0xFF])] {
            let bytes = try encode(Proto(["offset": .int(offset), "data": .bytes(data)]), Self.content, "Read", output: true)
            let viaC = try decode(bytes, Self.content, "Read", output: true).bytes("data")
            XCTAssertEqual(bytes.withUnsafeBytes { WireBytes.field(2, in: $0) }, viaC)
            XCTAssertEqual(viaC, data)
        }
        // Fixed64 (1), fixed32 (5), an unknown length-delimited field and a repeated data field (last wins).
        let mixed: [UInt8] = [0x09] + [UInt8](repeating: 7, count: 8) + [0x1D, 1, 2, 3, 4] + [0x3A, 2, 9, 9]
            + [0x12, 1, 0xAA] + [0x08, 0x96, 0x01] + [0x12, 2, 0xBB, 0xCC]
        XCTAssertEqual(mixed.withUnsafeBytes { WireBytes.field(2, in: $0) }, [0xBB, 0xCC])
        XCTAssertEqual([UInt8]().withUnsafeBytes { WireBytes.field(2, in: $0) }, [])
    }

    func testWireBytesRefusesMalformedMessages() {
        let bad: [[UInt8]] = [
            [0x12, 5, 1, 2],             // length past the end
            [0x12],                      // no length
            [0x08],                      // varint cut short
            [0x08, 0x80, 0x80],          // varint cut short
            [0x09, 1, 2, 3],             // fixed64 cut short
            [0x0B],                      // group (wire type 3)
            [0x02, 0],                   // field number 0
            [UInt8](repeating: 0xFF, count: 11) + [0x01],  // varint over 64 bits
        ]
        for b in bad {
            XCTAssertNil(b.withUnsafeBytes { WireBytes.field(2, in: $0) }, "\(b)")
        }
    }
}
