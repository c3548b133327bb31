import CRLKernels
import RLTensor
import Testing

/// Thread count and OpenBLAS threading chosen in code. These tests change process-wide settings
/// that other tests' results depend on (a different thread count splits products and sums
/// differently), so `make test` runs them on their own after the rest.
@Suite("ComputeOptions", .serialized)
struct ComputeOptionsTests {
    @Test("setThreadCount changes the pool's count; an exactly representable product is unchanged; bad counts throw")
    func threadCount() throws {
        let original = ComputeOptions.threadCount
        defer { try? ComputeOptions.setThreadCount(original) }
        let a = Tensor((0..<(256 * 256)).map { Float($0 % 7) - 3 }, shape: [256, 256])
        let expected = a.matmul(a).toFloatArray()
        try ComputeOptions.setThreadCount(1)
        #expect(ComputeOptions.threadCount == 1 && CPUBackend.shared.threadCount == 1)
        #expect(a.matmul(a).toFloatArray() == expected)
        try ComputeOptions.setThreadCount(3)
        #expect(ComputeOptions.threadCount == 3)
        #expect(a.matmul(a).toFloatArray() == expected)
        #expect(throws: ComputeOptionsError.invalidThreadCount(0)) { try ComputeOptions.setThreadCount(0) }
        #expect(throws: ComputeOptionsError.invalidThreadCount(-2)) { try ComputeOptions.setThreadCount(-2) }
        #expect(ComputeOptions.threadCount == 3)
    }

    @Test("the library sets OpenBLAS to one thread before its products unless told to leave it alone")
    func openBLASThreads() throws {
        let a = Tensor((0..<(256 * 256)).map { Float($0 % 5) }, shape: [256, 256])
        defer { ComputeOptions.setsOpenBLASThreads = true }
        _ = ComputeOptions.openBLASThreadCount  // loads OpenBLAS
        ComputeOptions.setsOpenBLASThreads = false
        rl_blas_set_num_threads(2)
        // An OpenBLAS built without threads reports 1 whatever it is told.
        let threaded = ComputeOptions.openBLASThreadCount == 2
        _ = a.matmul(a).toFloatArray()
        if threaded { #expect(ComputeOptions.openBLASThreadCount == 2, "the library changed OpenBLAS's threads although told not to") }
        ComputeOptions.setsOpenBLASThreads = true
        _ = a.matmul(a).toFloatArray()
        #expect(ComputeOptions.openBLASThreadCount == 1)
    }
}
