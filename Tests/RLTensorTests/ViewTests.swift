import RLTensor
import Testing

/// Views share storage and read through strides; broadcasting expands without copying;
/// creation helpers and dtype conversions.
@Suite("Views, broadcasting and creation")
struct ViewTests {
    @Test("views share storage and have the expected strides", arguments: TestDevices.all)
    func viewsShareStorage(device: Device) {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4], device: device)
        #expect(x.strides == [12, 4, 1] && x.isContiguous)
        let r = x.reshaped([6, -1])
        #expect(r.shape == [6, 4] && r.storage === x.storage)
        let p = x.permuted([2, 0, 1])
        #expect(p.shape == [4, 2, 3] && p.strides == [1, 12, 4] && !p.isContiguous && p.storage === x.storage)
        #expect(x.transposed().shape == [2, 4, 3] && x.transposed().strides == [12, 1, 4])
        let s = x.sliced(axis: 1, 1..<3)
        #expect(s.shape == [2, 2, 4] && s.offset == 4 && s.storage === x.storage)
        // Element (i, j, k) of the permuted view is x[j, k, i] = 12 j + 4 k + i.
        let pv = p.toFloatArray()
        #expect(pv[0 * 6 + 1 * 3 + 2] == 12 + 8 && pv[3 * 6 + 0 * 3 + 1] == 4 + 3)
        #expect(s.toFloatArray() == [4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23])
        // Reshaping a non-contiguous view copies; a packed tensor's contiguous() is itself.
        #expect(p.reshaped([24]).storage !== x.storage)
        #expect(x.contiguous().storage === x.storage)
        #expect(x.unsqueezed(0).shape == [1, 2, 3, 4] && x.unsqueezed(-1).shape == [2, 3, 4, 1])
        #expect(x.unsqueezed(1).squeezed(1).shape == [2, 3, 4])
        // A size-1 axis may carry any stride and still be contiguous.
        #expect(x.sliced(axis: 0, 1..<2).isContiguous && x.sliced(axis: 2, 0..<1).isContiguous == false)
    }

    @Test("writes through assign are seen by every view of the storage", arguments: TestDevices.all)
    func inPlaceThroughViews(device: Device) {
        let base = Tensor.zeros([2, 3], device: device)
        let column = base.sliced(axis: 1, 1..<2)
        column.assign(Tensor([7, 8] as [Float], shape: [2, 1], device: device))
        #expect(base.toFloatArray() == [0, 7, 0, 0, 8, 0])
        base.transposed().assign(Tensor((1...6).map(Float.init), shape: [3, 2], device: device))
        #expect(base.toFloatArray() == [1, 3, 5, 2, 4, 6])
    }

    @Test("large buffers recycled after release never alias live tensors", arguments: TestDevices.all)
    func recycledBuffers(device: Device) {
        let count = 1 << 19  // 2 MiB of f32: pooled on the CPU
        var live: [Tensor] = []
        for round in 0..<4 {
            do { _ = Tensor.full([count], value: -1, device: device) }  // released at once
            live.append(Tensor.full([count], value: Double(round), device: device))
        }
        for (round, t) in live.enumerated() {
            let values = t.toFloatArray()
            #expect(values.first == Float(round) && values.last == Float(round) && values.allSatisfy { $0 == Float(round) })
        }
        #expect(Set(live.map { ObjectIdentifier($0.storage) }).count == 4)
    }

    @Test("expanded broadcasts with stride 0 and sumToShape inverts it", arguments: TestDevices.all)
    func broadcasting(device: Device) {
        let row = Tensor([1, 2, 3] as [Float], shape: [1, 3], device: device)
        let e = row.expanded(to: [2, 2, 3])
        #expect(e.strides == [0, 0, 1] && e.storage === row.storage)
        #expect(e.toFloatArray() == [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
        #expect(e.sumToShape([1, 3]).toFloatArray() == [4, 8, 12])
        #expect(e.sumToShape([3]).toFloatArray() == [4, 8, 12])
        #expect(e.sumToShape([2, 1, 1]).toFloatArray() == [12, 12])
        // A broadcast operand is read in place, not materialised, by elementwise ops.
        let column = Tensor([10, 20] as [Float], shape: [2, 1], device: device)
        #expect((row + column).toFloatArray() == [11, 12, 13, 21, 22, 23])
        #expect((e + column).shape == [2, 2, 3])
    }

    @Test("creation helpers, integer tensors and dtype casts", arguments: TestDevices.all)
    func creation(device: Device) {
        #expect(Tensor.zeros([2, 2], device: device).toFloatArray() == [0, 0, 0, 0])
        #expect(Tensor.ones([3], device: device).toFloatArray() == [1, 1, 1])
        #expect(Tensor.full([2], value: -2.5, device: device).toFloatArray() == [-2.5, -2.5])
        #expect(Tensor.full([2], value: 3, dtype: .bf16, device: device).toFloatArray() == [3, 3])
        #expect(Tensor.arange(4, device: device).toFloatArray() == [0, 1, 2, 3])
        #expect(Tensor.arange(3, dtype: .i32, device: device).toInt32Array() == [0, 1, 2])
        #expect(Tensor.arange(3, dtype: .i64, device: device).toInt32Array() == [0, 1, 2])
        let scalar = Tensor(scalar: 4.5, device: device)
        #expect(scalar.shape == [] && scalar.count == 1 && scalar.item() == 4.5)
        // Float -> integer casts truncate toward zero; integers -> float are exact.
        let mixed = Tensor([-1.7, -0.5, 0.5, 2.9] as [Float], shape: [4], device: device)
        #expect(mixed.cast(to: .i32).toInt32Array() == [-1, 0, 0, 2])
        #expect(mixed.cast(to: .i64).cast(to: .f32).toFloatArray() == [-1, 0, 0, 2])
        #expect(Tensor([1 << 24, -3] as [Int32], shape: [2], device: device).cast(to: .f32).toFloatArray() == [16_777_216, -3])
        #expect(Tensor([5_000_000_000, -7] as [Int64], shape: [2], device: device).toFloatArray() == [5e9, -7])
        #expect(mixed.to(device).toFloatArray() == mixed.toFloatArray())
        #expect(mixed.zerosLike().shape == [4] && mixed.zerosLike().dtype == .f32)
        #expect(DType.bf16.byteSize == 2 && DType.i64.byteSize == 8 && !DType.i32.isFloatingPoint && DType.f16.isFloatingPoint)
    }
}

/// Backend agreement across devices: runs only where a CUDA backend and GPU exist.
@Suite("CUDA agrees with the CPU")
struct CrossDeviceTests {
    @Test("every fused op gives the CPU's result on each GPU",
          .enabled(if: TestDevices.hasCUDA, "no CUDA backend or GPU here: cross-device agreement is not checked"),
          arguments: TestDevices.cuda)
    func fusedOpsAgree(gpu: Device) {
        let x = sample([3, 5, 4, 8], seed: 1), positions = Tensor((0..<15).map { Int32($0) }, shape: [3, 5])
        let w = sample([8], seed: 2)
        func run(_ device: Device) -> [[Float]] {
            let xd = x.to(device), pd = positions.to(device)
            return [xd.rmsNorm(weight: w.to(device), eps: 1e-6).toFloatArray(),
                    xd.softmax().toFloatArray(),
                    xd.rotaryEmbedding(positions: pd, theta: 10_000).toFloatArray(),
                    Tensor.attention(query: xd, key: xd, value: xd).toFloatArray(),
                    xd.reshaped([15, 32]).linear(sample([16, 32], seed: 3).to(device)).toFloatArray()]
        }
        for (cpu, gpuResult) in zip(run(.cpu), run(gpu)) { expectClose(gpuResult, cpu, atol: 1e-5, rtol: 1e-4, "\(gpu)") }
    }
}
