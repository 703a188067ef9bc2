import ArgumentParser
import Dispatch
import Foundation
import KctrCore

/// Runs the command line: parse, run with SIGINT/SIGTERM cancelling the
/// work, print errors as `kctr: ...`, exit with the documented codes.
public enum KctrMain {
    public static func main() async -> Never {
        Session.tuneMemory()
        let args = GlobalArguments.hoist(Array(CommandLine.arguments.dropFirst()))
        if let refusal = GoTemplateRefusal.check(args) { fail(refusal) }
        let command = parse(args)
        do { try FaultPoint.checkEnvironment() } catch { fail(error) }
        guard var asyncCommand = command as? AsyncParsableCommand else {
            var sync = command
            do { try sync.run() } catch { fail(error) }
            exit(0)
        }
        let signals = SignalWatch()
        let task = Task { try await asyncCommand.run() }
        signals.start { task.cancel() }
        do {
            try await task.value
        } catch {
            if let sig = signals.received { interrupted(sig) }
            fail(error)
        }
        if let sig = signals.received { interrupted(sig) }
        exit(0)
    }

    /// Arguments that ask ArgumentParser for text (help, version, completions, the help dump): these are
    /// always parsed with the full configuration.
    static func asksForText(_ args: [String]) -> Bool {
        for a in args {
            if a == "--" { break }
            if ["-h", "--help", "help", "--version"].contains(a) || a.hasPrefix("--generate-completion-script")
                || a.hasPrefix("--experimental") { return true }
        }
        return false
    }

    /// The command the arguments name. Quick parsing (Kctr.configuration) is used unless the arguments ask
    /// for text; when it fails the arguments are parsed again with the full configuration, so that every
    /// message, usage line and exit code is ArgumentParser's own.
    static func parse(_ args: [String]) -> ParsableCommand {
        if !asksForText(args) {
            Kctr.quickParse = true
            defer { Kctr.quickParse = false }
            if let command = try? Kctr.parseAsRoot(args) { return command }
        }
        do {
            return try Kctr.parseAsRoot(args)
        } catch {
            Kctr.exit(withError: error)
        }
    }

    static func interrupted(_ sig: Int32) -> Never {
        Console.err("kctr: interrupted by \(sig == SIGINT ? "SIGINT" : "SIGTERM"): the operation was cancelled and what it held was released\n")
        exit(128 + sig)
    }

    static func fail(_ error: Error) -> Never {
        let error = KctrError.unexplained(error) ?? error
        switch error {
        case let e as KctrError:
            Console.err("kctr: \(e)\n")
            exit(e.exitCode)
        case is CancellationError:
            exit(130)
        case let e as ExitCode:
            // A status to pass on as it is (exec's process), with nothing to print.
            exit(e.rawValue)
        case let e as ValidationError:
            Kctr.exit(withError: e)
        default:
            // ArgumentParser's own outcomes (help, usage errors) keep their codes.
            if Kctr.exitCode(for: error) != .failure { Kctr.exit(withError: error) }
            Console.err("kctr: \(Kctr.fullMessage(for: error))\n")
            exit(1)
        }
    }
}

/// Turns SIGINT/SIGTERM into task cancellation; a second signal, or a
/// command that does not stop within 5 s, exits at once.
final class SignalWatch: @unchecked Sendable {
    // @unchecked: `signal` and `sources` are guarded by `lock`.
    private let lock = NSLock()
    private var signal: Int32?
    private var sources: [DispatchSourceSignal] = []

    var received: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }

    func start(_ onSignal: @escaping @Sendable () -> Void) {
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let first = self.signal == nil
                if first { self.signal = sig }
                self.lock.unlock()
                if !first { exit(128 + sig) }
                onSignal()
                DispatchQueue.global().asyncAfter(deadline: .now() + 5) { exit(128 + sig) }
            }
            source.resume()
            lock.lock()
            sources.append(source)
            lock.unlock()
        }
    }
}
