import Foundation
import RLTensor
import Testing
@testable import RLModel

@Suite("Left-padded batches")
struct LeftPaddedBatchTests {
    @Test func rowsArePaddedOnTheLeftWithTheirMask() {
        let batch = LeftPaddedBatch([[5, 6, 7], [8]], pad: 2)
        #expect(batch.length == 3)
        #expect(batch.ids == [5, 6, 7, 2, 2, 8])
        #expect(batch.mask == [1, 1, 1, 0, 0, 1])
        #expect(DecoderModel.positions(attentionMask: batch.mask, batch: 2, length: 3) == [0, 1, 2, 0, 0, 0])
        #expect(DecoderModel.positions(attentionMask: batch.mask, batch: 2, length: 3, start: [4, 9]) == [4, 5, 6, 0, 0, 9])
        #expect(LeftPaddedBatch([[1], [2, 3, 4]]).ids == [0, 0, 1, 2, 3, 4])
    }
}
