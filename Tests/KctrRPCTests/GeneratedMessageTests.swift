import XCTest
@testable import KctrRPC

/// The typed messages of Generated/swift against the protobuf-c descriptors they were written from.
final class GeneratedMessageTests: XCTestCase {
    func testEveryMethodKctrCallsResolvesAgainstTheDescriptors() throws {
        let all = KctrMethods.all
        XCTAssertTrue(all.contains { $0.method.path == "/runtime.v1.RuntimeService/ListContainers" })
        XCTAssertTrue(all.contains { $0.method.path == "/containerd.services.content.v1.Content/Write" })
        for (method, request, reply) in all {
            let d = try method.descriptors()
            XCTAssertEqual(ProtoCodec.name(of: d.input), request.protoName, "request of \(method)")
            XCTAssertEqual(ProtoCodec.name(of: d.output), reply.protoName, "reply of \(method)")
        }
    }

    func testATypedMethodNamesItsService() {
        XCTAssertEqual(CRI.RuntimeService.listContainers.method.path, "/runtime.v1.RuntimeService/ListContainers")
        XCTAssertEqual(Containerd.Tasks.TasksService.closeIO.method.path, "/containerd.services.tasks.v1.Tasks/CloseIO")
    }

    func testEnumNamesRoundTripThroughTheGeneratedType() throws {
        // The names and numbers of the descriptor, as `state` of runtime.v1.Container declares them.
        let schema = try XCTUnwrap(ProtoSchema.named("runtime.v1.Container"))
        guard case .enumeration(let names)? = schema.field("state")?.kind else { return XCTFail("state is not an enum") }
        XCTAssertEqual(names, ["CONTAINER_CREATED": 0, "CONTAINER_RUNNING": 1, "CONTAINER_EXITED": 2, "CONTAINER_UNKNOWN": 3])
        XCTAssertEqual(CRI.ContainerState.known.count, names.count)
        for state in CRI.ContainerState.known {
            XCTAssertEqual(names[state.protoName], state.rawValue, "\(state)")
            XCTAssertEqual(CRI.ContainerState(protoName: state.protoName), state)
            XCTAssertEqual(CRI.ContainerState(rawValue: state.rawValue), state)
        }
        XCTAssertEqual(CRI.ContainerState.containerRunning.protoName, "CONTAINER_RUNNING")
        XCTAssertEqual(CRI.NamespaceMode(protoName: "NODE"), .node)
        XCTAssertEqual(CRI.NamespaceMode.node.rawValue, 2)
        XCTAssertNil(CRI.ContainerState(protoName: "RUNNING"))
        // A number this build has no name for survives, as the number.
        XCTAssertEqual(CRI.ContainerState(rawValue: 42), .unrecognized(42))
        XCTAssertEqual(CRI.ContainerState(rawValue: 42).protoName, "42")
        XCTAssertEqual(CRI.ContainerState.unrecognized(42).rawValue, 42)
    }

    func testAMessageRoundTripsThroughTheWire() throws {
        let config = CRI.PodSandboxConfig(
            metadata: .init(name: "web", uid: "u-1", namespace: "default", attempt: 2),
            hostname: "web-0", labels: ["app": "web", "tier": "front"],
            linux: .init(securityContext: .init(namespaceOptions: .init(network: .node, pid: .container))))
        let d = try CRI.RuntimeService.runPodSandbox.method.descriptors()
        let bytes = try ProtoCodec.encode(CRI.RunPodSandboxRequest(config: config, runtimeHandler: "runc").proto, as: d.input)
        let decoded = try bytes.withUnsafeBytes { buf throws(RPCError) in try ProtoCodec.decode(buf, as: d.input) }
        let back = CRI.RunPodSandboxRequest(proto: decoded)
        XCTAssertEqual(back.config, config)
        XCTAssertEqual(back.runtimeHandler, "runc")
        XCTAssertEqual(back.config?.linux?.securityContext?.namespaceOptions?.network, .node)
    }

    func testUnsetWrappersStayUnset() {
        let stats = CRI.ContainerStats(proto: CRI.ContainerStats(cpu: .init(timestamp: 7, usageNanoCores: .init(value: 0))).proto)
        XCTAssertEqual(stats.cpu?.usageNanoCores?.value, 0)
        XCTAssertNil(stats.cpu?.usageCoreNanoSeconds)
        XCTAssertNil(stats.memory)
    }

    func testProtobufJSONNamesEnumsAndWrites64BitIntegersAsStrings() {
        let doc = MessageDocuments.protobufJSON(CRI.Container(id: "c1", state: .containerExited, createdAt: 1_700_000_000_123_456_789,
                                                             labels: ["a": "b"]))
        guard case .object(let o) = doc else { return XCTFail("\(doc)") }
        XCTAssertEqual(o["state"], .string("CONTAINER_EXITED"))
        XCTAssertEqual(o["createdAt"], .string("1700000000123456789"))
        XCTAssertEqual(o["labels"], .object(["a": .string("b")]))
        XCTAssertEqual(o["annotations"], .object([:]))
        XCTAssertEqual(o["podSandboxId"], .string(""))
        XCTAssertNil(o["metadata"], "an unset message is left out")
    }

    func testAnOperatorsDocumentBecomesATypedMessage() throws {
        let doc = DocumentValue.object([
            "metadata": .object(["name": .string("p"), "namespace": .string("ns"), "attempt": .number(1)]),
            "labels": .object(["k": .string("v")]),
            "linux": .object(["security_context": .object(["namespace_options": .object(["network": .string("NODE")])])]),
        ])
        let config = try MessageDocuments.message(doc, as: CRI.PodSandboxConfig.self)
        XCTAssertEqual(config.metadata, .init(name: "p", namespace: "ns", attempt: 1))
        XCTAssertEqual(config.labels, ["k": "v"])
        XCTAssertEqual(config.linux?.securityContext?.namespaceOptions?.network, .node)
    }

    func testAnOperatorsDocumentWithAnUnknownFieldIsRefusedNamingIt() {
        XCTAssertThrowsError(try MessageDocuments.message(.object(["metadata": .object(["nam": .string("p")])]),
                                                          as: CRI.PodSandboxConfig.self)) { error in
            let e = error as? DocumentError
            XCTAssertEqual(e?.message, "metadata.nam: runtime.v1.PodSandboxMetadata has no field nam")
            XCTAssertEqual(e?.hint, "fields: name, uid, namespace, attempt")
        }
        XCTAssertThrowsError(try MessageDocuments.message(.object(["linux": .object(["security_context": .object([
            "namespace_options": .object(["network": .string("HOST")])])])]), as: CRI.PodSandboxConfig.self)) { error in
            XCTAssertEqual((error as? DocumentError)?.message,
                           "linux.security_context.namespace_options.network must be one of POD, CONTAINER, NODE, TARGET")
        }
    }

    func testBase64MatchesRFC4648() {
        XCTAssertEqual(Base64.encode(Array("foobar".utf8)), "Zm9vYmFy")
        XCTAssertEqual(Base64.encode(Array("fooba".utf8)), "Zm9vYmE=")
        XCTAssertEqual(Base64.encode(Array("f".utf8)), "Zg==")
        XCTAssertEqual(Base64.decode("Zm9vYmE=").map { String(decoding: $0, as: UTF8.self) }, "fooba")
        XCTAssertEqual(Base64.decode("Zg==").map { String(decoding: $0, as: UTF8.self) }, "f")
        XCTAssertNil(Base64.decode("Zg="))
        XCTAssertNil(Base64.decode("Z=g="))
    }
}
