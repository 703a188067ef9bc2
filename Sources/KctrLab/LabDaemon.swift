import Foundation
import KctrRPC

/// The lab daemon's API over one channel, for the fixtures: tests (through the blocking `run`) and kctr-lab.
public enum LabDaemon {
    /// A client on `socket` (a path), each call with a 60 s deadline.
    public static func client(socket: String) throws(RPCError) -> RPCClient {
        let path = socket.hasPrefix("/") ? socket : FileManager.default.currentDirectoryPath + "/" + socket
        return RPCClient(channel: RPCChannel(target: "unix://\(path)"), options: CallOptions(timeoutMilliseconds: 60_000))
    }

    /// Runs `body` against the daemon on `socket` and waits for it (XCTest's tests are synchronous).
    public static func run<T: Sendable>(socket: String, _ body: @escaping @Sendable (RPCClient) async throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<T, Error> = .failure(LabError("not run"))
        Task {
            do {
                result = .success(try await body(try client(socket: socket)))
            } catch {
                result = .failure(error)
            }
            done.signal()
        }
        done.wait()
        return try result.get()
    }

    /// `body` for each of `items`, at most `jobs` at once; the results in the order of `items`.
    public static func map<T: Sendable>(_ items: Range<Int>, jobs: Int,
                                        _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: (Int, T).self) { group in
            var results: [Int: T] = [:]
            var next = items.lowerBound
            while next < items.upperBound || !group.isEmpty {
                while next < items.upperBound, next - items.lowerBound - results.count < max(jobs, 1) {
                    let i = next
                    group.addTask { (i, try await body(i)) }
                    next += 1
                }
                if let (i, value) = try await group.next() { results[i] = value }
            }
            return items.compactMap { results[$0] }
        }
    }
}
