import Foundation
import XCTest

/// `make dist`'s one file: only glibc dynamic, runs where neither Swift nor gRPC is installed,
/// names its commit, and ships completions and a man page that `make install` puts in place.
/// Skipped when dist/kctr has not been built (`.ci/run` builds it before `make test`).
final class DistTests: XCTestCase {
    static let shared = SharedLab()
    override class func tearDown() { shared.stop() }

    static var dist: String { Paths.root + "/dist" }

    func distBinary() throws -> String {
        let bin = Self.dist + "/kctr"
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw XCTSkip("\(bin) is not built: run `make dist` first (.ci/run does)")
        }
        return bin
    }

    /// The shared libraries of Debian's libc6 package (glibc) and of what libc6 itself depends on
    /// (libgcc-s1: glibc loads libgcc_s.so.1 to unwind at pthread_exit), i.e. what the most minimal
    /// Debian root (debootstrap --variant=minbase) has.
    func glibcFiles() throws -> [String] {
        let r = runProcess(["/usr/bin/dpkg", "-L", "libc6", "libgcc-s1"])
        XCTAssertExit(r, 0)
        let files = r.lines.filter { $0.range(of: #"^/(usr/)?lib(64|/[a-z0-9_]+-linux-gnu)/[^/]+\.so(\.[0-9.]+)?$"#, options: .regularExpression) != nil }
        guard !files.isEmpty else { throw SetupError("dpkg -L libc6 lists no libraries") }
        return files
    }

    func testLddListsOnlyGlibc() throws {
        let bin = try distBinary()
        let glibc = Set(try glibcFiles().map { URL(fileURLWithPath: $0).lastPathComponent })
        let r = runProcess(["/usr/bin/ldd", bin])
        XCTAssertExit(r, 0)
        let names = r.lines.compactMap { $0.split(separator: " ").first.map { URL(fileURLWithPath: String($0).trimmingCharacters(in: .whitespaces)).lastPathComponent } }
        XCTAssertTrue(names.contains("libc.so.6"), r.stdout)
        let foreign = names.filter { $0 != "linux-vdso.so.1" && !glibc.contains($0) }
        XCTAssertEqual(foreign, [], "dist/kctr needs libraries other than glibc's:\n\(r.stdout)")
        // Stripped: no symbol table left.
        let sections = runProcess(["/usr/bin/readelf", "-S", "-W", bin])
        XCTAssertExit(sections, 0)
        XCTAssertFalse(sections.stdout.contains(" .symtab "), "dist/kctr is not stripped")
        XCTAssertFalse(sections.stdout.contains(" .debug_info "), "dist/kctr carries debug info")
    }

    /// Runs `inner` (a sh script) in a mount namespace where /opt/swift is empty and the library
    /// directory holds glibc's files only (libc6 and libgcc-s1, see glibcFiles): no Swift runtime, gRPC, abseil, protobuf-c, libarchive,
    /// libstdc++ or anything else. The last mount replaces the library directory, so `inner` may use
    /// only shell builtins and `exec`.
    func hidden(_ inner: String) throws -> Run {
        let stage = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-glibc-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let libdir = "/usr/lib/x86_64-linux-gnu"
        guard FileManager.default.fileExists(atPath: libdir + "/libc.so.6") else {
            throw XCTSkip("\(libdir)/libc.so.6 not found: the namespace test knows Debian's x86_64 layout only")
        }
        let glibc = try glibcFiles().filter { $0.hasPrefix(libdir + "/") || $0.hasPrefix("/lib/x86_64-linux-gnu/") }
        try FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: true)
        let copy = runProcess(["/bin/cp", "-L"] + glibc + [stage])
        XCTAssertExit(copy, 0)
        var script = "set -e\n"
        if FileManager.default.fileExists(atPath: "/opt/swift") { script += "mount -t tmpfs none /opt/swift\n" }
        script += "mount --bind \(stage) \(libdir)\n"
        script += "set +e\n" + inner
        return runProcess(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script], timeout: 60)
    }

    func testRunsWhereNeitherSwiftNorGRPCIsInstalled() throws {
        let bin = try distBinary()
        let lab = try Self.shared.get()
        let probe = """
        [ -e \(lab.socket) ] || { echo "no socket" >&2; exit 91; }
        [ -e /opt/swift/usr/bin/swift ] && { echo "swift still visible" >&2; exit 92; }
        [ -e /usr/lib/x86_64-linux-gnu/libgrpc_unsecure.so.29 ] && { echo "gRPC still visible" >&2; exit 93; }
        [ -e /usr/lib/x86_64-linux-gnu/libstdc++.so.6 ] && { echo "libstdc++ still visible" >&2; exit 94; }
        """
        let r = try hidden(probe + "\nexec \(bin) --address \(lab.socket) version\n")
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stdout.contains("containerd:\n  Version:             1."), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("RuntimeName:         containerd"), r.stdout)
        // info decodes the CRI config (JSON, Foundation) and lists runtimes.
        let info = try hidden("exec \(bin) --address \(lab.socket) info -o json\n")
        XCTAssertExit(info, 0)
        XCTAssertTrue(info.stdout.contains("\"runtimes\""), info.stdout)

        // The control: the same namespace stops the dynamically linked build.
        let dynamic = Paths.kctr
        let needsLibs = runProcess(["/usr/bin/readelf", "-d", dynamic]).stdout.contains("libgrpc_unsecure")
        if needsLibs {
            let c = try hidden("exec \(dynamic) --address \(lab.socket) version\n")
            XCTAssertNotEqual(c.status, 0, "the dynamic build ran although its libraries were hidden: \(c.stdout)")
            XCTAssertTrue(c.stderr.contains("error while loading shared libraries"), c.stderr)
        }
    }

    /// A position-independent executable (its own code and data at a random address) with full RELRO:
    /// every symbol bound at start-up, then the relocated data made read-only.
    func testPIEWithFullRELRO() throws {
        let bin = try distBinary()
        let header = runProcess(["/usr/bin/readelf", "-h", "-W", bin])
        XCTAssertExit(header, 0)
        XCTAssertTrue(header.stdout.range(of: #"Type:\s+DYN "#, options: .regularExpression) != nil, header.stdout)
        let dynamic = runProcess(["/usr/bin/readelf", "-d", "-W", bin])
        XCTAssertExit(dynamic, 0)
        XCTAssertTrue(dynamic.stdout.range(of: #"\(FLAGS_1\)\s+Flags: NOW PIE"#, options: .regularExpression) != nil, dynamic.stdout)
        XCTAssertTrue(dynamic.stdout.range(of: #"\(FLAGS\)\s+BIND_NOW"#, options: .regularExpression) != nil, dynamic.stdout)
        let segments = runProcess(["/usr/bin/readelf", "-l", "-W", bin])
        XCTAssertExit(segments, 0)
        XCTAssertTrue(segments.stdout.contains("GNU_RELRO"), segments.stdout)
    }

    /// dist/kctr.libraries names what the binary holds, with the versions dpkg has now.
    func testLibrariesListNamesPackagesAndVersions() throws {
        _ = try distBinary()
        let text = try String(contentsOfFile: Self.dist + "/kctr.libraries", encoding: .utf8)
        for (archive, package) in [("libgrpc_unsecure.a", "libgrpc-dev"), ("libprotobuf-c.a", "libprotobuf-c-dev"),
                                   ("libarchive.a", "libarchive-dev"), ("libz.a", "zlib1g-dev"), ("libzstd.a", "libzstd-dev"),
                                   ("liblzma.a", "liblzma-dev"), ("libbz2.a", "libbz2-dev"), ("libcares.a", "libc-ares-dev"),
                                   ("libupb.a", "libgrpc-dev"), ("libstdc++.a", "libstdc++-12-dev")] {
            let version = runProcess(["/usr/bin/dpkg-query", "-W", "-f=${Version}", package])
            XCTAssertExit(version, 0)
            XCTAssertTrue(text.contains("\n\(archive)\t\(package)\t\(version.stdout)\t"), "\(archive) from \(package) \(version.stdout) is not listed:\n\(text)")
        }
        XCTAssertTrue(text.contains("\nswift-crypto\t"), text)
        XCTAssertTrue(text.contains("BoringSSL"), text)
        XCTAssertTrue(text.range(of: #"\nlibabsl_[a-z_]+\.a\tlibabsl-dev\t"#, options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("Swift version"), text)
    }

    /// The test hooks (KCTR_TEST_STOP_AT, KCTR_TEST_STATUS_GATE: stop kctr, or make it wait for a file) are
    /// compiled out of release builds: the binary does not even hold their names.
    func testReleaseBinaryHasNoTestHooks() throws {
        let bin = try distBinary()
        let r = runProcess(["/usr/bin/grep", "-c", "-a", "-F", "KCTR_TEST_", bin])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stdout, "0\n")
        // The control: the debug build, which the fault tests run, has both.
        for hook in ["KCTR_TEST_STOP_AT", "KCTR_TEST_STATUS_GATE"] {
            XCTAssertExit(runProcess(["/usr/bin/grep", "-q", "-a", "-F", hook, Paths.kctr]), 0)
        }
    }

    func testVersionNamesTheCommit() throws {
        let bin = try distBinary()
        let lab = try Self.shared.get()
        let flag = runProcess([bin, "--version"])
        XCTAssertExit(flag, 0)
        let line = flag.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let pattern = #"^[0-9]+\.[0-9]+\.[0-9]+ \(commit ([^)]+)\)$"#
        guard let m = line.range(of: pattern, options: .regularExpression), m == line.startIndex..<line.endIndex,
              let open = line.range(of: "(commit "), line.hasSuffix(")") else {
            return XCTFail("--version prints \(line), not `N.N.N (commit REV)`")
        }
        let rev = String(line[open.upperBound..<line.index(before: line.endIndex)])
        let json = runProcess([bin, "--address", lab.socket, "version", "-o", "json"])
        XCTAssertExit(json, 0)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let client = try XCTUnwrap(doc["client"] as? [String: Any])
        XCTAssertEqual(client["revision"] as? String, rev)
        // Built from this checkout: the revision is `git describe` of a commit git knows.
        if FileManager.default.fileExists(atPath: Paths.root + "/.git") {
            XCTAssertNotEqual(rev, "unknown", "make dist in a git checkout recorded no commit")
            // `git describe --always`: HASH, or TAG-N-gHASH after a tag; "-dirty" with local changes.
            var hash = rev.hasSuffix("-dirty") ? String(rev.dropLast(6)) : rev
            if let g = hash.range(of: "-g", options: .backwards) { hash = String(hash[g.upperBound...]) }
            let known = runProcess(["/usr/bin/git", "-C", Paths.root, "cat-file", "-e", "\(hash)^{commit}"])
            XCTAssertExit(known, 0)
        }
    }

    func testCompletionsAndManPage() throws {
        _ = try distBinary()
        func read(_ name: String) throws -> String {
            try String(contentsOfFile: Self.dist + "/" + name, encoding: .utf8)
        }
        let bash = try read("kctr.bash"), zsh = try read("_kctr"), fish = try read("kctr.fish"), man = try read("kctr.1")
        for (name, text) in [("bash", bash), ("zsh", zsh), ("fish", fish)] {
            for word in ["images", "verify-runtime", "inspectp", "namespace", "timeout", "max-recv-size"] {
                XCTAssertTrue(text.contains(word), "\(name) completion does not mention \(word)")
            }
        }
        XCTAssertTrue(bash.contains("complete -o filenames -F _kctr kctr"), "bash completion registers no function for kctr")
        XCTAssertTrue(zsh.hasPrefix("#compdef kctr"), "zsh completion lacks #compdef")
        XCTAssertTrue(fish.contains("complete -c 'kctr'"), "fish completion lacks complete -c 'kctr'")
        XCTAssertTrue(man.hasPrefix(".TH KCTR 1 "), "man page lacks .TH")
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH GLOBAL OPTIONS", ".SH COMMANDS", ".SH EXIT STATUS"] {
            XCTAssertTrue(man.contains(section), "man page lacks \(section)")
        }
        for command in ["kctr version", "kctr images ls", "kctr verify\\-runtime", "kctr import", "kctr logs"] {
            XCTAssertTrue(man.contains(".SS \(command)"), "man page does not describe \(command)")
        }
        XCTAssertTrue(man.contains("\\fB\\-\\-address\\fR"), "man page does not describe --address")
    }

    func testMakeInstallHonoursDestdir() throws {
        _ = try distBinary()
        let dest = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-destdir-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dest) }
        let r = runProcess(["/usr/bin/make", "-C", Paths.root, "install", "DESTDIR=\(dest)", "PREFIX=/usr/local"], timeout: 120)
        XCTAssertExit(r, 0)
        let expected: [(String, Int)] = [
            ("/usr/local/bin/kctr", 0o755),
            ("/usr/share/bash-completion/completions/kctr", 0o644),
            ("/usr/share/zsh/vendor-completions/_kctr", 0o644),
            ("/usr/share/fish/vendor_completions.d/kctr.fish", 0o644),
            ("/usr/local/share/man/man1/kctr.1", 0o644),
        ]
        for (path, mode) in expected {
            let attrs = try FileManager.default.attributesOfItem(atPath: dest + path)
            XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, mode, path)
        }
        XCTAssertEqual(FileManager.default.contentsEqual(atPath: dest + "/usr/local/bin/kctr", andPath: Self.dist + "/kctr"), true)
        let installed = runProcess([dest + "/usr/local/bin/kctr", "--version"])
        XCTAssertExit(installed, 0)
    }
}
