// swift-tools-version: 6.1
// Benchmarks live in their own package so `swift build` / `swift test` at the root never compile
// them. Run one with `swift run -c release <name>` from this folder.
import PackageDescription

let package = Package(
    name: "swift-rl-reasoning-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "grpo-bench",
            dependencies: [
                .product(name: "RLReasoning", package: "swift-rl-reasoning"),
                .product(name: "RLModel", package: "swift-rl-reasoning"),
                .product(name: "RLTensor", package: "swift-rl-reasoning"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
