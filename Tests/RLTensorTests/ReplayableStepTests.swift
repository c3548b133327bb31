import RLTensor
import Testing

/// `ReplayableStep` and the in-place input writes it relies on. On the CPU nothing is recorded:
/// every run calls the body again, which must read its inputs from the tensors written in place.
@Suite("Replayable step")
struct ReplayableStepTests {
    @Test("each run sees the inputs written in place since the last", arguments: TestDevices.all)
    func readsRewrittenInputs(device: Device) throws {
        let packed = Tensor.zeros([6], dtype: .i32, device: device)
        let ids = packed.sliced(axis: 0, 0..<2), rows = packed.sliced(axis: 0, 2..<6).reshaped([2, 2])
        let scale = Tensor.zeros([2], device: device)
        let table = sample([10, 3], seed: 41, device: device)
        let step = ReplayableStep(device: device) {
            [table.embedding(ids) * scale.reshaped([2, 1]), rows.cast(to: .f32).sum(axis: 1)]
        }
        for run in 0..<4 {
            let idValues: [Int32] = [Int32(run), Int32(9 - run)]
            packed.overwrite(with: idValues + [1, 2, 3, Int32(run)])
            scale.overwrite(with: [Float(run) + 0.5, -1])
            let outputs = try step.run()
            let expected = table.embedding(Tensor(idValues, shape: [2], device: device)) * Tensor([Float(run) + 0.5, -1], shape: [2, 1], device: device)
            #expect(outputs[0].toFloatArray() == expected.toFloatArray(), "run \(run)")
            #expect(outputs[1].toFloatArray() == [3, Float(3 + run)], "run \(run)")
        }
        if device == .cpu { #expect(!step.isRecorded) }
    }

    @Test("overwriting a view writes only its elements", arguments: TestDevices.all)
    func overwriteView(device: Device) {
        let all = Tensor([Float](repeating: 7, count: 5), shape: [5], device: device)
        all.sliced(axis: 0, 1..<3).overwrite(with: [1, 2] as [Float])
        #expect(all.toFloatArray() == [7, 1, 2, 7, 7])
        let ints = Tensor([Int32](repeating: 4, count: 4), shape: [2, 2], device: device)
        ints.sliced(axis: 0, 1..<2).overwrite(with: [8, 9] as [Int32])
        #expect(ints.toInt32Array() == [4, 4, 8, 9])
    }
}
