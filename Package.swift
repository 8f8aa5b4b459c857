// swift-tools-version:6.1
import Foundation
import PackageDescription

/// ozgtrack: tracks the rollout of Germany's online-access law (OZG) region by region and service by service.
///
/// Dependency direction (no arrow points back):
///
///     ozgtrack (CLI) ──▶ Exporters ──▶ OZGCore ──▶ GRDB (SQLite)
///            │               ├──────▶ CLibXML (libxml2)
///            │               ├──────▶ CLibXLSXWriter (libxlsxwriter)
///            │               ├──────▶ CZlib (zlib)
///            │               └──────▶ CISAL (ISA-L: igzip)
///            ├─────────────▶ PostgresStore ──▶ OZGCore, PostgresNIO
///            ├─────────────▶ OZGCore
///            └─▶ OZGService (HTTP: hummingbird) ──▶ Exporters, OZGCore
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "ozgtrack",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "OZGCore", targets: ["OZGCore"]),
        .library(name: "Exporters", targets: ["Exporters"]),
        .library(name: "PostgresStore", targets: ["PostgresStore"]),
        .executable(name: "ozgtrack", targets: ["ozgtrack"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // Domain model, catalogue, regions, the tracking store, report building.
        .target(
            name: "OZGCore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            exclude: ["embed.list", "Catalogue/Packed"],
            swiftSettings: strict,
            plugins: [.plugin(name: "EmbedData")]
        ),
        // The PostgreSQL backend of the store contract, through postgres-nio.
        .target(
            name: "PostgresStore",
            dependencies: [
                "OZGCore", .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Report writers behind one protocol; the XML unit (schema, writer, reader, validator) lives here.
        .target(
            name: "Exporters",
            dependencies: ["OZGCore", "CLibXML", "CLibXLSXWriter", "CZlib", "CISAL"],
            exclude: ["embed.list", "XML/ozgtrack-report-1.xsd"],
            swiftSettings: strict,
            plugins: [.plugin(name: "EmbedData")]
        ),
        // The bridge to libxml2 and nothing else.
        .systemLibrary(
            name: "CLibXML",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // The bridge to libxlsxwriter (the XLSX report) and nothing else.
        .systemLibrary(
            name: "CLibXLSXWriter",
            pkgConfig: "xlsxwriter",
            providers: [.apt(["libxlsxwriter-dev"])]
        ),
        // The bridge to zlib (deflate and CRC-32 of the XLSX report's Daten sheets) and nothing else.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // The bridge to ISA-L's igzip (the fast deflate and CRC-32 of the XLSX report's Daten rows) and nothing else.
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        // The HTTP service (`ozgtrack serve`): adapts HTTP to the libraries' front end and nothing more.
        .target(
            name: "OZGService",
            dependencies: [
                "OZGCore", "Exporters",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["embed.list", "openapi.json"],
            swiftSettings: strict,
            plugins: [.plugin(name: "EmbedData")]
        ),
        // The command-line shell: parse arguments, call the libraries, print.
        .executableTarget(
            name: "ozgtrack",
            dependencies: [
                "OZGCore", "Exporters", "PostgresStore", "OZGService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")],
            // The release build links the Swift runtime and Foundation statically (issue 16 §3, CLI start-up): the
            // dynamic loader then resolves about 8,000 symbols instead of 16,000 against a dozen fewer libraries —
            // `ozgtrack --version` 13.6 → 7.6 ms and `status` 24.7 → 20.5 ms of CPU (`perf stat -r 20`, release;
            // docs/performance.md, "CLI start-up"). The group names the libraries the static Foundation needs
            // beyond what the objects ask for (the objects are compiled against the shared modules); lld (shipped
            // with the toolchain) because gold warns about a `mktemp` inside the static Foundation. Debug builds and
            // the tests stay dynamic.
            linkerSettings: [
                .unsafeFlags(
                    ["-static-stdlib", "-use-ld=lld", "-Xlinker", "--start-group"]
                        + [
                            "Foundation", "FoundationEssentials", "FoundationInternationalization", "_FoundationICU",
                            "_FoundationCollections", "_FoundationCShims", "CoreFoundation", "swiftDispatch", "dispatch",
                            "BlocksRuntime", "swiftSynchronization", "swift_StringProcessing", "swift_RegexParser",
                            "swift_Concurrency", "swiftCore", "stdc++",
                        ].flatMap { ["-Xlinker", "-l\($0)"] } + ["-Xlinker", "--end-group"],
                    .when(platforms: [.linux], configuration: .release))
            ]
        ),
        // Build-time embedding of data files (the catalogue, the XML schema) as raw string literals.
        .plugin(name: "EmbedData", capability: .buildTool(), dependencies: ["EmbedDataTool"], path: "Plugins/EmbedData"),
        .executableTarget(name: "EmbedDataTool", path: "Plugins/EmbedDataTool", swiftSettings: strict),

        // What the test targets share: the PostgreSQL server of the run (`scripts/test.sh`).
        .target(name: "TestSupport", path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(
            name: "OZGCoreTests", dependencies: ["OZGCore", "PostgresStore", "TestSupport"], path: "Tests/OZGCoreTests",
            swiftSettings: strict),
        .testTarget(
            name: "ExportersTests", dependencies: ["Exporters", "OZGCore", "CLibXML"],
            path: "Tests/ExportersTests", swiftSettings: strict),
        .testTarget(
            name: "PostgresStoreTests", dependencies: ["PostgresStore", "OZGCore", "TestSupport"], path: "Tests/PostgresStoreTests",
            swiftSettings: strict),
        .testTarget(
            name: "CLITests", dependencies: ["OZGCore", "ozgtrack", "TestSupport"], path: "Tests/CLITests", swiftSettings: strict),
        // End to end over loopback HTTP against the built `ozgtrack serve`.
        .testTarget(name: "ServiceTests", dependencies: ["ozgtrack", "TestSupport"], path: "Tests/ServiceTests", swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzz targets (libFuzzer), only when asked: `scripts/fuzz.sh` sets OZGTRACK_FUZZ=1, which adds the targets and
// instruments the libraries with -sanitize=fuzzer,address. Normal builds and tests never see any of this.
if ProcessInfo.processInfo.environment["OZGTRACK_FUZZ"] == "1" {
    let sanitize: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address"])]
    for target in package.targets where ["OZGCore", "Exporters"].contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + sanitize
    }
    let fuzzTargets: [(String, [Target.Dependency])] = [
        ("FuzzCSV", ["OZGCore"]), ("FuzzJSON", ["OZGCore"]), ("FuzzKeys", ["OZGCore"]), ("FuzzRegistry", ["OZGCore"]),
        ("FuzzXML", ["Exporters", "OZGCore"]),
    ]
    for (name, dependencies) in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: name, dependencies: dependencies, path: "Fuzz/\(name)",
                swiftSettings: strict + sanitize + [.unsafeFlags(["-parse-as-library"])],
                linkerSettings: [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])]))
    }
}
