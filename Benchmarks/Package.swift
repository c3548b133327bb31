// swift-tools-version: 6.1
// Benchmarks live in their own package so the root `swift build` / `swift test` never compile them.
// Run: cd Benchmarks && swift run -c release math-bench
import PackageDescription

let package = Package(
    name: "Benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "math-bench",
            dependencies: [.product(name: "RLMath", package: "swift-rl-reasoning")],
            path: "Sources/math-bench"
        ),
    ],
    swiftLanguageModes: [.v6]
)
