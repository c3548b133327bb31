import RLTensor
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every embedded CUDA kernel compiles with NVRTC to a CUBIN for Ampere (sm_80) and Hopper
/// (sm_90). Needs only NVRTC (no GPU, no driver): CI installs it from PyPI
/// (`scripts/ci-cuda-compile`) and sets `RLTENSOR_REQUIRE_NVRTC=1`, which turns a missing NVRTC
/// into a failure instead of a skip.
@Suite("CUDA kernels compile (NVRTC)")
struct CUDACompileTests {
    static let nvrtc = NVRTC.load()
    static var required: Bool { getenv("RLTENSOR_REQUIRE_NVRTC").map { String(cString: $0) == "1" } ?? false }
    static let runnable: Bool = {
        if case .success = nvrtc { return true }
        if case .failure(let e) = nvrtc, !required { print("CUDA compile tests skipped: \(e)") }
        return required
    }()

    static let architectures = ["sm_80", "sm_90"]

    @Test(.enabled(if: CUDACompileTests.runnable, "NVRTC not found (set RLTENSOR_CUDA_PATH or install nvidia-cuda-nvrtc)"),
          arguments: CUDAKernelSources.files.map(\.name), CUDACompileTests.architectures)
    func kernelCompiles(file: String, architecture: String) throws {
        let nvrtc = try CUDACompileTests.nvrtc.get()
        let source = try #require(CUDAKernelSources.files.first { $0.name == file }).source
        let cubin = try CUDAKernelSources.cubin(file: file, source: source, architecture: architecture, nvrtc: nvrtc, useDiskCache: false)
        // An ELF image for the right machine (EM_CUDA = 190) holding every entry point.
        #expect(cubin.count > 64)
        #expect(Array(cubin.prefix(4)) == [0x7f, 0x45, 0x4c, 0x46])
        #expect(Int(cubin[18]) | Int(cubin[19]) << 8 == 190)
        let entryPoints = CUDAKernelSources.entryPoints(in: source)
        #expect(!entryPoints.isEmpty)
        for name in entryPoints {
            #expect(contains(cubin, Array(name.utf8)), "\(name) missing from the \(architecture) CUBIN of \(file)")
        }
        print("compiled \(file) for \(architecture) with NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) (\(nvrtc.path)): \(cubin.count) bytes, \(entryPoints.count) kernels")
    }

    /// The kernels keep their per-thread arrays (attention accumulators) in registers: ptxas
    /// reports no spills and no stack frame for any sm_90 entry point but RoPE's double-precision
    /// sin/cos slow path.
    @Test(.enabled(if: CUDACompileTests.runnable, "NVRTC not found"), arguments: CUDAKernelSources.files.map(\.name))
    func noRegisterSpills(file: String) throws {
        let nvrtc = try CUDACompileTests.nvrtc.get()
        let source = try #require(CUDAKernelSources.files.first { $0.name == file }).source
        let (_, log) = try nvrtc.compileWithLog(source: source, name: file, headers: [("rl_common.cuh", CUDAKernelSources.commonHeader)],
                                                options: NVRTC.options(architecture: "sm_90") + ["--ptxas-options=-v"])
        var entry = ""
        for line in log.split(separator: "\n").map(String.init) {
            if line.contains("Compiling entry function") { entry = line.split(separator: "'").dropFirst().first.map(String.init) ?? line }
            if line.contains("spill stores") {
                #expect(line.contains(" 0 bytes spill stores, 0 bytes spill loads"), "\(file) \(entry): \(line)")
                if entry != "rl_rope" { #expect(line.contains(" 0 bytes stack frame"), "\(file) \(entry): \(line)") }
            }
        }
    }

    @Test func entryPointsAreFound() {
        let all = CUDAKernelSources.files.flatMap { CUDAKernelSources.entryPoints(in: $0.source) }
        for name in ["rl_copy_b32", "rl_cast", "rl_unary", "rl_binary", "rl_random_fill", "rl_softmax", "rl_token_logprobs",
                     "rl_rmsnorm", "rl_rope", "rl_embedding", "rl_adamw", "rl_attention_forward", "rl_attention_backward_dkv",
                     "rl_sample_tokens", "rl_attention_decode_split", "rl_attention_decode_combine"] {
            #expect(all.contains(name), "\(name)")
        }
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
