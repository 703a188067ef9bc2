// kctr-fuzz: the fuzz targets of KctrFuzz, two ways.
//
// `make fuzz` builds it with libFuzzer (-sanitize=fuzzer -DKCTR_LIBFUZZER): no @main then; the
// entry point SwiftPM links executables with (kctr_fuzz_main, aliased to main) hands over to
// libFuzzer's driver, which calls LLVMFuzzerTestOneInput; KCTR_FUZZ_TARGET picks the target.
//
// The normal build makes a replayer: `kctr-fuzz TARGET FILE|DIR...` runs every file through the
// target once (corpus files, crash reproducers) and exits 0 when none crashed.
import Foundation
import KctrFuzz

#if KCTR_LIBFUZZER
/// Read once: the environment is not rebuilt for every input.
let fuzzTarget = ProcessInfo.processInfo.environment["KCTR_FUZZ_TARGET"] ?? ""

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    if !FuzzTargets.run(fuzzTarget, bytes) {
        FileHandle.standardError.write(Data("kctr-fuzz: set KCTR_FUZZ_TARGET to one of \(FuzzTargets.names.joined(separator: ", "))\n".utf8))
        exit(64)
    }
    return 0
}

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("kctr_fuzz_main")
public func kctrFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) }
}
#else
@main
struct KctrFuzzMain {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let target = arguments.first, FuzzTargets.names.contains(target), arguments.count >= 2 else {
            FileHandle.standardError.write(Data("usage: kctr-fuzz TARGET FILE|DIR... (TARGET: \(FuzzTargets.names.joined(separator: ", ")))\n".utf8))
            exit(64)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FileHandle.standardError.write(Data("kctr-fuzz: \(path) does not exist\n".utf8))
                exit(1)
            }
            let files = isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { "\(path)/\($0)" }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                FuzzTargets.run(target, Array(data))
                count += 1
            }
        }
        print("kctr-fuzz \(target): \(count) inputs replayed, no crash")
    }
}
#endif
