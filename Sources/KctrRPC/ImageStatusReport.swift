/// `ImageStatus` with the runtime's verbose info, as `crictl inspecti` reads it.
public struct ImageStatusReport: Sendable, Equatable {
    /// The CRI `Image` message; nil when CRI does not know the image.
    public var image: CRI.Image?
    public var info: [String: String]

    public init(image: CRI.Image?, info: [String: String]) {
        self.image = image
        self.info = info
    }
}

extension CRIAPI {
    public func imageStatus(_ ref: String, verbose: Bool) async throws(RPCError) -> ImageStatusReport {
        let r = try await rpc.call(Images.imageStatus, .init(image: .init(image: ref), verbose: verbose))
        return ImageStatusReport(image: r.image, info: r.info)
    }
}
