import RLTensor
import Testing

/// The example of the RLTensor DocC landing page (`Sources/RLTensor/RLTensor.docc/RLTensor.md`),
/// with the result it shows.
@Suite("RLTensor documentation examples")
struct DocumentationExampleTests {
    @Test("the landing page's example: a gradient of x·w")
    func landingPage() {
        let w = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        let x = Tensor([0.5, -1] as [Float], shape: [1, 2])
        let (loss, gradients) = valueAndGrad(at: [w]) { x.matmul(w).sum() }
        #expect(loss.item() == -5.5)
        #expect(gradients[0].toFloatArray() == [0.5, 0.5, -1.0, -1.0])
    }
}
