// swift-tools-version: 6.1
// Benchmarks, kept out of the main package so that `swift build` there stays lean.
import PackageDescription

let package = Package(
    name: "Benchmarks",
    dependencies: [
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        // CUDA conformance (every op vs the CPU backend) and GPU benchmarks in one binary that
        // scripts/gpu-check links statically and ships to a GPU machine.
        .executableTarget(
            name: "gpu-bench",
            dependencies: [.product(name: "RLTensor", package: "swift-rl-reasoning")],
            path: "Sources/gpu-bench",
            exclude: ["torch_baseline.py"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
