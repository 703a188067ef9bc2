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
    public static func string(_ digest: SHA256.Digest) -> String {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = "sha256:"
        out.reserveCapacity(71)
        for byte in digest {
            out.unicodeScalars.append(UnicodeScalar(hex[Int(byte >> 4)]))
            out.unicodeScalars.append(UnicodeScalar(hex[Int(byte & 0x0f)]))
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

    public static func isValid(_ d: String) -> Bool {
        guard d.hasPrefix("sha256:") else { return false }
        let hex = d.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// "sha256:0123456789ab..." -> "0123456789ab".
    public static func short(_ d: String, length: Int = 12) -> String {
        let hex = d.hasPrefix("sha256:") ? String(d.dropFirst(7)) : d
        return String(hex.prefix(length))
    }
}
