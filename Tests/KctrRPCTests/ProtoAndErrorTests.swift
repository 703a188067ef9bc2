import XCTest
@testable import KctrRPC

final class ProtoAccessorTests: XCTestCase {
    func testMissingFieldsGiveProto3Defaults() {
        let p = Proto()
        XCTAssertEqual(p.string("x"), "")
        XCTAssertEqual(p.int("x"), 0)
        XCTAssertEqual(p.uint("x"), 0)
        XCTAssertEqual(p.bool("x"), false)
        XCTAssertEqual(p.double("x"), 0)
        XCTAssertEqual(p.bytes("x"), [])
        XCTAssertEqual(p.enumValue("x"), 0)
        XCTAssertNil(p.message("x"))
        XCTAssertEqual(p.messages("x"), [])
        XCTAssertEqual(p.strings("x"), [])
        XCTAssertEqual(p.map("x"), [:])
        XCTAssertNil(p.timestamp("x"))
        XCTAssertFalse(p.has("x"))
        XCTAssertNil(p["x"])
    }

    func testAccessorsOfTheWrongKindGiveDefaults() {
        let p = Proto(["s": .int(3), "n": .string("3"), "b": .int(1), "m": .string("m"), "l": .string("l")])
        XCTAssertEqual(p.string("s"), "")
        XCTAssertEqual(p.int("n"), 0)
        XCTAssertEqual(p.bool("b"), false)
        XCTAssertNil(p.message("m"))
        XCTAssertEqual(p.strings("l"), [])
        XCTAssertEqual(p.messages("l"), [])
        XCTAssertTrue(p.has("s"))
    }

    func testNumericConversions() {
        let p = Proto([
            "big": .uint(UInt64.max),
            "neg": .int(-5),
            "pos": .int(7),
            "e": .enumeration(3),
            "wide": .int(0x1_0000_0002),
            "d": .double(2.5),
        ])
        XCTAssertEqual(p.int("big"), Int64.max)
        XCTAssertEqual(p.uint("big"), UInt64.max)
        XCTAssertEqual(p.uint("neg"), 0)
        XCTAssertEqual(p.uint("pos"), 7)
        XCTAssertEqual(p.int("e"), 3)
        XCTAssertEqual(p.enumValue("e"), 3)
        XCTAssertEqual(p.uint("e"), 0)
        XCTAssertEqual(p.enumValue("wide"), 2)
        XCTAssertEqual(p.double("d"), 2.5)
    }

    func testListsSkipItemsOfOtherKinds() {
        let p = Proto(["l": .list([.string("a"), .int(1), .message(Proto(["k": .bool(true)])), .string("b")])])
        XCTAssertEqual(p.strings("l"), ["a", "b"])
        XCTAssertEqual(p.messages("l"), [Proto(["k": .bool(true)])])
    }

    func testMapAndStringsBuilders() {
        XCTAssertEqual(ProtoValue.map(["b": "2", "a": "1"]), .list([
            .message(Proto(["key": .string("a"), "value": .string("1")])),
            .message(Proto(["key": .string("b"), "value": .string("2")])),
        ]))
        XCTAssertEqual(ProtoValue.map([:]), .list([]))
        XCTAssertEqual(ProtoValue.strings(["x", "y"]), .list([.string("x"), .string("y")]))
        let p = Proto(["m": .map(["b": "2", "a": "1"])])
        XCTAssertEqual(p.map("m"), ["a": "1", "b": "2"])
    }

    func testTimestamp() {
        let p = Proto(["t": .message(Proto(["seconds": .int(10), "nanos": .int(250_000_000)])),
                       "zero": .message(Proto())])
        XCTAssertEqual(p.timestamp("t"), 10.25)
        XCTAssertEqual(p.timestamp("zero"), 0)
    }

    func testSubscriptSets() {
        var p = Proto()
        p["name"] = .string("x")
        XCTAssertEqual(p.string("name"), "x")
        XCTAssertEqual(p.fields, [ProtoField(name: "name", value: .string("x"))])
        p["name"] = .string("y")
        XCTAssertEqual(p.fields, [ProtoField(name: "name", value: .string("y"))], "setting a field again replaces it")
        p["name"] = nil
        XCTAssertEqual(p, Proto())
    }

    func testEqualityIgnoresFieldOrder() {
        var a = Proto()
        a["x"] = .int(1)
        a["y"] = .string("s")
        var b = Proto()
        b["y"] = .string("s")
        b["x"] = .int(1)
        XCTAssertEqual(a, b)
        b["x"] = .int(2)
        XCTAssertNotEqual(a, b)
        b["x"] = nil
        XCTAssertNotEqual(a, b, "a missing field differs")
    }
}

final class RPCErrorTests: XCTestCase {
    func testShortMethod() {
        XCTAssertEqual(RPCError(code: .notFound, message: "m", method: "/containerd.services.images.v1.Images/List").shortMethod,
                       "Images/List")
        XCTAssertEqual(RPCError(code: .notFound, message: "m", method: "/runtime.v1.RuntimeService/Status").shortMethod,
                       "RuntimeService/Status")
        XCTAssertEqual(RPCError(code: .notFound, message: "m", method: "/Plain/Get").shortMethod, "Plain/Get")
        XCTAssertEqual(RPCError(code: .notFound, message: "m").shortMethod, "")
        XCTAssertEqual(RPCError(code: .notFound, message: "m", method: "odd").shortMethod, "odd")
    }

    func testDescription() {
        let e = RPCError(code: .notFound, message: "image \"x\": not found",
                         method: "/containerd.services.images.v1.Images/Get", timeoutMilliseconds: 10_000)
        XCTAssertEqual(e.description, "Images/Get: NotFound: image \"x\": not found")
        XCTAssertEqual("\(e)", "Images/Get: NotFound: image \"x\": not found")
        XCTAssertEqual(e.timeoutMilliseconds, 10_000)
        XCTAssertEqual(RPCError.codec("bad").description, "rpc: Codec: bad")
        XCTAssertEqual(RPCError(code: .cancelled, message: "stop").description, "rpc: Canceled: stop")
        XCTAssertEqual(RPCError(code: .deadlineExceeded, message: "late", method: "/runtime.v1.RuntimeService/Status").description,
                       "RuntimeService/Status: DeadlineExceeded: late")
    }

    func testCodecFactory() {
        let e = RPCError.codec("x")
        XCTAssertEqual(e, RPCError(code: .codec, message: "x", method: "", timeoutMilliseconds: 0))
        XCTAssertEqual(e.code.rawValue, 1000)
    }

    func testCodesMatchGRPCNumbersAndNames() {
        XCTAssertEqual(RPCError.Code(rawValue: 0), .ok)
        XCTAssertEqual(RPCError.Code(rawValue: 4), .deadlineExceeded)
        XCTAssertEqual(RPCError.Code(rawValue: 5), .notFound)
        XCTAssertEqual(RPCError.Code(rawValue: 12), .unimplemented)
        XCTAssertEqual(RPCError.Code(rawValue: 14), .unavailable)
        XCTAssertEqual(RPCError.Code(rawValue: 16), .unauthenticated)
        XCTAssertNil(RPCError.Code(rawValue: 17))
        XCTAssertEqual(RPCError.Code.internal.name, "Internal")
        XCTAssertEqual(RPCError.Code.unavailable.name, "Unavailable")
        XCTAssertEqual(RPCError.Code.callError.rawValue, 1001)
        XCTAssertEqual(RPCError.Code.callError.name, "CallError")
    }
}

final class CallOptionsTests: XCTestCase {
    func testAddingReplacesAKey() {
        let o = CallOptions(timeoutMilliseconds: 500, metadata: [("containerd-namespace", "default"), ("x", "1")])
            .adding("containerd-namespace", "k8s.io")
            .adding("containerd-lease", "l1")
        XCTAssertEqual(o.timeoutMilliseconds, 500)
        XCTAssertEqual(o.metadata.map(\.0), ["x", "containerd-namespace", "containerd-lease"])
        XCTAssertEqual(o.metadata.map(\.1), ["1", "k8s.io", "l1"])
    }
}

final class ModelTests: XCTestCase {
    func testPlatformDescription() {
        XCTAssertEqual(Platform(os: "linux", architecture: "amd64").description, "linux/amd64")
        XCTAssertEqual(Platform(os: "linux", architecture: "arm", variant: "v7").description, "linux/arm/v7")
    }

    func testDescriptorProtoOmitsEmptyAnnotations() {
        let d = Descriptor(mediaType: "m", digest: "d", size: 3)
        XCTAssertEqual(d.message.proto, Proto(["media_type": .string("m"), "digest": .string("d"), "size": .int(3)]))
        XCTAssertEqual(Descriptor(.init(proto: d.message.proto)), d)
        let a = Descriptor(mediaType: "m", digest: "d", size: 3, annotations: ["k": "v"])
        XCTAssertEqual(a.message.proto.map("annotations"), ["k": "v"])
        XCTAssertEqual(Descriptor(.init(proto: a.message.proto)), a)
    }

    func testSnapshotKinds() {
        func kind(_ p: Proto) -> String { SnapshotInfo(Containerd.Snapshots.Info(proto: p)).kind }
        XCTAssertEqual(kind(Proto(["kind": .enumeration(1)])), "view")
        XCTAssertEqual(kind(Proto(["kind": .enumeration(2)])), "active")
        XCTAssertEqual(kind(Proto(["kind": .enumeration(3)])), "committed")
        XCTAssertEqual(kind(Proto(["kind": .enumeration(0)])), "unknown")
        XCTAssertEqual(kind(Proto(["kind": .enumeration(9)])), "unknown")
        XCTAssertEqual(kind(Proto()), "unknown")
    }
}
