// swift-tools-version: 6.1
// Benchmarks: a separate package, so the root `swift build` / `swift test` never compile them.
// Run from this folder: `swift run -c release <benchmark>`.
import PackageDescription

let package = Package(
    name: "swift-rl-reasoning-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "tokenizer-bench",
            dependencies: [.product(name: "RLModel", package: "swift-rl-reasoning")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
