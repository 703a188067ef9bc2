import XCTest
@testable import KctrRPC

/// ImageListWire reads the two image lists from their wire bytes: it must give what ProtoCodec and the
/// models' Proto initialisers give on the same bytes, and refuse what they refuse.
final class ImageListWireTests: XCTestCase {
    static let containerdList = RPCMethod("containerd.services.images.v1.Images", "List")
    static let criList = RPCMethod("runtime.v1.ImageService", "ListImages")

    private func viaCodec(_ bytes: [UInt8], _ m: RPCMethod) throws -> Proto {
        let d = try m.descriptors().output
        return try bytes.withUnsafeBytes { buf throws(RPCError) in try ProtoCodec.decode(buf, as: d) }
    }

    private func containerd(_ bytes: [UInt8]) throws -> [ImageRecord] {
        try bytes.withUnsafeBytes { buf throws(RPCError) in try ImageListWire.containerdImages(buf) }
    }

    private func cri(_ bytes: [UInt8]) throws -> [CRIImage] {
        try bytes.withUnsafeBytes { buf throws(RPCError) in try ImageListWire.criImages(buf) }
    }

    /// Both decoders on `bytes`, compared.
    private func assertSame(containerd bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = Containerd.Images.ListImagesResponse(proto: try viaCodec(bytes, Self.containerdList)).images.map(ImageRecord.init)
        XCTAssertEqual(try containerd(bytes), expected, file: file, line: line)
    }

    private func assertSame(cri bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = CRI.ListImagesResponse(proto: try viaCodec(bytes, Self.criList)).images.map(CRIImage.init)
        XCTAssertEqual(try cri(bytes), expected, file: file, line: line)
    }

    private func encode(_ p: Proto, _ m: RPCMethod) throws -> [UInt8] {
        try ProtoCodec.encode(p, as: try m.descriptors().output)
    }

    static func varint(_ n: UInt64) -> [UInt8] {
        var n = n
        var out: [UInt8] = []
        while n >= 0x80 {
            out.append(UInt8(n & 0x7F) | 0x80)
            n >>= 7
        }
        return out + [UInt8(n)]
    }

    static func field(_ number: Int, _ payload: [UInt8]) -> [UInt8] {
        varint(UInt64(number << 3 | 2)) + varint(UInt64(payload.count)) + payload
    }

    static func field(_ number: Int, _ s: String) -> [UInt8] { field(number, Array(s.utf8)) }

    static func field(_ number: Int, varint v: UInt64) -> [UInt8] { varint(UInt64(number << 3)) + varint(v) }

    func testContainerdListAsTheCodecReadsIt() throws {
        let image = { (name: String, labels: [String: String], seconds: Int64) in
            ProtoValue.message(Proto([
                "name": .string(name), "labels": .map(labels),
                "target": .message(Proto(["media_type": .string("application/vnd.oci.image.index.v1+json"),
                                           "digest": .string("sha256:" + String(repeating: "a", count: 64)), "size": .int(1234),
                                           "annotations": .map(["org.opencontainers.image.ref.name": "1.0"])])),
                "created_at": .message(Proto(["seconds": .int(seconds), "nanos": .int(123_456_789)])),
                "updated_at": .message(Proto(["seconds": .int(seconds + 1)])),
            ]))
        }
        let bytes = try encode(Proto(["images": .list([
            image("docker.io/library/busybox:1.36", ["io.cri-containerd.image": "managed", "a": "b"], 1_700_000_000),
            image("registry.k8s.io/pause:3.9", [:], -5),
            .message(Proto()),
        ])]), Self.containerdList)
        try assertSame(containerd: bytes)
        let records = try containerd(bytes)
        XCTAssertEqual(records.map(\.name), ["docker.io/library/busybox:1.36", "registry.k8s.io/pause:3.9", ""])
        XCTAssertEqual(records[0].labels, ["io.cri-containerd.image": "managed", "a": "b"])
        XCTAssertEqual(records[0].target.annotations, ["org.opencontainers.image.ref.name": "1.0"])
        XCTAssertNil(records[2].createdAt)
        XCTAssertEqual(try containerd([]), [])
    }

    func testCRIListAsTheCodecReadsIt() throws {
        let bytes = try encode(Proto(["images": .list([
            .message(Proto(["id": .string("sha256:" + String(repeating: "b", count: 64)),
                            "repo_tags": .strings(["a:1", "a:2"]), "repo_digests": .strings(["a@sha256:" + String(repeating: "c", count: 64)]),
                            "size": .uint(UInt64.max), "pinned": .bool(true), "username": .string("root"),
                            "uid": .message(Proto(["value": .int(0)])),
                            "spec": .message(Proto(["image": .string("x"), "annotations": .map(["k": "v"])]))])),
            .message(Proto()),
        ])]), Self.criList)
        try assertSame(cri: bytes)
        XCTAssertEqual(try cri(bytes).first?.repoTags, ["a:1", "a:2"])
        XCTAssertEqual(try cri(bytes).first?.size, UInt64.max)
    }

    /// What only a hostile or broken server sends: repeated scalars, a message sent twice (merged), a map
    /// key sent twice, a NUL inside a string, ill-formed UTF-8, unknown fields of every wire type.
    func testOddButWellFormedBytesAsTheCodecReadsThem() throws {
        typealias T = ImageListWireTests
        let target1 = T.field(1, "m1") + T.field(2, "d1") + T.field(3, varint: 7)
        let target2 = T.field(2, "d2") + T.field(5, T.field(1, "k") + T.field(2, "v1")) + T.field(5, T.field(1, "k") + T.field(2, "v2"))
        let unknown: [UInt8] = [0x48, 0x01] + [0x51] + Array(repeating: 0, count: 8) + [0x5D, 0, 0, 0, 0] + T.field(12, "x")
        let image = T.field(1, "first") + T.field(1, Array("sec".utf8) + [0] + Array("ond".utf8)) + T.field(3, target1)
            + T.field(7, T.field(1, varint: 10)) + unknown + T.field(3, target2) + T.field(7, T.field(2, varint: 5))
            + T.field(2, T.field(1, [0xFF, 0xFE]) + T.field(2, "v")) + T.field(8, [])
        try assertSame(containerd: T.field(1, image) + unknown + T.field(1, []))
        let criImage = T.field(1, "id1") + T.field(1, "id2") + T.field(2, "t") + T.field(2, "") + T.field(4, varint: 1)
            + T.field(4, varint: 9) + T.field(8, varint: 2) + unknown
        try assertSame(cri: T.field(1, criImage))
    }

    func testMalformedBytesAreRefusedAsByTheCodec() throws {
        typealias T = ImageListWireTests
        let cases: [[UInt8]] = [
            [0x0A],                                   // a length that never comes
            [0x0A, 0x05, 0x0A],                       // a record longer than the reply
            T.field(1, [0x0A, 0x09] + Array("short".utf8)),  // a string longer than its record
            [0x0F],                                   // wire type 7
            [0x00, 0x00],                             // field number 0
            T.field(1, [0x08, 0x03]),                 // name sent as a varint
            T.field(1, [0x1A, 0x02, 0x18, 0x80]),     // a varint cut by the end of its message
        ]
        for bytes in cases {
            XCTAssertThrowsError(try viaCodec(bytes, Self.containerdList), "codec accepted \(bytes)")
            XCTAssertThrowsError(try containerd(bytes), "wire accepted \(bytes)") { error in
                XCTAssertEqual((error as? RPCError)?.code, .codec)
                XCTAssertEqual((error as? RPCError)?.message,
                               "cannot decode a containerd.services.images.v1.ListImagesResponse from \(bytes.count) bytes")
            }
        }
        // CRI: repo_tags sent as a varint.
        XCTAssertThrowsError(try cri(T.field(1, [0x10, 0x01]))) { error in
            XCTAssertEqual((error as? RPCError)?.message, "cannot decode a runtime.v1.ListImagesResponse from 4 bytes")
        }
    }

    /// 8 MiB of empty images (2 bytes on the wire each, an ImageRecord each decoded) pass DecodeBudget's
    /// allowance: refused as too large, with the codec's message, before they are built.
    func testEmptyRecordsPastTheBudgetAreRefused() throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 << 20)
        for _ in 0..<(4 << 20) { bytes += [0x0A, 0x00] }
        XCTAssertThrowsError(try containerd(bytes)) { error in
            let e = error as? RPCError
            XCTAssertEqual(e?.code, .replyTooLarge)
            XCTAssertEqual(e?.message.hasPrefix("the daemon's reply (a containerd.services.images.v1.ListImagesResponse of \(bytes.count) bytes) was refused as too large to decode"), true, e?.message ?? "")
        }
        XCTAssertThrowsError(try cri(bytes)) { error in
            XCTAssertEqual((error as? RPCError)?.code, .replyTooLarge)
        }
        // A real list of 5,000 names is well within it.
        var real: [UInt8] = []
        for i in 0..<5000 {
            real += Self.field(1, Self.field(1, "docker.io/kctr/bench0:\(i)") + Self.field(2, Self.field(1, "io.cri-containerd.image") + Self.field(2, "managed"))
                + Self.field(3, Self.field(1, "application/vnd.oci.image.manifest.v1+json") + Self.field(2, "sha256:" + String(repeating: "e", count: 64))))
        }
        XCTAssertEqual(try containerd(real).count, 5000)
    }
}
