/// The `runtimes` group: the default runtime exists, the runtime types are ones containerd starts a
/// shim for, and the shims and runc-like binaries are there and run.
enum RuntimesGroup {
    static let knownTypes: Set<String> = ["io.containerd.runc.v2", "io.containerd.runsc.v1", "io.containerd.kata.v2", "io.containerd.runhcs.v1"]
    static let deprecatedTypes: Set<String> = ["io.containerd.runtime.v1.linux", "io.containerd.runc.v1"]

    static func results(_ f: VerifyFacts) -> [CheckResult] {
        guard let running = f.daemon.running else {
            let why = f.daemon.reachable ? DaemonGroup.criNotServing : DaemonGroup.unreachable
            return [Check.runtimesDefault.skip(why, evidence: "runtime.v1.RuntimeService/Status"),
                    Check.runtimesType.skip(why, evidence: "runtime.v1.RuntimeService/Status"),
                    Check.runtimesBinary.skip(why, evidence: "PATH")]
        }
        let layout = f.layout
        let config = f.paths.containerdConfig
        var out: [CheckResult] = []
        let names = running.runtimes.map(\.name)
        let def = running.defaultRuntime ?? ""
        let defEvidence = "runtime.v1.RuntimeService/Status verbose: config.containerd.defaultRuntimeName = \(def), runtimes = [\(names.joined(separator: ", "))]"
        if names.contains(def) {
            out.append(Check.runtimesDefault.pass("the default runtime \(def) is configured", evidence: defEvidence))
        } else {
            out.append(Check.runtimesDefault.fail(
                "default_runtime_name = \"\(def)\" but there is no runtime \(def) (configured: \(names.isEmpty ? "none" : names.joined(separator: ", "))): every RunPodSandbox fails",
                evidence: defEvidence,
                fix: "add \(layout.table(layout.runtime(def.isEmpty ? "runc" : def))) with runtime_type = \"io.containerd.runc.v2\", or set \(layout.key(.defaultRuntimeName)) to one of \(names.joined(separator: ", ")), in \(config); then \(DaemonGroup.restart)"))
        }

        var deprecated: [String] = [], unknown: [String] = [], fine: [String] = []
        for r in running.runtimes {
            if knownTypes.contains(r.runtimeType) {
                fine.append("\(r.name)=\(r.runtimeType)")
            } else if deprecatedTypes.contains(r.runtimeType) {
                deprecated.append("\(r.name)=\(r.runtimeType)")
            } else {
                unknown.append("\(r.name)=\(r.runtimeType.isEmpty ? "(empty)" : r.runtimeType)")
            }
        }
        let typeEvidence = "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes.*.runtimeType"
        if !deprecated.isEmpty {
            out.append(Check.runtimesType.warn("deprecated runtime type: \(deprecated.joined(separator: ", ")) (removed in containerd 2.0)", evidence: typeEvidence,
                                               fix: "set runtime_type = \"io.containerd.runc.v2\" in \(layout.table(layout.runtime("<name>"))) of \(config) (options move to \(layout.table(layout.runtimeOptions("<name>")))) and \(DaemonGroup.restart)"))
        } else if !unknown.isEmpty {
            out.append(Check.runtimesType.warn("runtime type kctr does not know: \(unknown.joined(separator: ", "))", evidence: typeEvidence,
                                               fix: "check the spelling: containerd starts the shim containerd-shim-<name>-<version> from the type (e.g. io.containerd.runc.v2 -> containerd-shim-runc-v2)"))
        } else if fine.isEmpty {
            out.append(Check.runtimesType.skip("no runtimes configured", evidence: typeEvidence))
        } else {
            out.append(Check.runtimesType.pass(fine.joined(separator: ", "), evidence: typeEvidence))
        }
        out.append(binaries(f, running: running))
        return out
    }

    static func binaries(_ f: VerifyFacts, running: RuntimeConfigView) -> CheckResult {
        let check = Check.runtimesBinary
        if running.runtimes.isEmpty {
            return check.skip("no runtimes configured", evidence: "runtime.v1.RuntimeService/Status verbose: config.containerd.runtimes")
        }
        guard let facts = f.runtimeBinaries else {
            return check.skip("the runtime binaries were not looked up", evidence: "PATH")
        }
        let socket = f.endpoint.path
        if let why = facts.socketUntrusted {
            return check.fail("kctr runs no runtime binary the reply on \(socket) names, since that socket could be someone else's: \(why)",
                              evidence: "socket \(socket): owner and mode of the socket and of each directory above it",
                              fix: "containerd makes its socket as root in a directory only root can write (/run/containerd): check who listens on \(socket) (ss -xlp | grep \(socket)), or pass --address with containerd's own socket")
        }
        var ok: [String] = [], bad: [String] = [], evidence: [String] = []
        var refusals = 0
        for p in facts.runtimes {
            let name = p.runtime
            if let shim = p.shim {
                if let path = shim.path {
                    evidence.append("\(name): shim \(path)")
                } else {
                    bad.append("\(name): shim \(shim.name) not found on PATH")
                    evidence.append("\(name): shim \(shim.name) not on PATH")
                }
            }
            guard let binary = p.binary else { continue }
            evidence.append("\(name): options.BinaryName = \(p.binaryName ?? "unset (runc)")")
            guard let path = binary.path else {
                bad.append("\(name): \(binary.name) not found on PATH")
                continue
            }
            guard let run = p.run else {
                // The host's binary seen from a container: its libraries are the host's, not ours.
                ok.append("\(name): \(path) (the host's binary under --root: found, not run from here)")
                continue
            }
            let first = run.firstLine
            switch run.outcome {
            case .exited(0):
                ok.append("\(name): \(path) (\(first))")
            case .exited(let code):
                bad.append("\(name): \(path) --version failed (exit \(code)\(first.isEmpty ? "" : ": \(first)"))")
            case .signaled(let signal):
                bad.append("\(name): \(path) --version was killed by signal \(signal)")
            case .timedOut:
                bad.append("\(name): \(path) --version did not finish within 2 s")
            case .notStarted(let why):
                bad.append("\(name): \(path) --version could not be started: \(why)")
            case .refused(let why):
                refusals += 1
                bad.append("\(name): kctr refused to run \(path) --version as root: \(why)")
            }
        }
        if !bad.isEmpty {
            var fixes: [String] = []
            if refusals > 0 {
                fixes.append("kctr runs a binary as root only if root owns it and every directory above it and nobody else can write them: chown root:root and chmod go-w what is named above, or set BinaryName to a root-owned runc such as /usr/sbin/runc; if nobody set that path, the socket \(socket) may not be containerd's")
            }
            if bad.count > refusals {
                fixes.append("install runc (apt-get install runc) and containerd's shims where containerd's PATH finds them, or set BinaryName in \(f.layout.table(f.layout.runtimeOptions("<name>"))) to the full path; then \(DaemonGroup.restart)")
            }
            return check.fail(bad.joined(separator: "; "), evidence: evidence.joined(separator: "; "), fix: fixes.joined(separator: "; "))
        }
        return check.pass(ok.isEmpty ? "every runtime's shim is on PATH" : ok.joined(separator: "; "),
                          evidence: evidence.isEmpty ? "PATH" : evidence.joined(separator: "; "))
    }

    /// Types whose options are runc's (BinaryName, SystemdCgroup...); an empty type is runc's default.
    static func isRuncLike(_ type: String) -> Bool {
        ["io.containerd.runc.v2", "io.containerd.runc.v1", "io.containerd.runtime.v1.linux", ""].contains(type)
    }

    /// io.containerd.runc.v2 -> containerd-shim-runc-v2; nil for the v1 linux runtime (built in).
    static func shimBinary(_ type: String) -> String? {
        let parts = type.split(separator: ".")
        guard parts.count >= 4, parts[0] == "io", parts[1] == "containerd", type != "io.containerd.runtime.v1.linux" else { return nil }
        return "containerd-shim-\(parts[parts.count - 2])-\(parts[parts.count - 1])"
    }
}
