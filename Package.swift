// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-rl-reasoning",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RLMath", targets: ["RLMath"]),
        .library(name: "RLTensor", targets: ["RLTensor"]),
        .library(name: "RLModel", targets: ["RLModel"]),
        .library(name: "RLDistributed", targets: ["RLDistributed"]),
        .library(name: "RLReasoning", targets: ["RLReasoning"]),
        .library(name: "RLApp", targets: ["RLApp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // `swift package generate-documentation` (DocC catalogs under Sources/<target>/<target>.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // Layers, lowest first. An arrow in docs/DESIGN is the only allowed import direction.
        .target(name: "RLMath"),
        // Hot CPU loops in C (vectorised; AVX2/AVX-512 kernels picked at run time on x86-64), the
        // worker pool, CPUID, and OpenBLAS loaded at run time (dlopen) with a core chosen for the CPU.
        .target(name: "CRLKernels"),
        .target(
            name: "RLTensor",
            dependencies: ["CRLKernels"],
            // CUDA kernels, compiled at run time by NVRTC (see Sources/RLTensor/CUDA).
            resources: [
                .embedInCode("CUDA/Kernels/rl_common.cuh"),
                .embedInCode("CUDA/Kernels/elementwise.cu"),
                .embedInCode("CUDA/Kernels/reduce.cu"),
                .embedInCode("CUDA/Kernels/random.cu"),
                .embedInCode("CUDA/Kernels/softmax.cu"),
                .embedInCode("CUDA/Kernels/layers.cu"),
                .embedInCode("CUDA/Kernels/attention.cu"),
                .embedInCode("CUDA/Kernels/gemv.cu"),
                .embedInCode("CUDA/Kernels/sampling.cu"),
            ]
        ),
        // Test-only (not a product): every CUDA op against the CPU backend, shared by the tests and
        // the gpu-check binary.
        .target(name: "RLTensorConformance", dependencies: ["RLTensor"]),
        .target(name: "RLModel", dependencies: ["RLTensor", "CRLKernels"]),
        // Collectives for data-parallel runs: one process, or MPI opened at run time (dlopen).
        // NCCL's entry points resolved at run time (C: ncclCommInitRank takes its id by value).
        .target(name: "CRLDistributed"),
        .target(name: "RLDistributed", dependencies: ["RLTensor", "CRLDistributed"]),
        // The evaluation benchmarks of Data/eval, compiled into the binary (C23 #embed).
        .target(name: "CRLBenchmarkData"),
        .target(name: "RLReasoning", dependencies: ["RLModel", "RLTensor", "RLMath", "RLDistributed", "CRLBenchmarkData"]),
        // What the executables add to the library: YAML recipes (Yams), the HTML report, terminal
        // progress, the paper's comparison table.
        .target(name: "RLApp", dependencies: ["RLReasoning", "RLModel", "RLTensor", .product(name: "Yams", package: "Yams"),
                                              .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Examples: one executable per job (Examples/<name>/main.swift).
        .executableTarget(
            name: "grpo-train",
            dependencies: ["RLApp", "RLReasoning", "RLModel", "RLTensor", "RLDistributed", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/grpo-train"
        ),
        .executableTarget(
            name: "tiny-grpo",
            dependencies: ["RLApp", "RLReasoning", "RLModel", "RLTensor", "RLMath",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/tiny-grpo"
        ),
        .executableTarget(
            name: "evaluate",
            dependencies: ["RLApp", "RLReasoning", "RLModel", "RLTensor", "RLMath", "RLDistributed",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/evaluate"
        ),
        .executableTarget(
            name: "lm",
            dependencies: ["RLModel", "RLTensor", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/lm"
        ),
        // The CUDA conformance suite and GPU benchmarks, for a GPU machine without Swift
        // (scripts/gpu-check links it statically and packs it with its libraries).
        .executableTarget(
            name: "gpu-check",
            dependencies: ["RLTensor", "RLTensorConformance", "RLModel", "RLReasoning", "RLDistributed"],
            path: "Examples/gpu-check",
            exclude: ["torch_baseline.py"]
        ),
        // The collectives checked on the ranks of an MPI job (`mpirun -np 2 mpi-check`).
        .executableTarget(name: "mpi-check", dependencies: ["RLDistributed", "RLTensor"], path: "Examples/mpi-check"),
        .executableTarget(
            name: "check-answer",
            dependencies: ["RLMath", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/check-answer"
        ),

        // Test-only: locates Tests/Fixtures and Data/ inside the clone (not a product).
        .target(name: "RLTestSupport", dependencies: ["RLReasoning", "RLModel"], path: "Tests/TestSupport"),
        .testTarget(name: "RLTensorTests", dependencies: ["RLTensor", "RLTensorConformance"]),
        .testTarget(name: "RLDistributedTests", dependencies: ["RLDistributed", "RLTensor", "RLTestSupport", "mpi-check"]),
        .testTarget(name: "RLModelTests", dependencies: ["RLModel", "RLTestSupport", "lm"]),
        .testTarget(name: "RLReasoningTests", dependencies: ["RLReasoning", "RLModel", "RLTensor", "RLTestSupport"]),
        .testTarget(name: "RLMathTests", dependencies: ["RLMath", "RLTestSupport", "check-answer"]),
        .testTarget(name: "RLAppTests", dependencies: ["RLApp", "RLReasoning", "RLTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
