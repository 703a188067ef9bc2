/// The CRI messages crictl prints as documents, with the schemas that describe them, so that kctr can print
/// the same documents (protobuf's JSON mapping: enum names, 64-bit integers as strings, default values).
public enum CRIMessage: Sendable, CaseIterable {
    case podSandbox, container, podSandboxStatus, containerStatus, image, containerStats
    case runtimeStatus, runtimeHandler, runtimeFeatures

    /// The message's schema, read from the reply of the RPC that carries it.
    public func schema() throws(RPCError) -> ProtoSchema {
        let (service, method, field): (String, String, String)
        switch self {
        case .podSandbox: (service, method, field) = (CRIAPI.Service.runtime, "ListPodSandbox", "items")
        case .container: (service, method, field) = (CRIAPI.Service.runtime, "ListContainers", "containers")
        case .podSandboxStatus: (service, method, field) = (CRIAPI.Service.runtime, "PodSandboxStatus", "status")
        case .containerStatus: (service, method, field) = (CRIAPI.Service.runtime, "ContainerStatus", "status")
        case .image: (service, method, field) = (CRIAPI.Service.image, "ImageStatus", "image")
        case .containerStats: (service, method, field) = (CRIAPI.Service.runtime, "ListContainerStats", "stats")
        case .runtimeStatus: (service, method, field) = (CRIAPI.Service.runtime, "Status", "status")
        case .runtimeHandler: (service, method, field) = (CRIAPI.Service.runtime, "Status", "runtime_handlers")
        case .runtimeFeatures: (service, method, field) = (CRIAPI.Service.runtime, "Status", "features")
        }
        let rpc = RPCMethod(service, method)
        guard let schema = try ProtoSchema.reply(of: rpc).schema(of: field) else {
            throw RPCError(code: .codec, message: "kctr's descriptor of \(rpc) has no message field \(field)", method: rpc.path)
        }
        return schema
    }
}

/// `ImageStatus` with the runtime's verbose info, as `crictl inspecti` reads it.
public struct ImageStatusReport: Sendable, Equatable {
    /// The CRI `Image` message; nil when CRI does not know the image.
    public var image: Proto?
    public var info: [String: String]
}

extension CRIAPI {
    public func imageStatus(_ ref: String, verbose: Bool) async throws(RPCError) -> ImageStatusReport {
        let r = try await rpc.unary(RPCMethod(Service.image, "ImageStatus"),
                                    Proto(["image": .message(Proto(["image": .string(ref)])), "verbose": .bool(verbose)]))
        return ImageStatusReport(image: r.message("image"), info: r.map("info"))
    }
}
