import CRLKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which matrix kernels the CPU backend runs, and why: the OpenBLAS file it loaded, the kernel
/// set ("core") OpenBLAS initialised with, how that core was chosen, and the instruction set of
/// the library's own few-row kernels. `CPUBackend.blas` holds this machine's.
public struct BLASStatus: Sendable, CustomStringConvertible {
    /// How OpenBLAS's core was chosen.
    public enum Choice: Sendable, Equatable {
        /// Named by RLTensor from the CPU's features (the default).
        case named(String)
        /// The user's `OPENBLAS_CORETYPE`, respected as it is.
        case user(String)
        /// Left to OpenBLAS's own detection (`RL_OPENBLAS_CORETYPE=auto`, or a CPU without AVX).
        case automatic
    }

    public var cpu: CPUFeatures
    public var choice: Choice
    /// The OpenBLAS file loaded, `openblas_get_config()` and `openblas_get_corename()` (empty when
    /// loading failed).
    public var library: String
    public var config: String
    public var core: String
    /// Why OpenBLAS could not be loaded, or nil.
    public var error: String?
    /// `AVX-512`, `AVX2` or `portable C`: the library's own kernels (few-row products, sampling).
    public var kernels: String

    /// A one-line warning when the core that runs is not the one RLTensor named (the installed
    /// OpenBLAS does not know it), or when OpenBLAS could not be loaded; nil when all is as chosen.
    public var notice: String? {
        if let error { return "RLTensor: \(error)" }
        guard case .named(let wanted) = choice, core.uppercased() != wanted else { return nil }
        return "RLTensor: OpenBLAS (\(config)) did not accept the core \(wanted) named for this CPU (\(cpu)) and runs its "
            + "\(core) kernels, which may be much slower; set OPENBLAS_CORETYPE to a core it knows"
    }

    /// e.g. `OpenBLAS 0.3.21 … (/usr/lib/…/libopenblasp-r0.3.21.so), core Cooperlake (named by
    /// RLTensor for Intel AVX AVX2 FMA AVX-512 …); own kernels AVX-512`.
    public var description: String {
        let how: String
        switch choice {
        case .named: how = "named by RLTensor for \(cpu)"
        case .user(let core): how = "OPENBLAS_CORETYPE=\(core) set by the user; CPU \(cpu)"
        case .automatic: how = "OpenBLAS's own detection; CPU \(cpu)"
        }
        let blas = error.map { "OpenBLAS unavailable: \($0)" } ?? "\(config) (\(library)), core \(core) (\(how))"
        return "\(blas); own kernels \(kernels)"
    }
}

/// Chooses OpenBLAS's core and loads the library (once per process, before its first product).
enum BLASLibrary {
    /// The OpenBLAS core that runs these features at full speed, spelled as OPENBLAS_CORETYPE
    /// takes it (a name every DYNAMIC_ARCH OpenBLAS since 0.3.11 knows), or nil to leave the
    /// choice to OpenBLAS (no AVX: nothing to gain).
    static func core(for cpu: CPUFeatures) -> String? {
        if cpu.avx512 { return cpu.avx512BF16 ? "COOPERLAKE" : "SKYLAKEX" }
        if cpu.avx2 && cpu.fma { return cpu.vendor == .amd ? "ZEN" : "HASWELL" }
        if cpu.avx { return "SANDYBRIDGE" }
        return nil
    }

    /// How the core is chosen: the user's `OPENBLAS_CORETYPE` first, then `RL_OPENBLAS_CORETYPE`
    /// (`auto` leaves it to OpenBLAS, another value names that core), then `core(for:)`.
    static func choice(for cpu: CPUFeatures, environment: [String: String]) -> BLASStatus.Choice {
        if let user = environment["OPENBLAS_CORETYPE"], !user.isEmpty { return .user(user) }
        if let setting = environment["RL_OPENBLAS_CORETYPE"], !setting.isEmpty {
            return setting.lowercased() == "auto" ? .automatic : .named(setting.uppercased())
        }
        return core(for: cpu).map { .named($0) } ?? .automatic
    }

    /// This process's OpenBLAS, loaded on first use; a notice goes to standard error when the core
    /// could not be set or the library is missing.
    static let status: BLASStatus = {
        let cpu = CPUFeatures.current
        var environment: [String: String] = [:]
        for key in ["OPENBLAS_CORETYPE", "RL_OPENBLAS_CORETYPE"] {
            if let value = getenv(key) { environment[key] = String(cString: value) }
        }
        let chosen = BLASLibrary.choice(for: cpu, environment: environment)
        let named: String? = if case .named(let core) = chosen { core } else { nil }
        let info = rl_blas_load(named).pointee
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        let status = BLASStatus(cpu: cpu, choice: chosen, library: text(info.path), config: text(info.config),
                                core: text(info.core), error: info.loaded != 0 ? nil : text(info.error),
                                kernels: String(cString: rl_kernel_isa()))
        if let notice = status.notice {
            let line = Array((notice + "\n").utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
        return status
    }()
}
