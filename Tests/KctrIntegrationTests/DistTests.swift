import Foundation
import XCTest

/// `make dist`'s one file: fully static (no loader, no shared library, glibc linked in), runs in an
/// empty root and in an old distribution's root, names its commit, and ships completions and a man
/// page that `make install` puts in place. Skipped when dist/kctr has not been built (`.ci/run` builds
/// it before `make test`).
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

    /// No program interpreter, no NEEDED library: ldd has nothing to list. (A static PIE: ldd says
    /// "statically linked"; for a static non-PIE it says "not a dynamic executable".)
    func testFullyStatic() throws {
        let bin = try distBinary()
        let r = runProcess(["/usr/bin/ldd", bin])
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "statically linked", r.stdout + r.stderr)
        let segments = runProcess(["/usr/bin/readelf", "-l", "-W", bin])
        XCTAssertExit(segments, 0)
        XCTAssertFalse(segments.stdout.contains("INTERP"), "dist/kctr names a loader:\n\(segments.stdout)")
        let dynamic = runProcess(["/usr/bin/readelf", "-d", "-W", bin])
        XCTAssertExit(dynamic, 0)
        XCTAssertFalse(dynamic.stdout.contains("(NEEDED)"), "dist/kctr needs shared libraries:\n\(dynamic.stdout)")
        // Stripped: no symbol table left.
        let sections = runProcess(["/usr/bin/readelf", "-S", "-W", bin])
        XCTAssertExit(sections, 0)
        XCTAssertFalse(sections.stdout.contains(" .symtab "), "dist/kctr is not stripped")
        XCTAssertFalse(sections.stdout.contains(" .debug_info "), "dist/kctr carries debug info")
        // The control: the debug build has a loader and libraries.
        XCTAssertTrue(runProcess(["/usr/bin/readelf", "-d", "-W", Paths.kctr]).stdout.contains("(NEEDED)"))
    }

    /// Runs `script` (sh) in a private mount namespace; `root` gets the lab's socket bind-mounted at
    /// ROOT/containerd.sock and procfs at ROOT/proc (the Swift runtime reads /proc/self/maps to find
    /// argv and /proc/self/exe for its own path: every container and every host has /proc).
    func inNamespace(root: String, socket: String, _ script: String) -> Run {
        let prepare = """
        set -e
        mount --bind \(socket) \(root)/containerd.sock
        mount -t proc proc \(root)/proc
        set +e

        """
        return runProcess(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", prepare + script], timeout: 120)
    }

    /// A root holding dist/kctr, the socket and /proc, nothing else: no libc, no loader, no /etc, no /dev.
    func testRunsInAnEmptyRoot() throws {
        let bin = try distBinary()
        let lab = try Self.shared.get()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-empty-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/proc", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: bin, toPath: root + "/kctr")
        FileManager.default.createFile(atPath: root + "/containerd.sock", contents: nil)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).sorted(), ["containerd.sock", "kctr", "proc"])
        defer { _ = lab.ctr(["images", "rm", "docker.io/library/busybox:kctr-test"], namespace: "empty-root") }

        let r = inNamespace(root: root, socket: lab.socket, "exec chroot \(root) /kctr --address /containerd.sock version\n")
        XCTAssertExit(r, 0)
        XCTAssertTrue(Self.namesDaemon(r.stdout, lab), r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("RuntimeName:         containerd"), r.stdout)
        // info decodes the CRI config (JSON, Foundation); verify-runtime's daemon checks talk gRPC and CRI.
        let info = inNamespace(root: root, socket: lab.socket, "exec chroot \(root) /kctr --address /containerd.sock info -o json\n")
        XCTAssertExit(info, 0)
        XCTAssertTrue(info.stdout.contains("\"runtimes\""), info.stdout)
        let verify = inNamespace(root: root, socket: lab.socket,
                                 "exec chroot \(root) /kctr --address /containerd.sock verify-runtime --check daemon\n")
        XCTAssertExit(verify, 0)
        // Which checks pass or skip depends on the version (deprecations from 1.7, no kubelet in the root); none warns or fails.
        XCTAssertTrue(verify.stdout.contains(" passed, 0 warnings, 0 failed"), verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("PASS daemon.cri-serving"), verify.stdout)
        // import and export: libarchive (tar, gzip) and its iconv with no gconv files, writing with no /tmp.
        try FileManager.default.copyItem(atPath: try TestImages.path("busybox.oci.tar"), toPath: root + "/busybox.oci.tar")
        let transfer = inNamespace(root: root, socket: lab.socket, """
            chroot \(root) /kctr --address /containerd.sock -n empty-root import /busybox.oci.tar || exit 1
            exec chroot \(root) /kctr --address /containerd.sock -n empty-root export /out.tar docker.io/library/busybox:kctr-test

            """)
        XCTAssertExit(transfer, 0)
        XCTAssertTrue(transfer.stderr.contains("exported 1 image(s), 3 blob(s)"), transfer.stderr)
        let listing = runProcess(["/usr/bin/tar", "-tf", root + "/out.tar"])
        XCTAssertExit(listing, 0)
        XCTAssertTrue(listing.lines.contains("index.json"), listing.stdout)

        // The control: the debug build, dynamically linked, cannot start there (no loader).
        try FileManager.default.copyItem(atPath: Paths.kctr, toPath: root + "/kctr-debug")
        let c = inNamespace(root: root, socket: lab.socket, "exec chroot \(root) /kctr-debug --version\n")
        XCTAssertEqual(c.status, 127, c.stdout + c.stderr)
    }

    /// `kctr version` names the lab's containerd (Debian writes 1.6.20~ds1, upstream v2.3.4).
    static func namesDaemon(_ out: String, _ lab: Lab) -> Bool {
        let major = lab.version.major
        return out.contains("containerd:\n  Version:             \(major).") || out.contains("containerd:\n  Version:             v\(major).")
    }

    /// Debian 11 (glibc 2.31; the glibc-dynamic dist/kctr of before needed 2.36): a minimal root made
    /// once with debootstrap from this machine's Debian mirror (scripts/lab/old-root, cached under
    /// /var/tmp/kctr-roots). dist/kctr goes on a tmpfs over its /mnt, so the cached root is not changed.
    func testRunsInADebian11Root() throws {
        let bin = try distBinary()
        let made = runProcess([Paths.root + "/scripts/lab/old-root", "bullseye"], timeout: 1200)
        if made.status == 2 { throw XCTSkip("no Debian 11 root: \(made.stderr.trimmingCharacters(in: .whitespacesAndNewlines))") }
        XCTAssertExit(made, 0)
        let root = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let lab = try Self.shared.get()
        let script = """
        mount -t tmpfs none \(root)/mnt || exit 90
        cp \(bin) \(root)/mnt/kctr || exit 91
        : > \(root)/mnt/containerd.sock
        mount --bind \(lab.socket) \(root)/mnt/containerd.sock || exit 92
        mount -t proc proc \(root)/proc || exit 93
        chroot \(root) /lib/x86_64-linux-gnu/libc.so.6 | head -n 1
        exec chroot \(root) /mnt/kctr --address /mnt/containerd.sock version

        """
        let r = runProcess(["/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script], timeout: 120)
        XCTAssertExit(r, 0)
        XCTAssertTrue(r.stdout.hasPrefix("GNU C Library (Debian GLIBC 2.31"), "not Debian 11's glibc: \(r.stdout)")
        XCTAssertTrue(Self.namesDaemon(r.stdout, lab), r.stdout + r.stderr)
    }

    /// verify-runtime's runtime probe (runc --version) runs from the static binary: pipe2 and the
    /// posix_spawn file actions are linked (CProcess), not looked up with dlsym, which finds nothing
    /// in a static binary.
    func testRuntimeBinaryProbeRuns() throws {
        let bin = try distBinary()
        let lab = try Self.shared.get()
        let r = runProcess([bin, "--address", lab.socket, "verify-runtime", "-o", "json", "--check", "runtimes.binary",
                            "--containerd-config", lab.base + "/config.toml"])
        XCTAssertExit(r, 0)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let check = try XCTUnwrap((doc["checks"] as? [[String: Any]])?.first)
        XCTAssertEqual(check["id"] as? String, "runtimes.binary")
        XCTAssertEqual(check["status"] as? String, "pass", "\(check)")
        XCTAssertTrue((check["found"] as? String ?? "").contains("(runc version "), "\(check)")
    }

    /// Static glibc cannot load NSS modules (users and hosts from systemd, sssd, LDAP...) or gconv modules
    /// (iconv beyond its built-in UTF-8, ASCII and UCS charsets), so kctr must look up no user, group or
    /// host name and convert nothing to other charsets. Each command below runs under strace (kctr and
    /// what it starts), which must show none of the files a lookup reads and no gconv module loaded.
    func testNoNameServiceLookups() throws {
        let bin = try distBinary()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") else {
            throw XCTSkip("strace is not installed (scripts/deps installs it)")
        }
        let lab = try Self.shared.get()
        let busybox = try TestImages.path("busybox.oci.tar")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kctr-nss-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: out) }
        let lookups = ["/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/hosts", "/etc/resolv.conf",
                       "/etc/host.conf", "/etc/gai.conf", "/etc/services", "libnss_"]
        func traced(_ argv: [String]) -> (Run, [String]) {
            let log = out + "/strace.\(UUID().uuidString.prefix(8))"
            let r = runProcess(["/usr/bin/strace", "-f", "-qq", "-o", log, "-e", "trace=open,openat,stat,newfstatat,statx,access"] + argv,
                               timeout: 120)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            // Traced at all: every program opens something; kctr's Swift runtime reads /proc/self/maps.
            XCTAssertTrue(text.contains("open"), "strace recorded nothing for \(argv): \(r.stderr)")
            if argv.first != "/usr/bin/id" { XCTAssertTrue(text.contains("\"/proc/self/maps\""), "\(argv)") }
            var seen = lookups.filter { text.contains("\"" + $0) || ($0 == "libnss_" && text.contains($0)) }
            if text.range(of: #"/gconv/[^"/]+\.so""#, options: .regularExpression) != nil { seen.append("a gconv module") }
            return (r, seen)
        }
        // The control: id(1) looks its user up, and strace sees it.
        let (control, seen) = traced(["/usr/bin/id", "-un"])
        XCTAssertExit(control, 0)
        XCTAssertFalse(seen.isEmpty, "strace saw no lookup by id -un")

        let ref = "docker.io/library/busybox:kctr-test"
        let commands: [([String], [Int32])] = [
            (["version"], [0]), (["info", "-o", "json"], [0]), (["namespaces", "ls"], [0]), (["plugins", "ls"], [0]),
            (["import", busybox], [0]), (["images", "ls"], [0]), (["images", "inspect", ref], [0]),
            (["images", "tag", ref, "docker.io/library/busybox:nss"], [0]), (["export", out + "/out.tar", ref], [0]),
            (["images", "rm", "docker.io/library/busybox:nss"], [0]), (["pods"], [0]), (["ps", "-a"], [0]), (["stats", "--all"], [0]),
            (["verify-runtime", "--containerd-config", lab.base + "/config.toml"], [0, 1]),
            // The daemon pulls (and resolves); kctr only asks it. Nothing listens on port 9: it fails.
            (["pull", "127.0.0.1:9/nothing:1"], [1]),
        ]
        for (args, codes) in commands {
            let (r, seen) = traced([bin, "--address", lab.socket] + args)
            XCTAssertTrue(codes.contains(r.status), "kctr \(args.joined(separator: " ")): exit \(r.status)\n\(r.stderr)")
            XCTAssertEqual(seen, [], "kctr \(args.joined(separator: " ")) looked something up")
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
                                   ("libupb.a", "libgrpc-dev"), ("libstdc++.a", "libstdc++-12-dev"),
                                   ("libc.a", "libc6-dev")] {
            let version = runProcess(["/usr/bin/dpkg-query", "-W", "-f=${Version}", package])
            XCTAssertExit(version, 0)
            XCTAssertTrue(text.contains("\n\(archive)\t\(package)\t\(version.stdout)\t"), "\(archive) from \(package) \(version.stdout) is not listed:\n\(text)")
        }
        XCTAssertTrue(text.contains("\nswift-crypto\t"), text)
        XCTAssertTrue(text.contains("BoringSSL"), text)
        XCTAssertTrue(text.range(of: #"\nlibabsl_[a-z_]+\.a\tlibabsl-dev\t"#, options: .regularExpression) != nil, text)
        XCTAssertTrue(text.contains("Swift version"), text)
    }

    /// The test hook (KCTR_TEST_FAULT: stop kctr at a point, or make it wait there for a file) is
    /// compiled out of release builds: the binary does not even hold its name.
    func testReleaseBinaryHasNoTestHooks() throws {
        let bin = try distBinary()
        let r = runProcess(["/usr/bin/grep", "-c", "-a", "-F", "KCTR_TEST_", bin])
        XCTAssertExit(r, 1)
        XCTAssertEqual(r.stdout, "0\n")
        // The control: the debug build, which the fault tests run, has it.
        XCTAssertExit(runProcess(["/usr/bin/grep", "-q", "-a", "-F", "KCTR_TEST_FAULT", Paths.kctr]), 0)
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
