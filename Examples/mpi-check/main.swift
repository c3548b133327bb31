// mpi-check: checks the collectives on the ranks of an MPI job.
//
//     mpirun -np 2 mpi-check            # every collective against its expected result
//     mpi-check --availability          # which MPI library would be used, or why none
//     mpirun -np 2 mpi-check --stall-rank 1 --timeout 2   # rank 1 stops answering: the others end
//
// Exit status 0 when every check passes on this rank, 1 otherwise.
import RLDistributed
import RLTensor
#if canImport(Glibc)
import Glibc
#endif

var stallRank: Int?
var timeout: Double?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--availability":
        switch MPICollective.availability() {
        case .success(let text): print("MPI: \(text)"); exit(0)
        case .failure(let error): print("MPI unavailable: \(error)"); exit(1)
        }
    case "--stall-rank": stallRank = arguments.popFirst().flatMap { Int($0) }
    case "--timeout": timeout = arguments.popFirst().flatMap { Double($0) }
    default:
        printError("mpi-check: unknown argument \(argument) (use --availability, --stall-rank R, --timeout S)")
        exit(2)
    }
}

let collective: MPICollective
do {
    collective = try MPICollective.join(timeout: timeout)
} catch {
    printError("mpi-check: \(error)")
    exit(1)
}
let rank = collective.rank, size = collective.worldSize
nonisolated(unsafe) var failures: [String] = []
func check(_ name: String, _ condition: Bool) {
    if !condition { failures.append(name) }
}

/// Writes one line to standard error.
func printError(_ line: String) {
    _ = (line + "\n").withCString { write(2, $0, strlen($0)) }
}

do {
    if let stallRank, stallRank == rank {
        // This rank stops taking part; the others' next collective must end the job.
        sleep(3_600)
    }
    var sums: [Double] = [Double(rank + 1), Double(10 * (rank + 1))]
    try collective.allReduce(&sums, label: "f64 sum")
    let total = Double(size * (size + 1) / 2)
    check("all-reduce f64 sum", sums == [total, 10 * total])

    var maxima: [Float] = [Float(rank), -Float(rank)]
    try collective.allReduce(&maxima, operation: .max, label: "f32 max")
    check("all-reduce f32 max", maxima == [Float(size - 1), 0])

    let root = size - 1
    let message = try collective.broadcast(bytes: rank == root ? Array("from the last rank".utf8) : [1], root: root, label: "bytes")
    check("broadcast bytes", message == Array("from the last rank".utf8))

    let gathered = try collective.allGather(bytes: [UInt8](repeating: UInt8(rank), count: rank + 1), label: "ragged bytes")
    check("all-gather ragged bytes", gathered == (0..<size).map { [UInt8](repeating: UInt8($0), count: $0 + 1) })

    var send = (0..<(2 * size)).map { Float(rank * 100 + $0) }
    var block = [Float](repeating: 0, count: 2)
    try send.withUnsafeMutableBytes { s in
        try block.withUnsafeMutableBytes { try collective.reduceScatter(s.baseAddress!, into: $0.baseAddress!, count: 2, element: .float32, label: "blocks") }
    }
    let rankSum = Float(100 * size * (size - 1) / 2)
    check("reduce-scatter", block == [rankSum + Float(size * 2 * rank), rankSum + Float(size * (2 * rank + 1))])

    // Tensors in several buckets (16 bytes each), one of them bf16.
    let a = Tensor((0..<6).map { Float($0 + rank) }, shape: [2, 3])
    let b = Tensor([Float(rank), 0.5], shape: [2]).cast(to: .bf16)
    let c = Tensor((0..<5).map { Float($0 * (rank + 1)) }, shape: [5])
    try collective.allReduce(tensors: [a, b, c], bucketBytes: 16, label: "tensors")
    let ranks = Float(size * (size - 1) / 2)
    check("all-reduce tensors (f32)", a.toFloatArray() == (0..<6).map { Float(size) * Float($0) + ranks })
    check("all-reduce tensors (bf16)", b.toFloatArray() == [ranks, 0.5 * Float(size)])
    check("all-reduce tensors (large)", c.toFloatArray() == (0..<5).map { Float($0) * Float(size * (size + 1) / 2) })

    let weights = Tensor([Float(rank), Float(rank) * 2], shape: [2])
    try collective.broadcast(tensors: [weights], root: 0, label: "weights")
    check("broadcast tensors", weights.toFloatArray() == [0, 0])

    try collective.barrier(label: "end")
} catch {
    printError("mpi-check: \(error)")
    exit(1)
}
if failures.isEmpty {
    print("mpi-check: rank \(rank) of \(size): all collectives correct (\(collective.summary))")
    collective.finalize()
    exit(0)
}
print("mpi-check: rank \(rank) of \(size): FAILED \(failures.joined(separator: ", "))")
collective.finalize()
exit(1)
