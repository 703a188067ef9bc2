import Foundation
import KctrRPC

/// A containerd release, and what it does differently: which config versions it reads, what its CRI
/// reports, which RPCs it answers. Version differences on the daemon's side live here only, and this
/// is the one place a containerd version string is read. The forms containerd reports:
///
/// - upstream tags: "v2.3.4"; a prerelease "2.3.4-rc.1" sorts before 2.3.4 (semver);
/// - `git describe` of a build between tags: "v2.1.0-beta.0-123-g7e3f4a5b" (123 commits after
///   beta.0), "v2.1.0-12-gabcdef0" (12 commits after 2.1.0, so newer than it), "-dirty" for a
///   modified tree;
/// - Debian: "1.6.20~ds1" (1.6.20 repacked), "1:1.6.20~ds1-1+deb12u3" with dpkg's epoch and
///   revision, "2.1.0~rc1" a prerelease;
/// - build metadata after "+" ("1.7.0+unknown") is ignored, as semver says.
public struct ContainerdRelease: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// "rc.1", "beta.0": a prerelease of major.minor.patch, which sorts before it; "" for a release.
    public var prerelease: String
    /// Commits after the tag in a `git describe` version (a development build); 0 for a tagged build.
    public var commitsAfterTag: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0, prerelease: String = "", commitsAfterTag: Int = 0) {
        (self.major, self.minor, self.patch) = (major, minor, patch)
        (self.prerelease, self.commitsAfterTag) = (prerelease, commitsAfterTag)
    }

    /// nil for "devel", "1" and anything else that does not start with MAJOR.MINOR.
    public init?(_ version: String) {
        var rest = Substring(version.trimmingCharacters(in: .whitespaces))
        if let colon = rest.firstIndex(of: ":"), colon != rest.startIndex, rest[..<colon].allSatisfy(Self.isDigit) {
            rest = rest[rest.index(after: colon)...]  // dpkg's epoch
        }
        if rest.first == "v" { rest = rest.dropFirst() }
        func number() -> Int? {
            let digits = rest.prefix(while: Self.isDigit)
            guard !digits.isEmpty, digits.count < 10, let n = Int(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            return n
        }
        guard let major = number(), rest.first == "." else { return nil }
        rest = rest.dropFirst()
        guard let minor = number() else { return nil }
        var patch = 0
        if rest.first == "." {
            rest = rest.dropFirst()
            guard let p = number() else { return nil }
            patch = p
        }
        self.init(major, minor, patch)
        switch rest.first {
        case "-":
            // semver prerelease and/or git describe's "-N-gHASH" and "-dirty"
            var words = rest.dropFirst().prefix { $0 != "+" }.split(separator: "-", omittingEmptySubsequences: false)
            if words.last == "dirty" { words.removeLast() }
            if words.count >= 2, let hash = words.last, hash.count >= 5, hash.first == "g", hash.dropFirst().allSatisfy(\.isHexDigit),
               words[words.count - 2].allSatisfy(Self.isDigit), let n = Int(words[words.count - 2]) {
                commitsAfterTag = n
                words.removeLast(2)
            }
            prerelease = words.joined(separator: "-")
        case "~":
            // Debian: "~ds1"/"~dfsg"/"~repack" mark a repacked upstream tarball; another word is a prerelease.
            let upstream = rest.dropFirst().prefix { $0 != "-" && $0 != "+" }.split(separator: "~")
            prerelease = upstream.first { w in !["ds", "dfsg", "repack"].contains { w.hasPrefix($0) } }.map(String.init) ?? ""
        default:
            break  // "+build" metadata, or nothing
        }
    }

    private static func isDigit(_ c: Character) -> Bool { c.isASCII && c.isNumber }

    /// Semver precedence: numbers, then a prerelease before its release (identifiers compared one by
    /// one, numbers numerically and before words), then later development builds after earlier ones.
    public static func < (a: Self, b: Self) -> Bool {
        if (a.major, a.minor, a.patch) != (b.major, b.minor, b.patch) { return (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch) }
        if a.prerelease != b.prerelease {
            if a.prerelease.isEmpty || b.prerelease.isEmpty { return b.prerelease.isEmpty }
            return precedes(a.prerelease.split(separator: "."), b.prerelease.split(separator: "."))
        }
        return a.commitsAfterTag < b.commitsAfterTag
    }

    private static func precedes(_ a: [Substring], _ b: [Substring]) -> Bool {
        for (x, y) in zip(a, b) where x != y {
            switch (Int(x), Int(y)) {
            case let (m?, n?): if m != n { return m < n } else { return x < y }
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return x < y
            }
        }
        return a.count < b.count
    }

    /// "2.3.4", "2.3.0-rc.1", "2.1.0-beta.0+123" (123 commits after the tag).
    public var description: String {
        "\(major).\(minor).\(patch)" + (prerelease.isEmpty ? "" : "-\(prerelease)") + (commitsAfterTag == 0 ? "" : "+\(commitsAfterTag)")
    }
    /// "2.3": how the texts name a release line.
    public var line: String { "\(major).\(minor)" }

    /// Whether this is a release of the line major.minor or a later one, its prereleases included
    /// (2.3.0-rc.1 has what 2.3 brings): how the checks gate what a release does.
    public func isAtLeast(_ major: Int, _ minor: Int) -> Bool { (self.major, self.minor) >= (major, minor) }

    /// The config version this release writes with `containerd config default`, and the newest it reads.
    public var configVersion: Int {
        if major < 2 { return 2 }
        return major == 2 && minor < 3 ? 3 : 4
    }

    public var layout: ConfigLayout { ConfigLayout.of(version: configVersion) ?? .v2 }

    /// 1.x reports its whole CRI config in the verbose status; 2.x reports only the runtime half (no
    /// sandboxImage, no containerd.snapshotter, no registry).
    public var reportsImageConfig: Bool { major < 2 }

    /// CRI RuntimeConfig (the cgroup driver the runtime uses) answers from 2.0.
    public var answersRuntimeConfig: Bool { major >= 2 }

    public enum Pinning: Sendable, Equatable {
        /// 1.6: no pinned images.
        case none
        /// 1.7: images labelled io.cri-containerd.pinned=pinned (CRI adds it to the sandbox image it pulls or adopts).
        case labelled
        /// 2.x: the configured sandbox image, whatever put it there.
        case configured
    }

    public var pinning: Pinning {
        if major >= 2 { return .configured }
        return minor >= 7 ? .labelled : .none
    }

    /// The sandbox image a 2.x release uses when the config names none (1.x reports its own).
    public var defaultSandboxImage: String? {
        guard major >= 2 else { return nil }
        return isAtLeast(2, 3) ? "registry.k8s.io/pause:3.10.2" : "registry.k8s.io/pause:3.10"
    }

    /// The helpers containerd runs to decompress gzip layers when they are on its PATH, in its order
    /// of preference: unpigz since 1.x, Intel ISA-L's igzip first from 2.0.
    public var gzipHelpers: [String] { major >= 2 ? ["igzip", "unpigz"] : ["unpigz"] }

    /// cgroup v1 is deprecated from 2.2 (containerd reports it as io.containerd.deprecation/cgroup-v1).
    public var deprecatesCgroupV1: Bool { isAtLeast(2, 2) }

    /// CRI's plugins and the part of the config each reads: one plugin before 2.0, three from 2.0.
    public var criPlugins: [(type: String, id: String, part: ConfigLayout.CRIPart)] {
        if major < 2 { return [("io.containerd.grpc.v1", "cri", .runtime)] }
        return [("io.containerd.cri.v1", "runtime", .runtime), ("io.containerd.cri.v1", "images", .images),
                ("io.containerd.grpc.v1", "cri", .server)]
    }
}

extension DaemonVersion {
    /// The release containerd reports in its Version reply; nil when kctr cannot read it ("devel").
    public var release: ContainerdRelease? { ContainerdRelease(version) }
}
