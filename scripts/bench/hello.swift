// The start-up floor of a Swift program without Foundation (scripts/bench.py builds it with `swiftc -O`):
// the Swift runtime and the standard library load, one line is printed.
print("hello")
