#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The MPI library, opened at run time with `dlopen` so the package neither links nor needs MPI.
///
/// Search order: the file named by `RL_MPI_LIBRARY`, then the loader's search for
/// `libmpi.so.40` (Open MPI 3–5), `libmpich.so.12` / `libmpi.so.12` (MPICH, Intel MPI) — the
/// launcher's own first — and `libmpi.so`. The two ABIs
/// differ in how handles are spelled: Open MPI's `MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_SUM`, ... are
/// addresses of exported objects (`ompi_mpi_comm_world`, ...), MPICH's are integer constants from
/// `mpi.h`. Both are passed as pointer-sized arguments (integer handles are read from the low 32
/// bits of the argument register on the 64-bit targets supported).
final class MPILibrary: @unchecked Sendable {
    typealias Handle = UnsafeMutableRawPointer?

    let path: String
    /// `"Open MPI"` or `"MPICH"`.
    let flavour: String
    let initialized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let finalized: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let initThread: @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?,
                                    Int32, UnsafeMutablePointer<Int32>) -> Int32
    let finalize: @convention(c) () -> Int32
    let abort: @convention(c) (Handle, Int32) -> Int32
    let commRank: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSize: @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    let commSetErrhandler: @convention(c) (Handle, Handle) -> Int32
    let allreduce: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    let bcast: @convention(c) (UnsafeMutableRawPointer?, Int32, Handle, Int32, Handle) -> Int32
    let allgather: @convention(c) (UnsafeRawPointer?, Int32, Handle, UnsafeMutableRawPointer?, Int32, Handle, Handle) -> Int32
    let reduceScatterBlock: @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, Handle, Handle, Handle) -> Int32
    let barrier: @convention(c) (Handle) -> Int32
    let errorString: @convention(c) (Int32, UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32
    let libraryVersion: @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32

    let commWorld: Handle
    let float32: Handle
    let float64: Handle
    let byte: Handle
    let sum: Handle
    let max: Handle
    let errorsReturn: Handle
    /// `MPI_IN_PLACE`.
    let inPlace: UnsafeMutableRawPointer?

    /// `MPI_THREAD_SERIALIZED` (the same value in both ABIs).
    static let threadSerialized: Int32 = 2

    /// The sonames tried after `RL_MPI_LIBRARY`, the launcher's own library first: Open MPI's
    /// `mpirun` names the rank in `OMPI_COMM_WORLD_RANK`; MPICH's launcher (Hydra) only in
    /// `PMI_RANK`, and Debian names MPICH's library `libmpich.so.12`.
    static func sonames(environment: (String) -> String?) -> [String] {
        let openMPI = ["libmpi.so.40"], mpich = ["libmpich.so.12", "libmpi.so.12"]
        let startedByMPICH = environment("OMPI_COMM_WORLD_RANK") == nil && environment("PMI_RANK") != nil
        return (startedByMPICH ? mpich + openMPI : openMPI + mpich) + ["libmpi.so"]
    }

    /// Opens MPI, or says what was looked for and why it failed.
    static func open() -> Result<MPILibrary, MPIUnavailable> {
        var candidates = sonames(environment: getenvString)
        if let override = getenvString("RL_MPI_LIBRARY") { candidates.insert(override, at: 0) }
        return open(candidates: candidates)
    }

    /// Opens the first of `candidates` (paths or sonames) that is a usable MPI library.
    static func open(candidates: [String]) -> Result<MPILibrary, MPIUnavailable> {
        var tried: [String] = []
        for name in candidates {
            // Open MPI's plugins resolve libmpi's symbols globally: RTLD_GLOBAL is required.
            guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
                tried.append("\(name) (\(dlerror().map { String(cString: $0) } ?? "not found"))")
                continue
            }
            do {
                return .success(try MPILibrary(handle: handle, path: name))
            } catch let error as MPIUnavailable {
                tried.append("\(name) (\(error.reason))")
            } catch {
                tried.append("\(name) (\(error))")
            }
        }
        return .failure(MPIUnavailable(reason: "no usable MPI library; install Open MPI (apt install openmpi-bin libopenmpi-dev) "
            + "or MPICH, or name the library in RL_MPI_LIBRARY; tried: " + tried.joined(separator: "; ")))
    }

    private init(handle: UnsafeMutableRawPointer, path: String) throws {
        func sym<T>(_ name: String, _: T.Type = T.self) throws -> T {
            guard let p = dlsym(handle, name) else { throw MPIUnavailable(reason: "lacks \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        self.path = path
        initialized = try sym("MPI_Initialized")
        finalized = try sym("MPI_Finalized")
        initThread = try sym("MPI_Init_thread")
        finalize = try sym("MPI_Finalize")
        abort = try sym("MPI_Abort")
        commRank = try sym("MPI_Comm_rank")
        commSize = try sym("MPI_Comm_size")
        commSetErrhandler = try sym("MPI_Comm_set_errhandler")
        allreduce = try sym("MPI_Allreduce")
        bcast = try sym("MPI_Bcast")
        allgather = try sym("MPI_Allgather")
        reduceScatterBlock = try sym("MPI_Reduce_scatter_block")
        barrier = try sym("MPI_Barrier")
        errorString = try sym("MPI_Error_string")
        libraryVersion = try sym("MPI_Get_library_version")
        if let world = dlsym(handle, "ompi_mpi_comm_world") {
            flavour = "Open MPI"
            commWorld = world
            float32 = try sym("ompi_mpi_float", UnsafeMutableRawPointer.self)
            float64 = try sym("ompi_mpi_double", UnsafeMutableRawPointer.self)
            byte = try sym("ompi_mpi_byte", UnsafeMutableRawPointer.self)
            sum = try sym("ompi_mpi_op_sum", UnsafeMutableRawPointer.self)
            max = try sym("ompi_mpi_op_max", UnsafeMutableRawPointer.self)
            errorsReturn = try sym("ompi_mpi_errors_return", UnsafeMutableRawPointer.self)
            inPlace = UnsafeMutableRawPointer(bitPattern: 1)
        } else {
            // Every other libmpi (MPICH, Intel MPI, MVAPICH) has MPICH's ABI: integer handles (mpi.h).
            flavour = "MPICH"
            commWorld = UnsafeMutableRawPointer(bitPattern: 0x4400_0000)
            float32 = UnsafeMutableRawPointer(bitPattern: 0x4C00_040A)
            float64 = UnsafeMutableRawPointer(bitPattern: 0x4C00_080B)
            byte = UnsafeMutableRawPointer(bitPattern: 0x4C00_010D)
            sum = UnsafeMutableRawPointer(bitPattern: 0x5800_0003)
            max = UnsafeMutableRawPointer(bitPattern: 0x5800_0001)
            errorsReturn = UnsafeMutableRawPointer(bitPattern: 0x5400_0001)
            inPlace = UnsafeMutableRawPointer(bitPattern: -1)
        }
    }

    /// The library's own version line (`MPI_Get_library_version`), first line only.
    var versionLine: String {
        var buffer = [CChar](repeating: 0, count: 8_192)
        var length: Int32 = 0
        guard libraryVersion(&buffer, &length) == 0 else { return flavour }
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "Open MPI v4.1.4, package: Debian OpenMPI, ..." or "MPICH Version:\t4.0.2 ..." -> its first part.
        let first = text.split(separator: "\n").first.flatMap { $0.split(separator: ",").first } ?? ""
        let trimmed = first.trimmingCharacters(in: " \t")
        return trimmed.isEmpty ? flavour : trimmed
    }

    /// The text of an MPI error code.
    func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        guard errorString(code, &buffer, &length) == 0 else { return "MPI error \(code)" }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) + " (MPI error \(code))"
    }

    func datatype(_ element: CollectiveElement) -> Handle {
        switch element {
        case .float32: return float32
        case .float64: return float64
        case .byte: return byte
        }
    }

    func op(_ operation: ReduceOperation) -> Handle {
        switch operation {
        case .sum: return sum
        case .max: return max
        }
    }
}

/// Why MPI cannot be used here.
public struct MPIUnavailable: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public var description: String { reason }
}

private extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return String(s)
    }
}
