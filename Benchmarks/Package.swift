// swift-tools-version: 6.1
// Benchmarks live in their own package so `swift build` / `swift test` at the root never compile
// them. Run one with `swift run -c release <name>` from this folder.
import PackageDescription

let package = Package(
    name: "swift-rl-reasoning-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named explicitly: a path package's identity would otherwise be its folder's name.
        .package(name: "swift-rl-reasoning", path: ".."),
    ],
    targets: [
        // Matmul vs raw sgemm (the OpenBLAS instance the library loaded, and each core forced),
        // fused ops vs memcpy bandwidth, attention.
        .executableTarget(
            name: "tensor-bench",
            dependencies: [.product(name: "RLTensor", package: "swift-rl-reasoning")]
        ),
        // Answer-checker throughput and latency (peer: peer/mathverify_peer.py).
        .executableTarget(
            name: "math-bench",
            dependencies: [.product(name: "RLMath", package: "swift-rl-reasoning")],
            path: "Sources/math-bench"
        ),
        // Tokenizer encode throughput on the eval problems (peer: peer/tokenizer_peer.py).
        .executableTarget(
            name: "tokenizer-bench",
            dependencies: [.product(name: "RLModel", package: "swift-rl-reasoning")]
        ),
        // The "mini" Qwen2: bandwidth, decode with roofline, sampling, prefill, training step (issue 4).
        .executableTarget(
            name: "model-bench",
            dependencies: [
                .product(name: "RLModel", package: "swift-rl-reasoning"),
                .product(name: "RLTensor", package: "swift-rl-reasoning"),
            ],
            path: "Sources/model-bench"
        ),
        // One GRPO step of the trainer on the 1.5B shapes with LoRA: time and peak RSS beside the memory plan (issue 13).
        .executableTarget(
            name: "grpo-memory-bench",
            dependencies: [
                .product(name: "RLModel", package: "swift-rl-reasoning"),
                .product(name: "RLReasoning", package: "swift-rl-reasoning"),
                .product(name: "RLTensor", package: "swift-rl-reasoning"),
            ],
            path: "Sources/grpo-memory-bench"
        ),
        // The MPI path: all-reduce bus bandwidth against memcpy, and a GRPO step on 1 rank vs 2
        // (run by collective-bench.sh under mpirun; issue 15).
        .executableTarget(
            name: "collective-bench",
            dependencies: [
                .product(name: "RLDistributed", package: "swift-rl-reasoning"),
                .product(name: "RLReasoning", package: "swift-rl-reasoning"),
                .product(name: "RLModel", package: "swift-rl-reasoning"),
                .product(name: "RLTensor", package: "swift-rl-reasoning"),
            ]
        ),
        // One GRPO step on the "mini" Qwen2, split into its parts (issue 5's grpo.step.mini).
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
