import Foundation

/// Named points where the fault and race tests hold kctr at an exact step: between the unpack and the image
/// record (milliseconds, which no timing can hit), or between listing pods and reading one's status. With
/// `KCTR_TEST_FAULT=POINT:ACTION` in the environment, reaching POINT does ACTION:
/// - `stop`: kctr stops itself (SIGSTOP) and goes on when sent SIGCONT (`import-after-upload:stop`);
/// - `gate=PATH`: kctr creates `PATH.listed`, then waits (at most 10 s) until `PATH` exists (`status-read:gate=/tmp/g`).
/// Without the variable, reaching a point does nothing; a value that is not `POINT:ACTION` is a usage error
/// (`checkEnvironment`), so that a misspelt point cannot leave a test waiting for a stop that never comes.
///
/// Debug builds only (the integration tests run the debug kctr): a release build (`make release`, `make dist`)
/// reads no such variable, and reaching a point does nothing whatever the environment.
public enum FaultPoint: String, CaseIterable, Sendable {
    /// An import, after the first chunk of a layer was sent.
    case importMidBlob = "import-mid-blob"
    /// An import, once every blob is written under its lease.
    case importAfterUpload = "import-after-upload"
    case importBeforeRecord = "import-before-record"
    case importAfterRecord = "import-after-record"
    /// `inspect`/`inspectp`, between resolving the ID prefix (a listing) and reading the status.
    case statusRead = "status-read"

    public enum Action: Equatable, Sendable {
        case stop
        case gate(path: String)
    }

    #if DEBUG
    static let variable = "KCTR_TEST_FAULT"

    /// `POINT:ACTION` read, nil for an empty value.
    static func parse(_ value: String) throws(KctrError) -> (point: FaultPoint, action: Action)? {
        if value.isEmpty { return nil }
        let hint = "points: \(allCases.map(\.rawValue).joined(separator: ", ")); actions: stop, gate=PATH"
        guard let colon = value.firstIndex(of: ":"), let point = FaultPoint(rawValue: String(value[..<colon])) else {
            throw KctrError.usage("\(variable)=\(value) does not start with a known point and a colon", hint: hint)
        }
        let action = value[value.index(after: colon)...]
        if action == "stop" { return (point, .stop) }
        if action.hasPrefix("gate="), action.count > 5 { return (point, .gate(path: String(action.dropFirst(5)))) }
        throw KctrError.usage("\(variable)=\(value) has no known action after \(point.rawValue):", hint: hint)
    }

    static let configured: Result<(point: FaultPoint, action: Action)?, KctrError> = {
        Result { () throws(KctrError) in try parse(ProcessInfo.processInfo.environment[variable] ?? "") }
    }()
    #endif

    /// Refuses a malformed `KCTR_TEST_FAULT` before any work starts (debug builds; nothing in release).
    public static func checkEnvironment() throws(KctrError) {
        #if DEBUG
        _ = try configured.get()
        #endif
    }

    /// Does what `KCTR_TEST_FAULT` asks at this point, if it names it. Synchronous, so that points inside
    /// blocking code can be reached too: a gate blocks its thread while it waits (a test hook, 10 s at most).
    public func reach() {
        #if DEBUG
        guard case .success(let fault?) = Self.configured, fault.point == self else { return }
        switch fault.action {
        case .stop:
            raise(SIGSTOP)
        case .gate(let path):
            FileManager.default.createFile(atPath: path + ".listed", contents: nil)
            for _ in 0..<500 where !FileManager.default.fileExists(atPath: path) {
                usleep(20_000)
            }
        }
        #endif
    }
}
