import Testing

@testable import RLTensor

/// OpenBLAS's core is chosen from the CPU's features, not left to OpenBLAS's model table (which
/// sends CPUs newer than the library to its SSE3 "Prescott" kernels). The CPUs below are recorded
/// feature sets, so the choice is tested whatever machine runs the tests.
@Suite("OpenBLAS core selection")
struct BLASLibraryTests {
    static let machines: [(name: String, cpu: CPUFeatures, core: String?)] = [
        ("Haswell", CPUFeatures(vendor: .intel, avx: true, avx2: true, fma: true), "HASWELL"),
        ("Zen 3", CPUFeatures(vendor: .amd, avx: true, avx2: true, fma: true), "ZEN"),
        ("Ice Lake", CPUFeatures(vendor: .intel, avx: true, avx2: true, fma: true, avx512: true), "SKYLAKEX"),
        ("Zen 4", CPUFeatures(vendor: .amd, avx: true, avx2: true, fma: true, avx512: true, avx512BF16: true), "COOPERLAKE"),
        ("Sapphire Rapids", CPUFeatures(vendor: .intel, avx: true, avx2: true, fma: true, avx512: true, avx512BF16: true,
                                        avx512FP16: true, amxBF16: true), "COOPERLAKE"),
        ("Sandy Bridge", CPUFeatures(vendor: .intel, avx: true), "SANDYBRIDGE"),
        ("no AVX", CPUFeatures(vendor: .intel), nil),
    ]

    @Test(arguments: machines.indices)
    func coreForRecordedMachine(_ index: Int) {
        let machine = Self.machines[index]
        #expect(BLASLibrary.core(for: machine.cpu) == machine.core, "\(machine.name)")
        let expected: BLASStatus.Choice = machine.core.map { .named($0) } ?? .automatic
        #expect(BLASLibrary.choice(for: machine.cpu, environment: [:]) == expected, "\(machine.name)")
    }

    @Test func usersCoreTypeIsRespectedAndAutoLeavesItToOpenBLAS() {
        let zen4 = Self.machines[3].cpu
        #expect(BLASLibrary.choice(for: zen4, environment: ["OPENBLAS_CORETYPE": "Haswell"]) == .user("Haswell"))
        #expect(BLASLibrary.choice(for: zen4, environment: ["OPENBLAS_CORETYPE": "Haswell", "RL_OPENBLAS_CORETYPE": "auto"])
                == .user("Haswell"))
        #expect(BLASLibrary.choice(for: zen4, environment: ["RL_OPENBLAS_CORETYPE": "auto"]) == .automatic)
        #expect(BLASLibrary.choice(for: zen4, environment: ["RL_OPENBLAS_CORETYPE": "prescott"]) == .named("PRESCOTT"))
    }

    /// The misdetection as it happened on a recent Xeon, replayed: the core OpenBLAS reports is an
    /// input, and a core other than the named one is reported in one line.
    @Test func aCoreOtherThanTheNamedOneGivesANotice() {
        let xeon = Self.machines[4].cpu
        var status = BLASStatus(cpu: xeon, choice: .named("COOPERLAKE"), library: "/lib/libopenblas.so.0",
                                config: "OpenBLAS 0.3.21 DYNAMIC_ARCH Prescott", core: "Prescott", error: nil, kernels: "AVX-512")
        let notice = status.notice ?? ""
        #expect(notice.contains("COOPERLAKE") && notice.contains("Prescott") && notice.contains("OPENBLAS_CORETYPE"), "\(notice)")
        #expect(!notice.contains("\n"))
        status.core = "Cooperlake"
        #expect(status.notice == nil)
        status.choice = .user("PRESCOTT")
        status.core = "Prescott"
        #expect(status.notice == nil, "the user's choice is not second-guessed")
        status.error = "OpenBLAS not found (tried libopenblas.so.0)"
        #expect(status.notice?.contains("not found") == true)
    }

    /// On this machine: OpenBLAS loaded, runs the core chosen for this CPU, and multiplies.
    @Test func thisMachineRunsTheChosenCore() {
        let status = CPUBackend.shared.blas
        #expect(status.error == nil, "\(status)")
        if case .named(let core) = status.choice { #expect(status.core.uppercased() == core, "\(status)") }
        #expect(status.notice == nil, "\(status)")
        // 40 x 50 times 50 x 30 goes to OpenBLAS's sgemm (no transposed weight: not a few-row product).
        let av: [Float] = (0..<2000).map { Float($0 % 7) - 3 }, bv: [Float] = (0..<1500).map { Float($0 % 5) - 2 }
        var expected = [Float](repeating: 0, count: 1200)
        for i in 0..<40 { for j in 0..<30 { for k in 0..<50 { expected[i * 30 + j] += av[i * 50 + k] * bv[k * 30 + j] } } }
        let product = Tensor(av, shape: [40, 50]).matmul(Tensor(bv, shape: [50, 30]))
        #expect(product.toFloatArray() == expected)
    }
}
