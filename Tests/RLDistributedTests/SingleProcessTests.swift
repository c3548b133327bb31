import RLDistributed
import RLTensor
import Testing

@Suite("One-process collective")
struct SingleProcessTests {
    @Test func isRankZeroOfOneAndLeavesDataAlone() throws {
        let single = SingleProcess()
        #expect(single.rank == 0 && single.worldSize == 1)
        var values: [Double] = [1, 2, 3]
        try single.allReduce(&values, label: "values")
        #expect(values == [1, 2, 3])
        let gathered = try single.allGather(bytes: [7, 8], label: "bytes")
        #expect(gathered == [[7, 8]])
        let tensor = Tensor([Float](arrayLiteral: 1, 2, 3, 4), shape: [2, 2])
        try single.allReduce(tensors: [tensor], label: "tensors")
        #expect(tensor.toFloatArray() == [1, 2, 3, 4])
        #expect(try single.broadcast(bytes: [1, 2, 3], label: "b") == [1, 2, 3])
    }

    @Test func broadcastFromAnotherRootIsAnError() {
        var byte: UInt8 = 0
        #expect(throws: CollectiveError.self) { try SingleProcess().broadcast(&byte, byteCount: 1, root: 1, label: "config") }
    }
}
