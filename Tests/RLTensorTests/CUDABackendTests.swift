import RLTensor
import Testing
import RLTensorConformance

#if canImport(Glibc)
import Glibc
#endif

/// Every ComputeBackend op on CUDA against the CPU backend (the cases live in
/// `CUDAConformance`, shared with the `gpu-check` binary). Skipped, with the reason printed, when
/// no GPU is usable; `RLTENSOR_REQUIRE_CUDA=1` turns the skip into a failure so the suite never
/// passes vacuously where a GPU is expected.
@Suite("CUDA backend vs CPU", .serialized)
struct CUDABackendTests {
    static let availability = CUDABackend.availability()
    static var required: Bool { getenv("RLTENSOR_REQUIRE_CUDA").map { String(cString: $0) == "1" } ?? false }
    static let enabled: Bool = {
        if !availability.isAvailable && !required { print("CUDA backend tests skipped: \(availability.description)") }
        return availability.isAvailable || required
    }()

    @Test(.enabled(if: CUDABackendTests.enabled, "no usable CUDA GPU"), arguments: CUDAConformance.caseNames)
    func matchesTheCPU(_ name: String) throws {
        guard CUDABackendTests.availability.isAvailable else {
            Issue.record("RLTENSOR_REQUIRE_CUDA=1 but CUDA is unavailable: \(CUDABackendTests.availability.description)")
            return
        }
        let gpu = try CUDABackend.shared()
        let outcomes = CUDAConformance.run(on: gpu, include: { $0 == name })
        #expect(outcomes.count == 1)
        for outcome in outcomes { for failure in outcome.failures { Issue.record("\(name): \(failure)") } }
    }

    @Test func unavailabilityIsExplained() {
        let a = CUDABackend.availability()
        #expect(!a.description.isEmpty)
        if !a.isAvailable { #expect(throws: CUDAError.self) { try CUDABackend.shared() } }
    }
}
