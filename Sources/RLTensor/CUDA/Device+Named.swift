extension Device {
    /// The device for a `--backend` / `--device` flag: `cpu`, `cuda` (GPU 0) or `cuda:N`.
    /// Creating a CUDA device starts (and registers) its `CUDABackend`; when CUDA is not usable
    /// this throws with the reason (no driver, no GPU, a missing library and where it looked).
    public static func named(_ name: String) throws -> Device {
        let lower = name.lowercased()
        if lower == "cpu" { return .cpu }
        if lower == "cuda" || lower == "gpu" { return try CUDABackend.shared(ordinal: 0).device }
        if lower.hasPrefix("cuda:"), let ordinal = Int(lower.dropFirst(5)), ordinal >= 0 {
            return try CUDABackend.shared(ordinal: ordinal).device
        }
        throw CUDAError("unknown device '\(name)': use cpu, cuda or cuda:N")
    }
}
