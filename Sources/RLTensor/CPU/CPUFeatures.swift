import CRLKernels

/// The x86 vector features of a CPU that decide which kernels run (each counted only when the
/// operating system saves its registers). Read from this machine with `current`; tests build
/// recorded sets of other machines.
public struct CPUFeatures: Sendable, Equatable, CustomStringConvertible {
    public enum Vendor: String, Sendable { case intel = "Intel", amd = "AMD", other }

    public var vendor: Vendor
    public var avx = false
    public var avx2 = false
    public var fma = false
    /// AVX-512 F, CD, BW, DQ and VL together (what OpenBLAS's SkylakeX kernels need).
    public var avx512 = false
    public var avx512BF16 = false
    public var avx512FP16 = false
    /// AMX tiles with bf16 products.
    public var amxBF16 = false

    public init(vendor: Vendor, avx: Bool = false, avx2: Bool = false, fma: Bool = false, avx512: Bool = false,
                avx512BF16: Bool = false, avx512FP16: Bool = false, amxBF16: Bool = false) {
        self.vendor = vendor
        self.avx = avx
        self.avx2 = avx2
        self.fma = fma
        self.avx512 = avx512
        self.avx512BF16 = avx512BF16
        self.avx512FP16 = avx512FP16
        self.amxBF16 = amxBF16
    }

    /// This machine's features (CPUID and XGETBV).
    public static let current: CPUFeatures = {
        var raw = rl_cpu_features()
        rl_cpu_features_read(&raw)
        let vendorText = withUnsafeBytes(of: raw.vendor) { String(decoding: $0.prefix(12), as: UTF8.self) }
        let vendor: Vendor = vendorText == "GenuineIntel" ? .intel : vendorText == "AuthenticAMD" ? .amd : .other
        return CPUFeatures(
            vendor: vendor, avx: raw.avx != 0, avx2: raw.avx2 != 0, fma: raw.fma != 0,
            avx512: raw.avx512f != 0 && raw.avx512cd != 0 && raw.avx512bw != 0 && raw.avx512dq != 0 && raw.avx512vl != 0,
            avx512BF16: raw.avx512_bf16 != 0, avx512FP16: raw.avx512_fp16 != 0, amxBF16: raw.amx_bf16 != 0 && raw.amx_tile != 0)
    }()

    /// e.g. `Intel AVX2 FMA AVX-512 AVX512_BF16 AMX-BF16`.
    public var description: String {
        let names: [(Bool, String)] = [(avx, "AVX"), (avx2, "AVX2"), (fma, "FMA"), (avx512, "AVX-512"), (avx512BF16, "AVX512_BF16"),
                                       (avx512FP16, "AVX512_FP16"), (amxBF16, "AMX-BF16")]
        return ([vendor.rawValue] + names.filter(\.0).map(\.1)).joined(separator: " ")
    }
}
