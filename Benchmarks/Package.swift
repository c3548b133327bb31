// swift-tools-version: 6.1
// Benchmarks live in their own package so the root `swift build` / `swift test` never compile
// them. One executable target per benchmark; run with `swift run -c release <name>`.
import PackageDescription

let package = Package(
    name: "swift-rl-reasoning-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        // Raw CBLAS for baselines measured beside the library (Debian/Ubuntu: libopenblas-dev).
        .systemLibrary(
            name: "CBLASBaseline",
            path: "Sources/CBLASBaseline",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .executableTarget(
            name: "tensor-bench",
            dependencies: [
                .product(name: "RLTensor", package: "swift-rl-reasoning"),
                "CBLASBaseline",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
