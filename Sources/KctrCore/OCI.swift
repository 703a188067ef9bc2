import Crypto
import Foundation
import KctrRPC

/// Media types of the image formats kctr reads and writes.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"

    public static func isIndex(_ t: String) -> Bool { t == ociIndex || t == dockerManifestList }
    public static func isManifest(_ t: String) -> Bool { t == ociManifest || t == dockerManifest }
}

public struct OCIPlatform: Codable, Sendable, Equatable, Hashable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var osVersion: String?

    enum CodingKeys: String, CodingKey {
        case architecture, os, variant
        case osVersion = "os.version"
    }

    public init(architecture: String, os: String, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.variant = variant
    }

    public var platform: Platform { Platform(os: os, architecture: architecture, variant: variant ?? "") }
}

public struct OCIDescriptor: Codable, Sendable, Equatable {
    public var mediaType: String?
    public var digest: String
    public var size: Int64
    public var platform: OCIPlatform?
    public var annotations: [String: String]?

    public init(mediaType: String?, digest: String, size: Int64, platform: OCIPlatform? = nil, annotations: [String: String]? = nil) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.platform = platform
        self.annotations = annotations
    }
}

public struct OCIIndex: Codable, Sendable, Equatable {
    public var schemaVersion: Int?
    public var mediaType: String?
    public var manifests: [OCIDescriptor]
    public var annotations: [String: String]?
}

public struct OCIManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int?
    public var mediaType: String?
    public var config: OCIDescriptor
    public var layers: [OCIDescriptor]
    public var annotations: [String: String]?
}

public struct OCIImageConfig: Codable, Sendable, Equatable {
    public struct RootFS: Codable, Sendable, Equatable {
        public var type: String?
        public var diffIDs: [String]?
        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    public var architecture: String?
    public var os: String?
    public var variant: String?
    public var rootfs: RootFS?
}

extension Platform {
    /// The platform this kctr binary runs on, as containerd names it.
    public static var node: Platform {
        #if arch(x86_64)
        return Platform(os: "linux", architecture: "amd64")
        #elseif arch(arm64)
        return Platform(os: "linux", architecture: "arm64", variant: "v8")
        #elseif arch(arm)
        return Platform(os: "linux", architecture: "arm", variant: "v7")
        #else
        return Platform(os: "linux", architecture: "unknown")
        #endif
    }

    /// Whether an image for `self` runs on `other` (os and architecture
    /// equal; a variant only matters when both name one).
    public func matches(_ other: Platform) -> Bool {
        guard os == other.os, architecture == other.architecture else { return false }
        if variant.isEmpty || other.variant.isEmpty { return true }
        if architecture == "arm64" { return true }
        return variant == other.variant
    }

    /// Parses "linux/amd64" or "linux/arm/v7".
    public static func parse(_ text: String) -> Platform? {
        let parts = text.split(separator: "/").map(String.init)
        guard parts.count >= 2, parts.count <= 3, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return Platform(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : "")
    }
}

public enum Digest {
    public static func sha256(_ bytes: some DataProtocol) -> String {
        string(SHA256.hash(data: bytes))
    }

    /// "sha256:<hex>" of a finished hash.
    public static func string(_ digest: SHA256.Digest) -> String { hex("sha256:", digest) }

    /// `prefix` followed by `bytes` in lower-case hex.
    static func hex(_ prefix: String, _ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = prefix
        out.reserveCapacity(prefix.utf8.count + 128)
        for byte in bytes {
            out.unicodeScalars.append(UnicodeScalar(digits[Int(byte >> 4)]))
            out.unicodeScalars.append(UnicodeScalar(digits[Int(byte & 0x0f)]))
        }
        return out
    }

    /// containerd's chain ID of a layer stack: the first diff ID, then
    /// sha256("<parent chain> <diff id>") for each next layer.
    public static func chainID(_ diffIDs: [String]) -> String? {
        guard var chain = diffIDs.first else { return nil }
        for diff in diffIDs.dropFirst() {
            chain = sha256(Array("\(chain) \(diff)".utf8))
        }
        return chain
    }

    /// "sha256:<hex>" (or sha384, sha512, as containerd accepts) whose algorithm kctr can verify and
    /// whose hex part has that algorithm's length: the only digests an archive may name.
    public static func isVerifiable(_ d: String) -> Bool { Hasher(for: d) != nil }

    /// `bytes` hashed with the algorithm `like` names ("sha256:..." by default).
    public static func of(_ bytes: some DataProtocol, like digest: String = "sha256:") -> String {
        var hasher = Hasher(for: digest) ?? Hasher(algorithm: .sha256)
        for region in bytes.regions { region.withUnsafeBytes { hasher.update($0) } }
        return hasher.finalize()
    }

    /// A running hash in the algorithm a digest names.
    public struct Hasher {
        public enum Algorithm: String, Sendable, CaseIterable {
            case sha256, sha384, sha512
            var hexLength: Int {
                switch self {
                case .sha256: return 64
                case .sha384: return 96
                case .sha512: return 128
                }
            }
        }
        private enum State {
            case sha256(SHA256), sha384(SHA384), sha512(SHA512)
        }
        private var state: State
        public let algorithm: Algorithm

        public init(algorithm: Algorithm) {
            self.algorithm = algorithm
            switch algorithm {
            case .sha256: state = .sha256(SHA256())
            case .sha384: state = .sha384(SHA384())
            case .sha512: state = .sha512(SHA512())
            }
        }

        /// nil unless `digest` is "<algorithm>:<hex>" with a known algorithm and lower-case hex of its length.
        public init?(for digest: String) {
            let parts = digest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let algorithm = Algorithm(rawValue: String(parts[0])) else { return nil }
            let hex = parts[1].utf8
            guard hex.count == algorithm.hexLength,
                  hex.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
            self.init(algorithm: algorithm)
        }

        public mutating func update(_ bytes: UnsafeRawBufferPointer) {
            switch state {
            case .sha256(var h): h.update(bufferPointer: bytes); state = .sha256(h)
            case .sha384(var h): h.update(bufferPointer: bytes); state = .sha384(h)
            case .sha512(var h): h.update(bufferPointer: bytes); state = .sha512(h)
            }
        }

        public func finalize() -> String {
            switch state {
            case .sha256(let h): return Digest.hex("sha256:", h.finalize())
            case .sha384(let h): return Digest.hex("sha384:", h.finalize())
            case .sha512(let h): return Digest.hex("sha512:", h.finalize())
            }
        }
    }

    public static func isValid(_ d: String) -> Bool {
        // On the bytes: comparing Characters cost `images ls` more than its reads of the image cache.
        let utf8 = d.utf8
        guard utf8.count == 71, d.hasPrefix("sha256:") else { return false }
        return utf8.dropFirst(7).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// "sha256:0123456789ab..." -> "0123456789ab".
    public static func short(_ d: String, length: Int = 12) -> String {
        let hex = d.hasPrefix("sha256:") ? String(d.dropFirst(7)) : d
        return String(hex.prefix(length))
    }
}
