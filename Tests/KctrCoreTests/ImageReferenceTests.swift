import Foundation
import XCTest
@testable import KctrCore
import KctrRPC

final class ImageReferenceTests: XCTestCase {
    static let hexA = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    static let digestA = "sha256:" + hexA

    private func check(_ text: String, _ expected: String, domain: String, path: String, tag: String?, digest: String? = nil,
                       file: StaticString = #filePath, line: UInt = #line) {
        guard let r = ImageReference.parse(text) else {
            XCTFail("\(text) did not parse", file: file, line: line)
            return
        }
        XCTAssertEqual(r.description, expected, file: file, line: line)
        XCTAssertEqual(r, ImageReference(domain: domain, path: path, tag: tag, digest: digest), file: file, line: line)
    }

    func testDockerHubNormalisation() {
        check("busybox", "docker.io/library/busybox:latest", domain: "docker.io", path: "library/busybox", tag: "latest")
        check("busybox:1.36", "docker.io/library/busybox:1.36", domain: "docker.io", path: "library/busybox", tag: "1.36")
        check("library/busybox", "docker.io/library/busybox:latest", domain: "docker.io", path: "library/busybox", tag: "latest")
        check("foo/bar:1", "docker.io/foo/bar:1", domain: "docker.io", path: "foo/bar", tag: "1")
        check("docker.io/busybox", "docker.io/library/busybox:latest", domain: "docker.io", path: "library/busybox", tag: "latest")
        check("index.docker.io/library/alpine", "docker.io/library/alpine:latest", domain: "docker.io", path: "library/alpine", tag: "latest")
        check("index.docker.io/alpine:3", "docker.io/library/alpine:3", domain: "docker.io", path: "library/alpine", tag: "3")
        check("a/b/c", "docker.io/a/b/c:latest", domain: "docker.io", path: "a/b/c", tag: "latest")
    }

    func testOtherRegistries() {
        check("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9", domain: "registry.k8s.io", path: "pause", tag: "3.9")
        check("localhost:5000/x/y:z", "localhost:5000/x/y:z", domain: "localhost:5000", path: "x/y", tag: "z")
        check("localhost/x", "localhost/x:latest", domain: "localhost", path: "x", tag: "latest")
        check("ghcr.io/org/app", "ghcr.io/org/app:latest", domain: "ghcr.io", path: "org/app", tag: "latest")
        check("quay.io/a_b/c-d.e:v1_2-3.4", "quay.io/a_b/c-d.e:v1_2-3.4", domain: "quay.io", path: "a_b/c-d.e", tag: "v1_2-3.4")
        XCTAssertEqual(ImageReference.parse("registry.k8s.io/pause:3.9")?.repository, "registry.k8s.io/pause")
        XCTAssertEqual(ImageReference.parse("busybox")?.repository, "docker.io/library/busybox")
    }

    func testAColonWithoutSlashAfterItIsATag() {
        // As Docker reads it: "localhost:5000" alone is the image localhost, tag 5000.
        check("localhost:5000", "docker.io/library/localhost:5000", domain: "docker.io", path: "library/localhost", tag: "5000")
    }

    func testDigests() {
        check("busybox@" + Self.digestA, "docker.io/library/busybox@" + Self.digestA,
              domain: "docker.io", path: "library/busybox", tag: nil, digest: Self.digestA)
        check("busybox:1.36@" + Self.digestA, "docker.io/library/busybox:1.36@" + Self.digestA,
              domain: "docker.io", path: "library/busybox", tag: "1.36", digest: Self.digestA)
        check("localhost:5000/x@" + Self.digestA, "localhost:5000/x@" + Self.digestA,
              domain: "localhost:5000", path: "x", tag: nil, digest: Self.digestA)
    }

    func testInvalidDigests() {
        XCTAssertNil(ImageReference.parse("busybox@sha256:abc"))
        XCTAssertNil(ImageReference.parse("busybox@sha256:" + Self.hexA.uppercased()))
        XCTAssertNil(ImageReference.parse("busybox@sha512:" + Self.hexA))
        XCTAssertNil(ImageReference.parse("busybox@" + Self.hexA))
        XCTAssertNil(ImageReference.parse("busybox@"))
        XCTAssertNil(ImageReference.parse("busybox@sha256:" + Self.hexA + "0"))
    }

    func testInvalidNames() {
        XCTAssertNil(ImageReference.parse(""))
        XCTAssertNil(ImageReference.parse("Busybox"))
        XCTAssertNil(ImageReference.parse("docker.io/library/BusyBox"))
        XCTAssertNil(ImageReference.parse("busy box"))
        XCTAssertNil(ImageReference.parse(" busybox"))
        XCTAssertNil(ImageReference.parse("busybox\t"))
        XCTAssertNil(ImageReference.parse("a//b"))
        XCTAssertNil(ImageReference.parse("/busybox"))
        XCTAssertNil(ImageReference.parse("busybox/"))
        XCTAssertNil(ImageReference.parse("-busybox"))
        XCTAssertNil(ImageReference.parse("busybox-"))
        XCTAssertNil(ImageReference.parse("busyböx"))
        XCTAssertNil(ImageReference.parse(String(repeating: "a", count: 513)))
    }

    func testInvalidTags() {
        XCTAssertNil(ImageReference.parse("busybox:"))
        XCTAssertNil(ImageReference.parse("busybox:-1"))
        XCTAssertNil(ImageReference.parse("busybox:.1"))
        XCTAssertNil(ImageReference.parse("busybox:a+b"))
        XCTAssertNil(ImageReference.parse("busybox:ä"))
        XCTAssertNil(ImageReference.parse("busybox:" + String(repeating: "a", count: 129)))
        XCTAssertEqual(ImageReference.parse("busybox:" + String(repeating: "a", count: 128))?.tag, String(repeating: "a", count: 128))
        XCTAssertEqual(ImageReference.parse("busybox:_x")?.tag, "_x")
        XCTAssertEqual(ImageReference.parse("busybox:Latest")?.tag, "Latest")
    }
}

final class DigestTests: XCTestCase {
    // printf a | sha256sum, printf b | sha256sum, printf c | sha256sum
    static let d1 = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    static let d2 = "sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
    static let d3 = "sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6"

    func testSha256() {
        XCTAssertEqual(Digest.sha256(Data()), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(Digest.sha256(Array("hello".utf8)), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        XCTAssertEqual(Digest.sha256(Data("a".utf8)), Self.d1)
    }

    func testChainIDKnownAnswers() {
        XCTAssertNil(Digest.chainID([]))
        XCTAssertEqual(Digest.chainID([Self.d1]), Self.d1)
        // printf '%s' "$d1 $d2" | sha256sum
        XCTAssertEqual(Digest.chainID([Self.d1, Self.d2]),
                       "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676")
        // printf '%s' "$chain12 $d3" | sha256sum
        XCTAssertEqual(Digest.chainID([Self.d1, Self.d2, Self.d3]),
                       "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106")
        XCTAssertNotEqual(Digest.chainID([Self.d2, Self.d1]), Digest.chainID([Self.d1, Self.d2]))
    }

    func testIsValid() {
        XCTAssertTrue(Digest.isValid(Self.d1))
        XCTAssertFalse(Digest.isValid(String(Self.d1.dropLast())))
        XCTAssertFalse(Digest.isValid(Self.d1 + "0"))
        XCTAssertFalse(Digest.isValid(Self.d1.uppercased()))
        XCTAssertFalse(Digest.isValid("sha256:" + Self.d1.dropFirst(7).uppercased()))
        XCTAssertFalse(Digest.isValid(String(Self.d1.dropFirst(7))))
        XCTAssertFalse(Digest.isValid("sha512:" + Self.d1.dropFirst(7)))
        XCTAssertFalse(Digest.isValid("sha256:" + String(repeating: "g", count: 64)))
        XCTAssertFalse(Digest.isValid(""))
    }

    func testShort() {
        XCTAssertEqual(Digest.short(Self.d1), "ca978112ca1b")
        XCTAssertEqual(Digest.short(Self.d1, length: 7), "ca97811")
        XCTAssertEqual(Digest.short("0123456789abcdef"), "0123456789ab")
        XCTAssertEqual(Digest.short("sha256:abc"), "abc")
        XCTAssertEqual(Digest.short(""), "")
    }
}

final class PlatformTests: XCTestCase {
    func testParse() {
        XCTAssertEqual(Platform.parse("linux/amd64"), Platform(os: "linux", architecture: "amd64"))
        XCTAssertEqual(Platform.parse("linux/arm/v7"), Platform(os: "linux", architecture: "arm", variant: "v7"))
        XCTAssertNil(Platform.parse("linux"))
        XCTAssertNil(Platform.parse("linux/arm/v7/x"))
        XCTAssertNil(Platform.parse("/amd64"))
    }

    func testMatches() {
        let armv7 = Platform(os: "linux", architecture: "arm", variant: "v7")
        XCTAssertTrue(Platform(os: "linux", architecture: "amd64").matches(Platform(os: "linux", architecture: "amd64")))
        XCTAssertFalse(Platform(os: "linux", architecture: "amd64").matches(Platform(os: "linux", architecture: "arm64")))
        XCTAssertFalse(Platform(os: "windows", architecture: "amd64").matches(Platform(os: "linux", architecture: "amd64")))
        XCTAssertTrue(Platform(os: "linux", architecture: "arm").matches(armv7))
        XCTAssertFalse(Platform(os: "linux", architecture: "arm", variant: "v6").matches(armv7))
        XCTAssertTrue(Platform(os: "linux", architecture: "arm64").matches(Platform(os: "linux", architecture: "arm64", variant: "v8")))
    }

    func testOCIPlatformBridge() {
        XCTAssertEqual(OCIPlatform(architecture: "arm", os: "linux", variant: "v7").platform, Platform(os: "linux", architecture: "arm", variant: "v7"))
        XCTAssertEqual(OCIPlatform(architecture: "amd64", os: "linux").platform, Platform(os: "linux", architecture: "amd64"))
    }

    func testMediaTypes() {
        XCTAssertTrue(MediaType.isIndex("application/vnd.oci.image.index.v1+json"))
        XCTAssertTrue(MediaType.isIndex("application/vnd.docker.distribution.manifest.list.v2+json"))
        XCTAssertFalse(MediaType.isIndex("application/vnd.oci.image.manifest.v1+json"))
        XCTAssertTrue(MediaType.isManifest("application/vnd.oci.image.manifest.v1+json"))
        XCTAssertTrue(MediaType.isManifest("application/vnd.docker.distribution.manifest.v2+json"))
        XCTAssertFalse(MediaType.isManifest("application/vnd.oci.image.config.v1+json"))
    }

    func testImageConfigDiffIDsKey() throws {
        let json = #"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]}}"#
        let c = try JSONDecoder().decode(OCIImageConfig.self, from: Data(json.utf8))
        XCTAssertEqual(c.rootfs?.diffIDs, ["sha256:aa", "sha256:bb"])
        XCTAssertEqual(c.architecture, "amd64")
        XCTAssertNil(c.variant)
    }
}

final class ImageCatalogMatchTests: XCTestCase {
    static let name = "docker.io/library/busybox:kctr-test"

    func testShortNamesMatchTheRepository() {
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "busybox"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "library/busybox"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "docker.io/library/busybox"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "alpine"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "busybox2"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "quay.io/busybox"))
    }

    func testTaggedPatternsMatchOnlyThatTag() {
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "busybox:1.0"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "busybox:latest"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "busybox:kctr-test"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "docker.io/library/busybox:kctr-test"))
    }

    func testExactNames() {
        XCTAssertTrue(ImageCatalog.matches("sha256:" + String(repeating: "a", count: 64), pattern: "sha256:" + String(repeating: "a", count: 64)))
        XCTAssertTrue(ImageCatalog.matches("registry.k8s.io/pause:3.9", pattern: "registry.k8s.io/pause:3.9"))
        XCTAssertTrue(ImageCatalog.matches("registry.k8s.io/pause:3.9", pattern: "registry.k8s.io/pause"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "Busybox"))
    }

    func testTrailingPathComponentsOfOtherRegistries() {
        // "pause" names registry.k8s.io/pause by its last path components, as crictl does.
        let pause = "registry.k8s.io/pause:3.9"
        XCTAssertTrue(ImageCatalog.matches(pause, pattern: "pause"))
        XCTAssertTrue(ImageCatalog.matches(pause, pattern: "pause:3.9"))
        XCTAssertFalse(ImageCatalog.matches(pause, pattern: "pause:3.8"))
        XCTAssertFalse(ImageCatalog.matches(pause, pattern: "k8s.io/pause"))
        XCTAssertFalse(ImageCatalog.matches(pause, pattern: "paus"))
        let deep = "ghcr.io/org/team/app:v1"
        XCTAssertTrue(ImageCatalog.matches(deep, pattern: "app"))
        XCTAssertTrue(ImageCatalog.matches(deep, pattern: "team/app:v1"))
        XCTAssertTrue(ImageCatalog.matches(deep, pattern: "org/team/app"))
        XCTAssertFalse(ImageCatalog.matches(deep, pattern: "org/app"))
        XCTAssertFalse(ImageCatalog.matches(deep, pattern: "team/app:v2"))
        let digest = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        XCTAssertTrue(ImageCatalog.matches("ghcr.io/org/app@" + digest, pattern: "app@" + digest))
    }

    func testDigestPatterns() {
        let digest = "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        XCTAssertTrue(ImageCatalog.matches("docker.io/library/busybox@" + digest, pattern: "busybox@" + digest))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "busybox@" + digest))
    }

    func testGlobPatternsMatchTheFullName() {
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "*busybox*"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "docker.io/*"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "*:kctr-test"))
        XCTAssertTrue(ImageCatalog.matches(Self.name, pattern: "docker.io/library/busybox:kctr-tes?"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "docker.io/library/busybox:kctr-te?"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "busybox*"))
        XCTAssertFalse(ImageCatalog.matches(Self.name, pattern: "*alpine*"))
        XCTAssertTrue(ImageCatalog.matches("registry.k8s.io/pause:3.9", pattern: "*:3.?"))
        XCTAssertFalse(ImageCatalog.matches("registry.k8s.io/pause:3.9", pattern: "*:3.??"))
    }

    func testGlob() {
        func g(_ s: String, _ p: String) -> Bool { ImageCatalog.glob(Array(s), Array(p)) }
        XCTAssertTrue(g("", ""))
        XCTAssertTrue(g("", "*"))
        XCTAssertTrue(g("", "**"))
        XCTAssertFalse(g("", "?"))
        XCTAssertFalse(g("a", ""))
        XCTAssertTrue(g("abc", "abc"))
        XCTAssertFalse(g("abc", "abd"))
        XCTAssertFalse(g("abc", "ab"))
        XCTAssertFalse(g("ab", "abc"))
        XCTAssertTrue(g("abc", "a?c"))
        XCTAssertFalse(g("ac", "a?c"))
        XCTAssertTrue(g("abc", "a*"))
        XCTAssertTrue(g("abc", "*c"))
        XCTAssertTrue(g("abc", "a*c"))
        XCTAssertTrue(g("ac", "a*c"))
        XCTAssertTrue(g("abcbd", "a*bd"))
        XCTAssertTrue(g("mississippi", "m*iss*ppi"))
        XCTAssertFalse(g("mississippi", "m*iss*ppx"))
        XCTAssertTrue(g("aXbYc", "a*b*c"))
        XCTAssertFalse(g("aXbY", "a*b*c"))
        XCTAssertTrue(g("a*b", "a*b"))
    }

    func testDigestNames() {
        XCTAssertTrue(ImageCatalog.isDigestName("sha256:" + String(repeating: "0", count: 64)))
        XCTAssertFalse(ImageCatalog.isDigestName(Self.name))
    }
}
