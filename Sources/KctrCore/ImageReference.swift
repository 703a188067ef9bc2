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
        if case .success(let ref) = parsed(text) { return ref }
        return nil
    }

    /// Why `text` is not a valid reference, in words an operator can act on; nil when it is one.
    public static func problem(_ text: String) -> String? {
        if case .failure(let why) = parsed(text) { return why.reason }
        return nil
    }

    struct Invalid: Error { var reason: String }

    static func parsed(_ text: String) -> Result<ImageReference, Invalid> {
        func invalid(_ reason: String) -> Result<ImageReference, Invalid> { .failure(Invalid(reason: reason)) }
        if text.isEmpty { return invalid("it is empty") }
        if text.count > 512 { return invalid("it is longer than 512 characters") }
        if text.contains(where: \.isWhitespace) { return invalid("it contains white space") }
        var rest = Substring(text)
        var digest: String?
        if let at = rest.firstIndex(of: "@") {
            let d = String(rest[rest.index(after: at)...])
            rest = rest[..<at]
            guard Digest.isValid(d) else { return invalid("the digest \"\(d)\" is not sha256: and 64 lower-case hex digits") }
            digest = d
        }
        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            let t = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard isValidTag(t) else {
                return invalid("the tag \"\(t)\" must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
            }
            tag = t
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard !components.isEmpty, !components.contains(where: \.isEmpty) else {
            return invalid("the repository \"\(rest)\" has an empty part")
        }
        var domain = "docker.io"
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" {
            domain = first
            components.removeFirst()
        }
        if domain == "index.docker.io" { domain = "docker.io" }
        if domain == "docker.io" && components.count == 1 { components.insert("library", at: 0) }
        if let bad = components.first(where: { !isValidPathComponent($0) }) {
            return invalid("the repository part \"\(bad)\" must be lower-case letters and digits, separated by '.', '_' or '-'")
        }
        if tag == nil && digest == nil { tag = "latest" }
        return .success(ImageReference(domain: domain, path: components.joined(separator: "/"), tag: tag, digest: digest))
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
