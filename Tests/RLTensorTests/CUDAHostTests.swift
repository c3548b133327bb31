@testable import RLTensor
import Testing

/// The host side of the CUDA backend that needs no GPU: argument layouts shared with the
/// kernels, the library search, the kernel cache key, the allocator's size classes.
@Suite("CUDA host side")
struct CUDAHostTests {
    @Test func stridesArgumentMatchesRLStrides() {
        // struct RLStrides { i64 ndim; i64 shape[8]; i64 stride[4][8]; } = 41 words.
        let arg = CUDABackend.stridesArgument(shape: [2, 1, 3, 4], strides: [[12, 12, 4, 1], [1, 1, 2, 6]])
        #expect(arg.bytes.count == 41 * 8)
        let words = arg.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        #expect(words[0] == 3)  // the size-1 axis is dropped
        #expect(Array(words[1...3]) == [2, 3, 4])
        #expect(Array(words[9...11]) == [12, 4, 1])
        #expect(Array(words[17...19]) == [1, 2, 6])
        // A packed operand collapses to one axis.
        let packed = CUDABackend.stridesArgument(shape: [5, 6], strides: [[6, 1], [6, 1]])
        let pw = packed.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        #expect(pw[0] == 1 && pw[1] == 30 && pw[9] == 1 && pw[17] == 1)
    }

    @Test func argumentsArePlainBytes() {
        #expect(CUDABackend.Argument.int(-2).bytes == withUnsafeBytes(of: Int64(-2)) { Array($0) })
        #expect(CUDABackend.Argument.f32(1.5).bytes == withUnsafeBytes(of: Float(1.5)) { Array($0) })
        #expect(CUDABackend.Argument.i32(7).bytes.count == 4)
        #expect(CUDABackend.Argument.ptr(0xdead_beef).bytes.count == 8)
    }

    @Test func allocatorSizeClasses() {
        #expect(CUDAAllocator.roundedSize(1) == 512)
        #expect(CUDAAllocator.roundedSize(513) == 1024)
        #expect(CUDAAllocator.roundedSize(1 << 20) == 1 << 20)
        #expect(CUDAAllocator.roundedSize((1 << 20) + 1) == 2 << 20)
        #expect(CUDAAllocator.roundedSize(5 << 20) == 6 << 20)
    }

    @Test func cacheKeyCoversEveryPart() {
        let base = CUDAKernelSources.cacheKey(parts: ["src", "hdr", "-arch=sm_90", "nvrtc 13.0"])
        #expect(base.count == 16)
        #expect(base == CUDAKernelSources.cacheKey(parts: ["src", "hdr", "-arch=sm_90", "nvrtc 13.0"]))
        #expect(base != CUDAKernelSources.cacheKey(parts: ["src", "hdr", "-arch=sm_80", "nvrtc 13.0"]))
        #expect(base != CUDAKernelSources.cacheKey(parts: ["src", "hdr", "-arch=sm_90", "nvrtc 13.1"]))
        #expect(base != CUDAKernelSources.cacheKey(parts: ["sr", "chdr", "-arch=sm_90", "nvrtc 13.0"]))
    }

    @Test func everyEntryPointIsFoundOnce() {
        let names = CUDAKernelSources.files.flatMap { CUDAKernelSources.entryPoints(in: $0.source) }
        #expect(Set(names).count == names.count)
        #expect(names.contains("rl_copy_b16") && names.contains("rl_copy_b64"))
        #expect(names.count == 37)
    }

    @Test func librarySearchReportsWhereItLooked() {
        let result = CUDALibraries.open("a test library", sonames: ["libnot-a-real-library.so.1"], driver: false,
                                        overrides: ["/nonexistent-rltensor"], useLoader: false)
        guard case .failure(let e) = result else {
            Issue.record("found a library that does not exist")
            return
        }
        #expect(e.tried.first == "/nonexistent-rltensor/{libnot-a-real-library.so.1}")
        #expect(e.tried.contains("/usr/local/cuda/lib64/{libnot-a-real-library.so.1}"))
        #expect(e.description.contains("RLTENSOR_CUDA_PATH"))
    }

    @Test func attentionArgumentMatchesRLAttention() {
        // struct RLAttention { i64 x 15; float scale; float pad; } = 128 bytes.
        let d = AttentionDescriptor(batch: 2, queryLength: 3, keyLength: 4, queryHeads: 6, kvHeads: 2, headDim: 8, queryOffset: 1,
                                    scale: 0.25, queryStrides: (144, 48), keyStrides: (100, 20), valueStrides: (101, 21), keyMaskStride: 4)
        let bytes = CUDABackend.attentionArgumentBytes(d, hasMask: true)
        #expect(bytes.count == 128)
        let words = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        #expect(Array(words[0..<15]) == [2, 3, 4, 6, 2, 8, 1, 144, 48, 100, 20, 101, 21, 4, 1])
        let scale = bytes.withUnsafeBytes { $0.load(fromByteOffset: 120, as: Float.self) }
        #expect(scale == 0.25)
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension CUDAHostTests {
    /// A CUBIN compiled once is read back from the disk cache under a key that includes the
    /// NVRTC version and options. Needs NVRTC (skipped without it, like the compile tests).
    @Test(.enabled(if: CUDACompileTests.runnable, "NVRTC not found"))
    func diskCacheRoundTrip() throws {
        let nvrtc = try CUDACompileTests.nvrtc.get()
        var template = Array("/tmp/rltensor-cuda-cache-test-XXXXXX".utf8CString)
        let folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        defer { _ = system("rm -rf '\(folder)'") }
        let (file, source) = CUDAKernelSources.files.first { $0.name == "random.cu" }!
        CUDAKernelSources.clearMemoryCache()
        let first = try CUDAKernelSources.cubin(file: file, source: source, architecture: "sm_80", nvrtc: nvrtc, diskCache: folder)
        CUDAKernelSources.clearMemoryCache()
        var entries: [String] = []
        if let dir = opendir(folder) {
            while let e = readdir(dir) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name.hasSuffix(".cubin") { entries.append(name) }
            }
            closedir(dir)
        }
        #expect(entries.count == 1 && entries[0].hasPrefix("random.cu-sm_80-"), "\(entries)")
        let second = try CUDAKernelSources.cubin(file: file, source: source, architecture: "sm_80", nvrtc: nvrtc, diskCache: folder)
        #expect(first == second)
    }
}

extension CUDAHostTests {
    /// The values scripts/cuda-emulate/rest.cpp expects from the CUDA Philox kernel.
    @Test func philoxReferenceValues() {
        let w = Philox.block(counter: 7, key: 42)
        #expect(w.0 == 0x5bbd_83b1 && w.1 == 0x6878_4c85 && w.2 == 0x1720_67aa && w.3 == 0x2e6b_75b7)
        #expect(Philox.block(counter: 8, key: 42).0 == 0x8c4a_529c)
        let u = (7..<10).map { Philox.sample(.uniform(low: -0.5, high: 2), seed: 42, index: UInt64($0)).bitPattern }
        #expect(u == [0x3eca_b390, 0x3f5e_b9cc, 0x3e29_d790])
    }

    @Test func deviceNames() throws {
        #expect(try Device.named("cpu") == .cpu)
        #expect(throws: CUDAError.self) { try Device.named("tpu") }
        if !CUDABackend.isAvailable {
            #expect(throws: CUDAError.self) { try Device.named("cuda") }
        }
    }
}
