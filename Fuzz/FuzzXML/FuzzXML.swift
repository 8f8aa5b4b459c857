// A libFuzzer target; build and run it with scripts/fuzz.sh.
import Exporters

/// libFuzzer's driver (from its runtime, linked by -sanitize=fuzzer).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// SwiftPM names an executable's entry point after its module; libFuzzer's own main is then not linked, and this
/// one hands over to libFuzzer's driver.
@_cdecl("FuzzXML_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in
        XMLFuzzEntry.xml(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
}
