// The start-up floor of a Swift program that imports Foundation (scripts/bench.py builds it with `swiftc -O`):
// Foundation, FoundationEssentials and ICU load and one Foundation call is made, as every ozgtrack command does.
import Foundation

print("hello, \(ProcessInfo.processInfo.processName)")
