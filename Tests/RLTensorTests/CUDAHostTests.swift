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
        #expect(names.contains("rl_paged_attention_decode") && names.contains("rl_scatter_rows"))
        #expect(names.count == 42)
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
        // struct RLAttention { i64 x 15; float scale; int dtype; } = 128 bytes.
        var d = AttentionDescriptor(batch: 2, queryLength: 3, keyLength: 4, queryHeads: 6, kvHeads: 2, headDim: 8, queryOffset: 1,
                                    scale: 0.25, queryStrides: (144, 48), keyStrides: (100, 20), valueStrides: (101, 21), keyMaskStride: 4)
        let bytes = CUDABackend.attentionArgumentBytes(d, hasMask: true)
        #expect(bytes.count == 128)
        let words = bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
        #expect(Array(words[0..<15]) == [2, 3, 4, 6, 2, 8, 1, 144, 48, 100, 20, 101, 21, 4, 1])
        let scale = bytes.withUnsafeBytes { $0.load(fromByteOffset: 120, as: Float.self) }
        #expect(scale == 0.25)
        #expect(bytes.withUnsafeBytes { $0.load(fromByteOffset: 124, as: Int32.self) } == 0)
        d.dtype = .bf16
        let bf16Bytes = CUDABackend.attentionArgumentBytes(d, hasMask: true)
        #expect(bf16Bytes.withUnsafeBytes { ($0.load(fromByteOffset: 120, as: Float.self), $0.load(fromByteOffset: 124, as: Int32.self)) } == (0.25, 1))
    }

    @Test func pagedAttentionArgumentMatchesRLPagedAttention() {
        // struct RLPagedAttention { i64 x 6; float scale; int dtype; } = 56 bytes.
        var d = PagedAttentionDescriptor(batch: 3, queryHeads: 4, kvHeads: 2, headDim: 16, blockSize: 8, blockTableStride: 5, maxLength: 40, scale: 0.5)
        d.dtype = .bf16
        let bytes = CUDABackend.pagedAttentionArgumentBytes(d)
        #expect(bytes.count == 56)
        #expect(bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)[0..<6]) } == [3, 4, 2, 16, 8, 5])
        #expect(bytes.withUnsafeBytes { ($0.load(fromByteOffset: 48, as: Float.self), $0.load(fromByteOffset: 52, as: Int32.self)) } == (0.5, 1))
    }

    /// Flash-decoding's key splits: only for one query per sequence with enough visible keys and
    /// too few blocks to fill the GPU; the ranges are whole tiles, cover every visible key and
    /// none is empty.
    @Test func decodeSplitsCoverTheVisibleKeys() throws {
        func descriptor(batch: Int, queryLength: Int, keyLength: Int, queryOffset: Int) -> AttentionDescriptor {
            AttentionDescriptor(batch: batch, queryLength: queryLength, keyLength: keyLength, queryHeads: 12, kvHeads: 2, headDim: 128,
                                queryOffset: queryOffset, scale: 1, queryStrides: (0, 0), keyStrides: (0, 0), valueStrides: (0, 0),
                                keyMaskStride: 0)
        }
        #expect(CUDABackend.decodeSplits(descriptor(batch: 1, queryLength: 2, keyLength: 4000, queryOffset: 3998), multiprocessors: 132) == nil)
        #expect(CUDABackend.decodeSplits(descriptor(batch: 1, queryLength: 1, keyLength: 255, queryOffset: 254), multiprocessors: 132) == nil)
        #expect(CUDABackend.decodeSplits(descriptor(batch: 512, queryLength: 1, keyLength: 4000, queryOffset: 3999), multiprocessors: 132) == nil)
        for (batch, keyLength, offset) in [(1, 256, 255), (1, 4000, 3999), (1, 4000, 1000), (3, 1500, 1499), (64, 2048, 2047)] {
            let (splits, length) = try #require(CUDABackend.decodeSplits(descriptor(batch: batch, queryLength: 1, keyLength: keyLength,
                                                                                    queryOffset: offset), multiprocessors: 132))
            let visible = min(offset + 1, keyLength)
            #expect(splits >= 2 && length % CUDABackend.attentionTile == 0 && length >= CUDABackend.decodeSplitMinimumKeys)
            #expect((splits - 1) * length < visible && splits * length >= visible, "\(splits) x \(length) for \(visible) keys")
            #expect(splits * 4 * batch <= 2 * 132 + 4 * batch, "at most about two blocks per multiprocessor")
        }
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

extension CUDAHostTests {
    /// A temporary folder holding empty files with the given names; removed by `body`'s caller.
    static func folder(with names: [String]) -> String {
        var template = Array("/tmp/rltensor-cuda-libs-test-XXXXXX".utf8CString)
        let folder = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        for name in names { if let f = fopen(folder + "/" + name, "w") { fclose(f) } }
        return folder
    }

    /// A 12.x driver cannot run what NVRTC 13 compiles nor load cuBLAS 13: sonames of a newer
    /// CUDA major version are left out; with no driver (CI) every soname is tried.
    @Test func sonamesOfANewerCUDAThanTheDriverAreLeftOut() {
        let nvrtc = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]
        let on128 = CUDALibraries.sonames(nvrtc, forDriverVersion: 12080)
        #expect(on128.usable == ["libnvrtc.so.12", "libnvrtc.so"])
        #expect(on128.skipped == ["libnvrtc.so.13"])
        #expect(CUDALibraries.sonames(nvrtc, forDriverVersion: 13000).usable == nvrtc)
        #expect(CUDALibraries.sonames(nvrtc, forDriverVersion: 13020).skipped.isEmpty)
        #expect(CUDALibraries.sonames(nvrtc, forDriverVersion: nil).usable == nvrtc)
        #expect(CUDALibraries.sonames(nvrtc, forDriverVersion: 0).usable == nvrtc)
        let on118 = CUDALibraries.sonames(nvrtc, forDriverVersion: 11080)
        #expect(on118.usable == ["libnvrtc.so"] && on118.skipped == ["libnvrtc.so.13", "libnvrtc.so.12"])
        #expect(CUDALibraries.sonameMajor("libcublas.so.12.8.4") == 12)
        #expect(CUDALibraries.sonameMajor("libcublasLt.so.13") == 13)
        #expect(CUDALibraries.sonameMajor("libnvrtc.so") == nil)
    }

    @Test func theSearchSaysWhichSonamesTheDriverRuledOut() {
        let folder = Self.folder(with: ["libfake-cuda.so.13"])
        defer { _ = system("rm -rf '\(folder)'") }
        let result = CUDALibraries.open("a test library", sonames: ["libfake-cuda.so.13", "libfake-cuda.so.12"], driver: true,
                                        overrides: [folder], useLoader: false, driverVersion: 12040)
        guard case .failure(let e) = result else {
            Issue.record("opened a library the driver cannot use")
            return
        }
        #expect(e.tried.first == "\(folder)/{libfake-cuda.so.12}", "\(e.tried)")
        #expect(e.tried.contains("(libfake-cuda.so.13 left out: the NVIDIA driver runs CUDA 12.4 at most)"), "\(e.tried)")
    }

    @Test func cuBLASLtIsOpenedFromCuBLASFolder() {
        #expect(CUDALibraries.cuBLASCompanions("libcublas.so.13") == ["libcublasLt.so.13"])
        #expect(CUDALibraries.cuBLASCompanions("libcublas.so.12") == ["libcublasLt.so.12"])
        #expect(CUDALibraries.cuBLASCompanions("libcublas.so") == ["libcublasLt.so"])
        #expect(CUDALibraries.cuBLASCompanions("libnvrtc.so.13").isEmpty)
    }

    /// The builtins NVRTC opens by soname at its first compile are found next to it: the file
    /// named by the soname, else the newest of that major.minor; never the `.alt` variant.
    @Test func nvrtcBuiltinsAreFoundInNVRTCFolder() {
        let folder = Self.folder(with: [
            "libnvrtc.so.13", "libnvrtc.alt.so.13", "libnvrtc-builtins.so.13.0", "libnvrtc-builtins.alt.so.13.0",
            "libnvrtc-builtins.so.12.8.61", "libnvrtc-builtins.so.12.8.93", "libnvrtc-builtins.alt.so.12.6",
        ])
        defer { _ = system("rm -rf '\(folder)'") }
        #expect(CUDALibraries.nvrtcBuiltins(in: folder, major: 13, minor: 0) == folder + "/libnvrtc-builtins.so.13.0")
        #expect(CUDALibraries.nvrtcBuiltins(in: folder, major: 12, minor: 8) == folder + "/libnvrtc-builtins.so.12.8.93")
        #expect(CUDALibraries.nvrtcBuiltins(in: folder, major: 13, minor: 1) == nil)
        #expect(CUDALibraries.nvrtcBuiltins(in: folder, major: 12, minor: 6) == nil)
        #expect(CUDALibraries.nvrtcBuiltins(in: folder, major: 1, minor: 3) == nil)
        #expect(CUDALibraries.nvrtcBuiltins(in: folder + "/missing", major: 13, minor: 0) == nil)
        // An empty file is no library: the preload gives up quietly.
        #expect(CUDALibraries.preloadNVRTCBuiltins(folder: folder, major: 13, minor: 0) == nil)
    }

    /// A library opened by soname: its folder is the one the loader took it from.
    @Test func folderOfALibraryOpenedBySoname() throws {
        let raw = try #require(dlopen("libm.so.6", RTLD_NOW))
        defer { dlclose(raw) }
        let folder = try #require(CUDALibraries.folder(of: CUDALibraries.Handle(raw: raw, path: "libm.so.6")))
        #expect(access(folder + "/libm.so.6", F_OK) == 0, "\(folder)")
    }

    /// An NVRTC with its builtins beside it (the PyPI wheels, a toolkit) opens them itself.
    @Test(.enabled(if: CUDACompileTests.runnable, "NVRTC not found"))
    func nvrtcOpensItsBuiltins() throws {
        let nvrtc = try CUDACompileTests.nvrtc.get()
        print("NVRTC \(nvrtc.version.major).\(nvrtc.version.minor) at \(nvrtc.path), builtins opened: \(nvrtc.builtinsPath ?? "none")")
        guard let slash = nvrtc.path.lastIndex(of: "/") else { return }
        let folder = String(nvrtc.path[..<slash])
        if let expected = CUDALibraries.nvrtcBuiltins(in: folder, major: nvrtc.version.major, minor: nvrtc.version.minor) {
            #expect(nvrtc.builtinsPath == expected)
        }
    }
}
