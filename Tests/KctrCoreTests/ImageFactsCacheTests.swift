import Foundation
import XCTest
@testable import KctrCore
import KctrRPC

/// ImageFactsCache: the file is input kctr did not write in this run; whatever it holds, a listing must be
/// right (a refused file or line only sends the images down the reading path again).
final class ImageFactsCacheTests: ScratchDirectoryTestCase {
    static func digest(_ c: Character) -> String { "sha256:" + String(repeating: c, count: 64) }
    static let amd64 = Platform(os: "linux", architecture: "amd64")
    static let entry = ImageFactsCache.Entry(size: 1234, platforms: [amd64, Platform(os: "linux", architecture: "arm64", variant: "v8")],
                                             manifestDigest: digest("b"), configDigest: digest("c"), chainID: digest("d"))

    var cacheDir: String { dir + "/cache" }
    var cache: ImageFactsCache { ImageFactsCache(directory: cacheDir, platform: Self.amd64) }
    var file: String { cacheDir + "/image-facts" }

    private func write(_ text: String, mode: mode_t = 0o600) throws {
        if !FileManager.default.fileExists(atPath: cacheDir) { XCTAssertEqual(mkdir(cacheDir, 0o700), 0) }
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(file, mode), 0)
    }

    func testStoredEntriesLoadBack() throws {
        let entries = [Self.digest("a"): Self.entry,
                       Self.digest("e"): ImageFactsCache.Entry(size: 0, platforms: [Self.amd64], manifestDigest: Self.digest("e"),
                                                               configDigest: Self.digest("f"), chainID: nil)]
        XCTAssertEqual(cache.load().entries, [:])
        XCTAssertNil(cache.load().note, "no directory yet is no problem")
        try cache.store(entries, keep: [])
        let loaded = cache.load()
        XCTAssertEqual(loaded.entries, entries)
        XCTAssertNil(loaded.note)
        var st = stat()
        XCTAssertEqual(stat(cacheDir, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        XCTAssertEqual(stat(file, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        // Another platform's file is not this node's: ignored.
        XCTAssertEqual(ImageFactsCache(directory: cacheDir, platform: Platform(os: "linux", architecture: "arm64", variant: "v8")).load().entries, [:])
    }

    func testCorruptLinesAreDroppedAndTheRestKept() throws {
        let good = ImageFactsCache.line(Self.digest("a"), Self.entry) ?? ""
        try write("""
            kctr-image-facts 2 linux/amd64
            \(good)
            garbage
            \(Self.digest("1")) -5 \(Self.digest("b")) \(Self.digest("c")) - linux/amd64
            \(Self.digest("2")) 10 \(Self.digest("b")) sha256:short - linux/amd64
            \(Self.digest("3")) 10 \(Self.digest("b")) \(Self.digest("c")) - linux/AMD64
            \(Self.digest("4")) 10 \(Self.digest("b")) \(Self.digest("c")) - linux amd64
            \(Self.digest("5")) 10 \(Self.digest("b")) \(Self.digest("c")) - 
            \u{0}\u{FFFD}
            """)
        let loaded = cache.load()
        XCTAssertEqual(loaded.entries, [Self.digest("a"): Self.entry])
        XCTAssertEqual(loaded.note, "\(file): 7 malformed line(s) ignored")
        // Not even a header: nothing is used.
        try write("\(good)\n")
        XCTAssertEqual(cache.load().entries, [:])
        try write("")
        XCTAssertEqual(cache.load().entries, [:])
    }

    func testAFileOrDirectoryAnotherUserCouldHaveWrittenIsIgnored() throws {
        try cache.store([Self.digest("a"): Self.entry], keep: [])
        XCTAssertEqual(chmod(file, 0o620), 0)
        XCTAssertEqual(cache.load().entries, [:])
        XCTAssertEqual(cache.load().note, "\(file) is writable by others (mode 620): ignored")
        XCTAssertEqual(chmod(file, 0o600), 0)

        // Owned by someone else (the tests run as root: the file is given away; as another user, the cache
        // is asked to trust a uid that is not the file's).
        let other = ImageFactsCache(directory: cacheDir, platform: Self.amd64, euid: geteuid() == 0 ? 4242 : 0)
        XCTAssertEqual(other.load().entries, [:])
        XCTAssertEqual(other.load().note?.hasSuffix("belongs to uid \(geteuid()), not \(geteuid() == 0 ? 4242 : 0): ignored"), true,
                       other.load().note ?? "")
        XCTAssertThrowsError(try other.store([:], keep: []))

        XCTAssertEqual(chmod(cacheDir, 0o777), 0)
        XCTAssertEqual(cache.load().note, "\(cacheDir) is writable by others (mode 777): ignored")
        XCTAssertThrowsError(try cache.store([:], keep: [])) { error in
            XCTAssertEqual("\(error)", "\(cacheDir) is writable by others (mode 777): ignored")
        }
        XCTAssertEqual(chmod(cacheDir, 0o700), 0)
        XCTAssertEqual(cache.load().entries.count, 1)
    }

    func testALinkOrAnOversizedFileIsNotRead() throws {
        try cache.store([Self.digest("a"): Self.entry], keep: [])
        let elsewhere = dir + "/elsewhere"
        XCTAssertEqual(rename(file, elsewhere), 0)
        XCTAssertEqual(symlink(elsewhere, file), 0)
        XCTAssertEqual(cache.load().entries, [:])
        XCTAssertEqual(cache.load().note, "cannot open \(file): Too many levels of symbolic links")
        XCTAssertEqual(unlink(file), 0)

        try write("kctr-image-facts 2 linux/amd64\n" + String(repeating: "x", count: ImageFactsCache.maxBytes))
        XCTAssertEqual(cache.load().entries, [:])
        XCTAssertEqual(cache.load().note, "\(file) is \(ImageFactsCache.maxBytes + 31) bytes, more than \(ImageFactsCache.maxBytes): ignored")
        // The next store replaces it.
        try cache.store([Self.digest("a"): Self.entry], keep: [])
        XCTAssertEqual(cache.load().entries.count, 1)
    }

    /// At most maxEntries are kept: the images of the listing first, the stale ones (no longer listed) after.
    func testStaleEntriesGoFirstWhenTheFileIsFull() throws {
        var entries: [String: ImageFactsCache.Entry] = [:]
        for i in 0..<(ImageFactsCache.maxEntries + 10) {
            let hex = String(i, radix: 16)
            entries["sha256:" + String(repeating: "0", count: 64 - hex.count) + hex] = Self.entry
        }
        let keep = Set(entries.keys.sorted().suffix(20))
        try cache.store(entries, keep: keep)
        let loaded = cache.load().entries
        XCTAssertEqual(loaded.count, ImageFactsCache.maxEntries)
        XCTAssertTrue(keep.isSubset(of: Set(loaded.keys)))
    }

    /// Strings from an image's JSON that could break a line are never written.
    func testEntriesThatCouldBreakTheFormatAreNotWritten() {
        var bad = Self.entry
        bad.platforms = [Platform(os: "linux amd64", architecture: "x")]
        XCTAssertNil(ImageFactsCache.line(Self.digest("a"), bad))
        bad.platforms = [Platform(os: "linux\n\(Self.digest("9")) 1", architecture: "x")]
        XCTAssertNil(ImageFactsCache.line(Self.digest("a"), bad))
        bad = Self.entry
        bad.configDigest = "sha512:abc"
        XCTAssertNil(ImageFactsCache.line(Self.digest("a"), bad))
        XCTAssertNil(ImageFactsCache.line("docker.io/x", Self.entry))
        XCTAssertNotNil(ImageFactsCache.line(Self.digest("a"), Self.entry))
    }

    func testWhereTheCacheLives() {
        XCTAssertEqual(ImageFactsCache.directory(environment: [:], euid: 0), "/var/cache/kctr")
        XCTAssertNil(ImageFactsCache.directory(environment: [:], euid: 1000))
        XCTAssertEqual(ImageFactsCache.directory(environment: ["KCTR_CACHE_DIR": "/tmp/c"], euid: 1000), "/tmp/c")
        XCTAssertNil(ImageFactsCache.directory(environment: ["KCTR_CACHE_DIR": ""], euid: 0))
    }
}
