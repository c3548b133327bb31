import Foundation
@testable import RLDistributed
import Testing

/// `mpirun` on this machine, or nil (the MPI suites are then skipped, saying why).
private let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun", "/opt/openmpi/bin/mpirun"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// `mpi-check`, built beside this test bundle.
private let mpiCheck = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("mpi-check").path

/// Runs `executable` and returns its exit status, output and wall time.
private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String, seconds: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let started = Date()
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), Date().timeIntervalSince(started))
}

@Suite("Collectives of an MPI job", .serialized, .enabled(if: mpirun != nil, "needs mpirun: apt install openmpi-bin (CI installs it)"))
struct MPIJobTests {
    @Test("Every collective gives the expected result on every rank", arguments: [2, 3])
    func collectivesAreCorrect(ranks: Int) throws {
        let result = try run(mpirun!, ["--allow-run-as-root", "--oversubscribe", "-np", String(ranks), mpiCheck])
        #expect(result.status == 0, "\(result.output)")
        for rank in 0..<ranks {
            #expect(result.output.contains("rank \(rank) of \(ranks): all collectives correct"), "\(result.output)")
        }
    }

    @Test("A rank that stops answering ends the job within the timeout, naming the rank and the operation")
    func stalledRankEndsTheJob() throws {
        let result = try run(mpirun!, ["--allow-run-as-root", "--oversubscribe", "-np", "2", mpiCheck, "--stall-rank", "1", "--timeout", "2"])
        #expect(result.status != 0)
        #expect(result.seconds < 30, "took \(result.seconds) s")
        #expect(result.output.contains("error: rank 0 of 2: all-reduce (f64 sum) did not complete within 2 s"), "\(result.output)")
    }

    @Test("Outside mpirun the check says which MPI library it would use")
    func availabilityNamesTheLibrary() throws {
        let result = try run(mpiCheck, ["--availability"])
        #expect(result.status == 0 && result.output.contains("Open MPI") && result.output.contains("libmpi.so"), "\(result.output)")
        guard case .success = MPICollective.availability() else {
            Issue.record("availability() failed where mpi-check found MPI")
            return
        }
    }
}

@Suite("MPI availability")
struct MPIAvailabilityTests {
    @Test("A missing MPI library is an error that names what was tried and how to install it")
    func missingLibraryIsExplained() {
        let result = MPILibrary.open(candidates: ["/nonexistent/libmpi.so.40"])
        guard case .failure(let error) = result else {
            Issue.record("opened a library that does not exist")
            return
        }
        #expect(error.description.contains("/nonexistent/libmpi.so.40"), "\(error)")
        #expect(error.description.contains("apt install openmpi-bin"), "\(error)")
    }

    @Test("A process is an MPI rank when its launcher named one in the environment")
    func launchedByMPIReadsTheEnvironment() {
        let names = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS", "PMI_RANK"]
        let saved = names.map { name in getenv(name).map { String(cString: $0) } }
        defer { for (name, value) in zip(names, saved) { if let value { setenv(name, value, 1) } else { unsetenv(name) } } }
        for name in names { unsetenv(name) }
        #expect(!MPICollective.launchedByMPI)
        setenv("PMIX_RANK", "0", 1)
        #expect(MPICollective.launchedByMPI)
    }
}

@Suite("MPI library order")
struct MPILibraryOrderTests {
    @Test("the library of the launcher that started the process comes first")
    func launcherLibraryFirst() {
        let openMPI = MPILibrary.sonames { ["OMPI_COMM_WORLD_RANK": "0", "PMI_RANK": "0"][$0] }
        let mpich = MPILibrary.sonames { ["PMI_RANK": "1"][$0] }
        let none = MPILibrary.sonames { _ in nil }
        #expect(openMPI.first == "libmpi.so.40" && none.first == "libmpi.so.40")
        #expect(mpich.first == "libmpich.so.12")
        #expect(Set(openMPI) == Set(mpich) && openMPI.count == 4)
    }
}
