import RLDistributed
import RLTensor
import RLTestSupport
import Testing

/// The RLDistributed landing article's example, run as written in one process (the MPI runs of
/// the same calls are `mpi-check`'s).
@Suite("RLDistributed documentation example")
struct DocumentationExampleTests {
    static let article = "Sources/RLDistributed/RLDistributed.docc/RLDistributed.md"

    @Test("this test holds every line of the article's example")
    func articleMatchesTest() throws {
        #expect(try DocumentationArticle.linesMissing(article: Self.article, from: #filePath) == [])
    }

    @Test("the example in one process: the sums are the values themselves")
    func example() throws {
        let collective: any Collective = MPICollective.launchedByMPI ? try MPICollective.join() : SingleProcess()
        let gradient = Tensor([1, 2, 3] as [Float], shape: [3])
        try collective.allReduce(tensors: [gradient], label: "gradients")   // the sum over the ranks
        var counts: [Double] = [Double(collective.rank)]
        try collective.allReduce(&counts, label: "counts")
        print(collective.summary, gradient.toFloatArray(), counts)

        #expect(collective.summary == "one process")
        #expect(gradient.toFloatArray() == [1, 2, 3] && counts == [0])
    }
}
