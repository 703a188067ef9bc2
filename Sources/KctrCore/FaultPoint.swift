import Foundation

/// Named points where the fault tests stop kctr to kill containerd at an
/// exact step (e.g. between the unpack and the image record, which takes
/// milliseconds and cannot be hit by timing). With `KCTR_TEST_STOP_AT=NAME`
/// in the environment, kctr stops itself (SIGSTOP) on reaching NAME and goes
/// on when sent SIGCONT; without it, reaching a point does nothing.
///
/// Debug builds only (the integration tests run the debug kctr): a release build (`make release`,
/// `make dist`) has no such variable, and reaching a point does nothing whatever the environment.
public enum FaultPoint {
    #if DEBUG
    static let stopAt: String? = {
        let v = ProcessInfo.processInfo.environment["KCTR_TEST_STOP_AT"]
        return v?.isEmpty == false ? v : nil
    }()
    #endif

    public static func reach(_ name: String) {
        #if DEBUG
        guard let stopAt, stopAt == name else { return }
        raise(SIGSTOP)
        #endif
    }
}
