// swift-tools-version: 6.1
import PackageDescription

// Benchmarks live in their own package so the library's build and tests never depend on them.
// Build and run in release: `swift run -c release --package-path Benchmarks model-bench`.
let package = Package(
    name: "swift-rl-reasoning-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "model-bench",
            dependencies: [
                .product(name: "RLModel", package: "swift-rl-reasoning"),
                .product(name: "RLTensor", package: "swift-rl-reasoning"),
            ],
            path: "Sources/model-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
