import ArgumentParser
import Foundation
import XCTest
@testable import KctrCommands

/// Walks every command kctr has (new ones included) and holds each short flag to its help text and to the rule:
/// before the command -a/-n are ctr's address and namespace; after a command crictl also has, short flags mean
/// what they mean to crictl (or nothing); after every other command -a/-n are still the address and namespace.
final class ShortFlagsTests: XCTestCase {
    /// crictl 1.36's short flags, per command (`crictl CMD --help`), -h left out.
    static let crictl: [String: [Character: String]] = [
        "ps": ["a": "all", "n": "last", "l": "latest", "o": "output", "p": "pod", "q": "quiet", "r": "resolve-image-path", "s": "state", "v": "verbose"],
        "pods": ["n": "last", "l": "latest", "o": "output", "q": "quiet", "s": "state", "v": "verbose"],
        "images": ["f": "filter", "o": "output", "q": "quiet", "v": "verbose"],
        "inspect": ["a": "all", "n": "last", "l": "latest", "o": "output", "p": "pod", "q": "quiet", "s": "state"],
        "inspectp": ["n": "last", "l": "latest", "o": "output", "q": "quiet", "s": "state"],
        "inspecti": ["f": "filter", "o": "output", "q": "quiet"],
        "logs": ["f": "follow", "p": "previous", "r": "reopen", "s": "stream", "t": "timestamps"],
        "stats": ["a": "all", "o": "output", "p": "pod", "s": "seconds", "w": "watch"],
        "statsp": ["o": "output", "s": "seconds", "w": "watch"],
        "exec": ["e": "ignore-errors", "i": "interactive", "n": "last", "l": "latest", "x": "parallel", "p": "pod", "q": "quiet",
                 "s": "sync", "r": "transport", "t": "tty"],
        "pull": ["a": "annotation"],
        "rmi": ["a": "all", "q": "prune"],
        "rm": ["a": "all", "f": "force", "k": "keep-logs"],
        "rmp": ["a": "all", "f": "force"],
        "stop": ["a": "all", "t": "timeout"],
        "stopp": [:],
        "info": ["o": "output", "q": "quiet"],
        "version": [:],
        "imagefsinfo": ["o": "output"],
    ]

    /// kctr paths whose crictl command has another name; any other one-word path crictl has is crictl's.
    static let crictlName: [String: String] = [
        "containers ps": "ps", "containers inspect": "inspect", "pods ls": "pods", "pods inspect": "inspectp",
        "images ls": "images", "images inspect": "inspecti", "images pull": "pull",
        "pods stop": "stopp", "pods rm": "rmp",
    ]

    static func crictlCommand(_ path: [String]) -> String? {
        let joined = path.joined(separator: " ")
        if let name = crictlName[joined] { return name }
        return path.count == 1 && crictl[joined] != nil ? joined : nil
    }

    struct Leaf {
        var path: [String]
        var type: ParsableCommand.Type
        /// Positional arguments that make the command parse.
        var base: [String]
    }

    static func leaves(_ type: ParsableCommand.Type = Kctr.self, _ path: [String] = []) -> [(path: [String], type: ParsableCommand.Type)] {
        let subs = type.configuration.subcommands
        if subs.isEmpty { return [(path, type)] }
        return subs.flatMap { sub in leaves(sub, path + [sub._commandName]) }
    }

    /// As kctr parses its command line.
    static func parse(_ args: [String]) -> ParsableCommand? { try? Kctr.parseAsRoot(GlobalArguments.hoist(args)) }

    /// The arguments after the command's path, parsed by the command itself: what the root does once it has found
    /// the command (no command above a leaf has options, and nothing after the path is rewritten), without the
    /// debug build's walk of the whole tree on every parse (0.1 s each).
    /// With the leaf's positional arguments, else without them (`rm -a`, `rmi -q` take no IDs).
    static func parse(_ leaf: Leaf, _ args: [String]) -> ParsableCommand? {
        (try? leaf.type.parseAsRoot(args + leaf.base)) ?? (args.isEmpty ? nil : try? leaf.type.parseAsRoot(args))
    }

    static func state(_ command: ParsableCommand) -> String {
        var out = ""
        dump(command, to: &out)
        return out
    }

    static let baseCandidates: [[String]] = [[], ["x"], ["x", "y"], ["x", "--", "true"]]
    static let valueCandidates = ["1", "yaml", "json", "running", "ready", "stdout", "10s", "linux/amd64", "x"]

    func allLeaves() throws -> [Leaf] {
        var out: [Leaf] = []
        for (path, type) in Self.leaves() {
            let base = try XCTUnwrap(Self.baseCandidates.first { Self.parse(path + $0) != nil },
                                     "\(path.joined(separator: " ")) parses with none of the positional arguments tried")
            out.append(Leaf(path: path, type: type, base: base))
        }
        XCTAssertGreaterThan(out.count, 15)
        return out
    }

    /// `-x, --long[, --alias] <value>` lines of the command's help: letter -> long names, and whether it takes a value.
    static func helpShorts(_ type: ParsableCommand.Type) -> [Character: (longs: [String], takesValue: Bool)] {
        let help = Kctr.helpMessage(for: type, columns: 1000)
        var out: [Character: (longs: [String], takesValue: Bool)] = [:]
        for line in help.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first, first.count == 3 || first.count == 2, first.hasPrefix("-"), !first.hasPrefix("--"),
                  let letter = first.dropFirst().first, letter.isLetter else { continue }
            var longs: [String] = []
            var takesValue = false
            for w in words.dropFirst() {
                let word = w.hasSuffix(",") ? w.dropLast() : w
                if word.hasPrefix("--") {
                    longs.append(String(word.dropFirst(2)))
                } else if word.hasPrefix("<") {
                    takesValue = true
                    break
                } else {
                    break
                }
            }
            if letter != "h" { out[letter] = (longs, takesValue) }
        }
        return out
    }

    /// Both spellings parsed with the first value tried that changes something (else the last that parses).
    func parsedPair(_ leaf: Leaf, short: String, long: String, takesValue: Bool, plain: String) -> (ParsableCommand, ParsableCommand)? {
        var found: (ParsableCommand, ParsableCommand)?
        for value in takesValue ? Self.valueCandidates : [""] {
            let v = takesValue ? [value] : []
            if let a = Self.parse(leaf, [short] + v), let b = Self.parse(leaf, [long] + v) {
                found = (a, b)
                if Self.state(a) != plain { break }
            }
        }
        return found
    }

    func testEveryShortFlagInTheHelpIsTheLongOneItNames() throws {
        for leaf in try allLeaves() {
            let name = leaf.path.joined(separator: " ")
            let plain = Self.state(try XCTUnwrap(Self.parse(leaf, [])))
            for (letter, entry) in Self.helpShorts(leaf.type) {
                let long = try XCTUnwrap(entry.longs.first, "\(name) -\(letter): no long name in the help")
                guard let (short, spelled) = parsedPair(leaf, short: "-\(letter)", long: "--\(long)", takesValue: entry.takesValue, plain: plain) else {
                    XCTFail("\(name): the help lists -\(letter), --\(long), but the parser takes neither with any value tried")
                    continue
                }
                XCTAssertEqual(Self.state(short), Self.state(spelled), "\(name): -\(letter) is not what the help says (--\(long))")
                XCTAssertNotEqual(Self.state(short), plain, "\(name): -\(letter) changes nothing")
            }
        }
    }

    func testNoShortFlagTheHelpLeavesOut() throws {
        // Lower case: every short flag crictl and ctr have is (a parse takes 0.05 s in a debug build).
        let letters = "abcdefgijklmnopqrstuvwxyz"
        for leaf in try allLeaves() {
            let listed = Self.helpShorts(leaf.type)
            for letter in letters where listed[letter] == nil {
                for extra in [[], ["1"]] {
                    XCTAssertNil(Self.parse(leaf, ["-\(letter)"] + extra),
                                 "\(leaf.path.joined(separator: " ")) takes -\(letter) \(extra.joined()), which its help does not list")
                }
            }
        }
    }

    func testAfterCrictlsCommandsShortFlagsAreCrictls() throws {
        var checked = 0
        for leaf in try allLeaves() {
            guard let crictlName = Self.crictlCommand(leaf.path) else { continue }
            checked += 1
            let crictl = try XCTUnwrap(Self.crictl[crictlName])
            let name = leaf.path.joined(separator: " ")
            for (letter, entry) in Self.helpShorts(leaf.type) {
                if let theirs = crictl[letter] {
                    XCTAssertTrue(entry.longs.contains(theirs), "\(name) -\(letter) is --\(entry.longs.joined(separator: "/")); crictl \(crictlName) -\(letter) is --\(theirs)")
                }
                for connection in ["address", "namespace", "containerd-namespace"] {
                    XCTAssertFalse(entry.longs.contains(connection), "\(name) -\(letter) is --\(connection): after crictl's commands only the long name")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 14)
    }

    func testAfterEveryOtherCommandDashAAndDashNAreCtrs() throws {
        var checked = 0
        for leaf in try allLeaves() where Self.crictlCommand(leaf.path) == nil {
            checked += 1
            let shorts = Self.helpShorts(leaf.type)
            let name = leaf.path.joined(separator: " ")
            XCTAssertEqual(shorts["a"]?.longs, ["address"], "\(name) -a")
            XCTAssertEqual(shorts["n"]?.longs, ["namespace"], "\(name) -n")
        }
        XCTAssertGreaterThanOrEqual(checked, 8)
    }

    /// A value of type T anywhere in a parsed command (option groups included).
    static func find<T>(_ type: T.Type, in value: Any, depth: Int = 0) -> T? {
        if let found = value as? T { return found }
        guard depth < 8 else { return nil }
        for child in Mirror(reflecting: value).children {
            if let found = find(type, in: child.value, depth: depth + 1) { return found }
        }
        return nil
    }

    func testBeforeEveryCommandDashAAndDashNAreTheAddressAndNamespace() throws {
        for leaf in try allLeaves() {
            let name = leaf.path.joined(separator: " ")
            for leading in [["-a", "/s", "-n", "ns", "--timeout", "5s"], ["--address=/s", "--namespace=ns", "--debug"]] {
                let parsed = try XCTUnwrap(Self.parse(leading + leaf.path + leaf.base), "kctr \(leading.joined(separator: " ")) \(name)")
                let settings = try XCTUnwrap(Self.find(ConnectionSettings.self, in: parsed), name)
                XCTAssertEqual(settings.address, "/s", name)
                XCTAssertEqual(settings.namespace, "ns", name)
            }
        }
    }

    func testPodsDashNIsLastAndSaysWhereTheKubernetesNamespaceGoes() {
        for command in [["pods"], ["ps"]] {
            XCTAssertThrowsError(try Kctr.parseAsRoot(GlobalArguments.hoist(command + ["-n", "kube-system"]))) { error in
                XCTAssertEqual(Kctr.exitCode(for: error).rawValue, 64)
                let message = Kctr.message(for: error)
                XCTAssertTrue(message.contains("-n is --last after ps and pods, as in crictl; for a Kubernetes namespace use --namespace kube-system"), message)
            }
        }
    }
}
