import Foundation

/// Named points where the fault tests stop kctr to kill containerd at an
/// exact step (e.g. between the unpack and the image record, which takes
/// milliseconds and cannot be hit by timing). With `KCTR_TEST_STOP_AT=NAME`
/// in the environment, kctr stops itself (SIGSTOP) on reaching NAME and goes
/// on when sent SIGCONT; without it, reaching a point does nothing.
public enum FaultPoint {
    static let stopAt: String? = {
        let v = ProcessInfo.processInfo.environment["KCTR_TEST_STOP_AT"]
        return v?.isEmpty == false ? v : nil
    }()

    public static func reach(_ name: String) {
        guard let stopAt, stopAt == name else { return }
        raise(SIGSTOP)
    }
}
