/// An image reference normalised the way the kubelet and containerd's CRI
/// name images: `busybox:1.36` is `docker.io/library/busybox:1.36`.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    public var domain: String
    public var path: String
    public var tag: String?
    public var digest: String?

    public var repository: String { "\(domain)/\(path)" }

    public var description: String {
        var s = repository
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    /// Parses and normalises `text`; nil when it is not a valid reference.
    public static func parse(_ text: String) -> ImageReference? {
        guard !text.isEmpty, text.count <= 512, !text.contains(where: \.isWhitespace) else {
            return nil
        }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            digest = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            guard let d = digest, Digest.isValid(d) else { return nil }
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard let t = tag, isValidTag(t) else { return nil }
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, !components.contains(where: \.isEmpty) else { return nil }
        var domain = "docker.io"
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" {
            domain = first
            components.removeFirst()
        }
        if domain == "index.docker.io" { domain = "docker.io" }
        if domain == "docker.io" && components.count == 1 { components.insert("library", at: 0) }
        guard components.allSatisfy(isValidPathComponent) else { return nil }
        if tag == nil && digest == nil { tag = "latest" }
        return ImageReference(domain: domain, path: components.joined(separator: "/"), tag: tag, digest: digest)
    }

    static func isValidTag(_ t: String) -> Bool {
        guard let first = t.first, t.count <= 128, first.isLetter || first.isNumber || first == "_" else { return false }
        return t.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    static func isValidPathComponent(_ c: String) -> Bool {
        guard let first = c.first, let last = c.last, first.isASCII, last.isASCII,
              first.isLowercase || first.isNumber, last.isLowercase || last.isNumber else { return false }
        return c.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "._-".contains($0)) }
    }
}
