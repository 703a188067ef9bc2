#if canImport(Glibc)
import Glibc
#endif

/// The process's umask, and the mode a new file gets under it.
///
/// kctr writes its archives to a temp file of mode 0600 and renames it into place; the final mode is
/// what the shell's `>` would give (0666 with the umask's bits cleared: 0644 under 022, 0640 under 027).
enum Umask {
    /// The mode `>` gives a new file under `umask`.
    static func fileMode(umask: mode_t) -> mode_t { 0o666 & ~umask & 0o777 }

    /// The umask now, read from /proc/self/status (`Umask:` line, Linux 4.7+), which does not change it.
    /// Without that line (no /proc), umask(2) is set and put back at once: another thread creating a
    /// file in between would get mode 0600 at worst, never a wider one.
    static func current(status: () -> String? = { try? SmallFile.text("/proc/self/status") }) -> mode_t {
        if let text = status(), let mask = parse(status: text) { return mask }
        let mask = umask(0o077)
        umask(mask)
        return mask
    }

    /// The `Umask:` line of a /proc/PID/status text, e.g. "Umask:\t0022".
    static func parse(status text: String) -> mode_t? {
        for line in text.split(separator: "\n") where line.hasPrefix("Umask:") {
            let value = line.dropFirst("Umask:".count).drop { $0 == " " || $0 == "\t" }
            guard let mask = mode_t(value, radix: 8), mask <= 0o777 else { return nil }
            return mask
        }
        return nil
    }
}
