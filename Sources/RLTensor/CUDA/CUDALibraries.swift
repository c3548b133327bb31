#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds and opens the CUDA libraries at run time, so the package never links CUDA.
///
/// Search order for each library (first hit wins):
/// 1. every folder in `RLTENSOR_CUDA_PATH` (colon-separated), and its `lib64` and `lib` subfolders;
/// 2. the dynamic loader's own search by soname (`LD_LIBRARY_PATH`, the ldconfig cache, system
///    folders), newest soname first (`.13`, then `.12`, then the unversioned name);
/// 3. `/usr/local/cuda/lib64` and `/usr/local/cuda/targets/<arch>-linux/lib`;
/// 4. the `nvidia/*/lib` folders (the CUDA wheels PyTorch installs: `nvidia/cu13/lib`,
///    `nvidia/cuda_nvrtc/lib`, `nvidia/cublas/lib`, ...) of the Python site-packages folders
///    named by `VIRTUAL_ENV`, `CONDA_PREFIX`, `PYTHONPATH`, `/opt/torch/.venv`, `/usr/lib/python3*`,
///    `/usr/local/lib/python3*`, `~/.local/lib/python3*` and `~/.pyenv/versions/*`.
///
/// The driver (`libcuda.so.1`) comes with the NVIDIA driver: steps 3 and 4 are replaced by the
/// folders drivers and containers use (`/usr/local/nvidia/lib64`, `/usr/lib/x86_64-linux-gnu`,
/// `/usr/lib64`, `/usr/lib/wsl/lib`, ...).
///
/// NVRTC and cuBLAS sonames whose major version is above the CUDA version the driver reports
/// (`cuDriverGetVersion`) are left out at every step: a 12.x driver cannot load what NVRTC 13
/// compiles, nor cuBLAS 13. Without a driver (CI compiling the kernels) all are tried.
///
/// A library found in a folder is opened by full path, so what it opens itself by soname would
/// be searched for without that folder (the NVRTC 13.0 wheels carry no RPATH): its companions are
/// opened first from the same folder (cuBLASLt before cuBLAS), and NVRTC's
/// `libnvrtc-builtins.so.<major>.<minor>` right after NVRTC (`NVRTC.load`).
public enum CUDALibraries {
    /// A library that could not be found, with every place that was tried.
    public struct NotFound: Error, CustomStringConvertible, Sendable {
        public let library: String
        public let tried: [String]
        public var description: String {
            "\(library) not found (set RLTENSOR_CUDA_PATH to the folder that holds it); tried: "
                + tried.joined(separator: ", ")
        }
    }

    /// An opened library: its handle and the path (or soname) that opened it.
    public struct Handle: @unchecked Sendable {
        public let raw: UnsafeMutableRawPointer
        public let path: String

        /// The address of `symbol`, or nil.
        public func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(raw, name) }
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let s = String(cString: value)
        return s.isEmpty ? nil : s
    }

    /// Folders named by `RLTENSOR_CUDA_PATH`, with their `lib64` and `lib` subfolders.
    static func overrideFolders() -> [String] {
        guard let value = environment("RLTENSOR_CUDA_PATH") else { return [] }
        var folders: [String] = []
        for part in value.split(separator: ":") where !part.isEmpty {
            let dir = String(part)
            folders += [dir, dir + "/lib64", dir + "/lib"]
        }
        return folders
    }

    /// Python site-packages folders where pip puts the NVIDIA wheels.
    public static func sitePackagesFolders() -> [String] {
        var patterns: [String] = []
        if let venv = environment("VIRTUAL_ENV") { patterns.append(venv + "/lib/python3*/site-packages") }
        if let conda = environment("CONDA_PREFIX") { patterns.append(conda + "/lib/python3*/site-packages") }
        if let path = environment("PYTHONPATH") {
            patterns += path.split(separator: ":").map(String.init)
        }
        patterns.append("/opt/torch/.venv/lib/python3*/site-packages")
        patterns.append("/usr/local/lib/python3*/dist-packages")
        patterns.append("/usr/local/lib/python3*/site-packages")
        patterns.append("/usr/lib/python3*/dist-packages")
        patterns.append("/usr/lib/python3/dist-packages")
        if let home = environment("HOME") {
            patterns.append(home + "/.local/lib/python3*/site-packages")
            patterns.append(home + "/.pyenv/versions/*/lib/python3*/site-packages")
        }
        var seen = Set<String>(), result: [String] = []
        for p in patterns { for dir in glob(p) where seen.insert(dir).inserted { result.append(dir) } }
        return result
    }

    /// Every `nvidia/*/lib` folder under the site-packages folders.
    public static func wheelLibraryFolders() -> [String] {
        sitePackagesFolders().flatMap { glob($0 + "/nvidia/*/lib") }
    }

    static let driverFolders = ["/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu",
                                "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib/wsl/lib"]

    static func standardFolders() -> [String] {
        #if arch(x86_64)
        let target = "/usr/local/cuda/targets/x86_64-linux/lib"
        #else
        let target = "/usr/local/cuda/targets/sbsa-linux/lib"
        #endif
        return ["/usr/local/cuda/lib64", target]
    }

    /// Opens the first of `sonames` found along the search order. `driver` restricts the search to
    /// the override and the loader (the driver library must match the kernel module).
    /// `driverVersion` (`cuDriverGetVersion`, e.g. 12080) leaves out the sonames of a newer CUDA
    /// major version; `companions` names, for a soname, the libraries to open (globally) from the
    /// same folder before it, when it is opened by full path.
    public static func open(_ library: String, sonames: [String], driver: Bool = false, driverVersion: Int? = nil,
                            companions: (String) -> [String] = { _ in [] }) -> Result<Handle, NotFound> {
        open(library, sonames: sonames, driver: driver, overrides: overrideFolders(), useLoader: true,
             driverVersion: driverVersion, companions: companions)
    }

    /// The CUDA major version of a soname (`libnvrtc.so.13` and `libcublas.so.12.8.4` give 13 and
    /// 12), nil for an unversioned name (`libnvrtc.so`).
    static func sonameMajor(_ soname: String) -> Int? {
        let parts = soname.split(separator: ".", omittingEmptySubsequences: false)
        guard let so = parts.firstIndex(of: "so"), so + 1 < parts.count else { return nil }
        return Int(parts[so + 1])
    }

    /// `sonames` split into those a driver of `driverVersion` (`cuDriverGetVersion`: 1000 × major +
    /// 10 × minor) can use and those of a newer CUDA major version, which it cannot. Unversioned
    /// names are kept; with no driver version (nil or not positive: no driver, as in CI) all are.
    public static func sonames(_ sonames: [String], forDriverVersion driverVersion: Int?) -> (usable: [String], skipped: [String]) {
        guard let driverVersion, driverVersion > 0 else { return (sonames, []) }
        let driverMajor = driverVersion / 1000
        var usable: [String] = [], skipped: [String] = []
        for name in sonames {
            if let major = sonameMajor(name), major > driverMajor { skipped.append(name) } else { usable.append(name) }
        }
        return (usable, skipped)
    }

    /// "12.8" for `cuDriverGetVersion`'s 12080.
    static func versionText(_ driverVersion: Int) -> String { "\(driverVersion / 1000).\(driverVersion % 1000 / 10)" }

    /// cuBLASLt before cuBLAS: `libcublas.so.13` needs `libcublasLt.so.13` from the same release.
    static func cuBLASCompanions(_ soname: String) -> [String] {
        soname.hasPrefix("libcublas.") ? ["libcublasLt." + soname.dropFirst("libcublas.".count)] : []
    }

    /// `open` with the override folders given (tests) and the loader search optional.
    static func open(_ library: String, sonames allSonames: [String], driver: Bool, overrides: [String], useLoader: Bool,
                     driverVersion: Int? = nil, companions: (String) -> [String] = { _ in [] }) -> Result<Handle, NotFound> {
        var tried: [String] = []
        let (sonames, skipped) = self.sonames(allSonames, forDriverVersion: driverVersion)
        func attempt(_ path: String) -> Handle? {
            tried.append(path)
            guard let h = dlopen(path, RTLD_NOW | RTLD_GLOBAL) else { return nil }
            return Handle(raw: h, path: path)
        }
        func attempt(in folders: [String]) -> Handle? {
            for dir in folders {
                for name in sonames {
                    let path = dir + "/" + name
                    guard access(path, F_OK) == 0 else { tried.append(path); continue }
                    // Opened first and globally, so that the library's own load of them by
                    // soname finds them (nothing else tells the loader about this folder).
                    var opened: [UnsafeMutableRawPointer] = []
                    for companion in companions(name) {
                        let c = dir + "/" + companion
                        if access(c, F_OK) == 0, let h = dlopen(c, RTLD_NOW | RTLD_GLOBAL) { opened.append(h) }
                    }
                    if let h = attempt(path) { return h }
                    for h in opened { dlclose(h) }
                }
            }
            return nil
        }
        if !skipped.isEmpty, let driverVersion {
            tried.append("(\(skipped.joined(separator: ", ")) left out: the NVIDIA driver runs CUDA \(versionText(driverVersion)) at most)")
        }
        if let h = attempt(in: overrides) { return .success(h) }
        if useLoader { for name in sonames { if let h = attempt(name) { return .success(h) } } }
        if driver {
            // Where driver installs and containers put libcuda when the loader cache lacks it.
            if let h = attempt(in: driverFolders) { return .success(h) }
        } else {
            if let h = attempt(in: standardFolders()) { return .success(h) }
            let wheels = wheelLibraryFolders()
            if wheels.isEmpty { tried.append("(no nvidia/*/lib folder in any Python site-packages)") }
            if let h = attempt(in: wheels) { return .success(h) }
        }
        return .failure(NotFound(library: library, tried: compress(tried)))
    }

    /// Shortens the list of tried paths to one entry per folder.
    static func compress(_ paths: [String]) -> [String] {
        var order: [String] = [], names: [String: [String]] = [:]
        var notes: [String] = []
        for p in paths {
            if p.hasPrefix("(") && !p.contains("/{") && p.hasSuffix(")") && !p.hasPrefix("(loader") { notes.append(p); continue }
            let (dir, name): (String, String)
            if let slash = p.lastIndex(of: "/") {
                dir = String(p[..<slash]); name = String(p[p.index(after: slash)...])
            } else {
                dir = "(loader)"; name = p
            }
            if names[dir] == nil { order.append(dir); names[dir] = [] }
            if !names[dir]!.contains(name) { names[dir]!.append(name) }
        }
        return order.map { "\($0)/{\(names[$0]!.joined(separator: ","))}" } + notes
    }

    /// The `libnvrtc-builtins` of NVRTC `major.minor` in `folder`: `libnvrtc-builtins.so.<major>.<minor>`
    /// (the soname NVRTC opens), else the newest `libnvrtc-builtins.so.<major>.<minor>.<patch>`;
    /// nil when there is none (the `.alt` variants are not it).
    public static func nvrtcBuiltins(in folder: String, major: Int, minor: Int) -> String? {
        let soname = "libnvrtc-builtins.so.\(major).\(minor)"
        guard let dir = opendir(folder) else { return nil }
        defer { closedir(dir) }
        var exact = false, patched: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == soname {
                exact = true
            } else if name.hasPrefix(soname + "."), Int(name.dropFirst(soname.count + 1)) != nil {
                patched.append(name)
            }
        }
        if exact { return folder + "/" + soname }
        let newest = patched.max { Int($0.dropFirst(soname.count + 1))! < Int($1.dropFirst(soname.count + 1))! }
        return newest.map { folder + "/" + $0 }
    }

    /// Opens (globally) the `libnvrtc-builtins` of NVRTC `major.minor` from `folder`, so that
    /// NVRTC's own `dlopen` of it by soname at its first compile finds it loaded: a library opened
    /// by full path without an RPATH (the NVRTC 13.0 wheels) does not make the loader look in its
    /// folder, and every compile would fail with NVRTC_ERROR_BUILTIN_OPERATION_FAILURE. Returns
    /// the path opened, or nil (none there, or it did not load).
    @discardableResult
    static func preloadNVRTCBuiltins(folder: String, major: Int, minor: Int) -> String? {
        guard let path = nvrtcBuiltins(in: folder, major: major, minor: minor),
              dlopen(path, RTLD_NOW | RTLD_GLOBAL) != nil else { return nil }
        return path
    }

    /// The folder the loader took a library from (one opened by soname), or nil. glibc's `dlopen`
    /// handle is the library's `struct link_map` (`dlinfo(RTLD_DI_LINKMAP)` gives the same), whose
    /// second field `l_name` is the path it was loaded from.
    static func folder(of handle: Handle) -> String? {
        #if canImport(Glibc)
        guard let name = handle.raw.load(fromByteOffset: MemoryLayout<UInt>.size, as: UnsafePointer<CChar>?.self) else { return nil }
        let path = String(cString: name)
        guard path.hasPrefix("/"), let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
        #else
        return nil
        #endif
    }

    /// The most recent `dlerror()` text.
    static func lastError() -> String {
        guard let e = dlerror() else { return "" }
        return String(cString: e)
    }

    /// Paths matching a shell pattern, sorted.
    static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        #if canImport(Glibc)
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        #else
        guard Darwin.glob(pattern, 0, nil, &g) == 0 else { return [] }
        #endif
        var result: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { result.append(String(cString: p)) }
        }
        return result.sorted()
    }
}
