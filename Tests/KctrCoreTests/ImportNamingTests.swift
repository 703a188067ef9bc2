import XCTest
@testable import KctrCore

/// An archive that names its image with something that is not a reference: the image is not
/// imported, and the message says which name the archive gave and why it is not a reference.
final class ImportNamingTests: XCTestCase {
    static let bad = "docker.io/library/UPPER:Case!!"
    static let why = "\"docker.io/library/UPPER:Case!!\" is not a valid image reference: "
        + "the tag \"Case!!\" must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"

    func testAnnotationThatIsNotAReferenceSaysWhy() {
        XCTAssertEqual(ImportPlan.imageName(["io.containerd.image.name": Self.bad]), .invalid(Self.why))
        // The other annotation names it validly: that name is taken.
        XCTAssertEqual(ImportPlan.imageName(["io.containerd.image.name": Self.bad, "org.opencontainers.image.ref.name": "docker.io/library/ok:1"]),
                       .name("docker.io/library/ok:1"))
    }

    func testImageNamedOnlyInvalidlyIsNotImportedAndSaysWhichNameAndWhy() throws {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let target = OCIDescriptor(mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digest, size: 1,
                                   annotations: ["io.containerd.image.name": Self.bad])
        var image = ImportPlan.Image(names: [], target: target, indexes: [], manifests: [], skippedPlatforms: [], dockerLayerPaths: [], dockerConfig: nil)
        image.invalidNames = [Self.why]
        var plan = ImportPlan(format: "oci", images: [image], blobs: [:])
        var notImported: [String] = []
        try ImageImporter.name(&plan, options: ImportOptions(), notImported: &notImported)
        XCTAssertEqual(notImported, ["image \(digest), named \(Self.why)"])
        XCTAssertTrue(plan.named.isEmpty)
    }
}
