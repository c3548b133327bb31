extension CUDABackend {
    /// `rl_sample_tokens` (Kernels/sampling.cu), one block per row: the seeds and histories go up
    /// in one upload, the tokens and log-probs (8 bytes a row) come back in one download.
    public func sampleTokens(_ d: TokenSamplingDescriptor, logits: BufferRef, seeds: [UInt64],
                             histories: [[Int32]]) throws -> [(token: Int32, logProb: Float)]? {
        let rows = d.rows
        guard rows > 0 else { return [] }
        let penalised = d.repetitionPenalty != 1
        // Inputs, packed: seeds (u64 × rows), then when penalised the history offsets
        // (i32 × (rows + 1)) and the histories' tokens (i32).
        var words = [UInt32]()
        words.reserveCapacity(2 * rows + (penalised ? rows + 1 + histories.reduce(0) { $0 + $1.count } : 0))
        for seed in seeds { words += [UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)] }
        if penalised {
            var offset: UInt32 = 0
            words.append(offset)
            for history in histories {
                offset += UInt32(history.count)
                words.append(offset)
            }
            for history in histories { words += history.map { UInt32(bitPattern: $0) } }
        }
        let inputs = allocate(byteCount: words.count * 4)
        words.withUnsafeBytes { upload($0, to: inputs, byteOffset: 0) }
        let inputAddress = (inputs as! CUDABuffer).address
        let offsetsAddress = inputAddress + UInt64(8 * rows)
        let historyAddress = offsetsAddress + UInt64(4 * (rows + 1))
        let work = allocate(byteCount: rows * d.vocab * 4)
        let picks = allocate(byteCount: rows * 8)
        let picksAddress = (picks as! CUDABuffer).address
        let greedy = d.temperature <= 0
        launch("rl_sample_tokens", grid: (rows, 1, 1), block: CUDABackend.rowThreads(d.vocab), [
            .ptr(logits.cudaAddress()), .ptr((work as! CUDABuffer).address), .int(d.vocab),
            .ptr(penalised ? historyAddress : 0), .ptr(penalised ? offsetsAddress : 0), .f32(d.repetitionPenalty),
            .ptr(inputAddress), .value(d.step), .i32(greedy ? 1 : 0), .f32(greedy ? 1 : 1 / d.temperature),
            .int(d.topK), .f32(d.topP), .f32(max(d.minP, 0)), .ptr(picksAddress), .ptr(picksAddress + UInt64(4 * rows)),
        ])
        var bytes = [UInt8](repeating: 0, count: rows * 8)
        bytes.withUnsafeMutableBytes { download(picks, byteOffset: 0, into: $0) }
        withExtendedLifetime((inputs, work)) {}
        try synchronize()
        return bytes.withUnsafeBytes { raw in
            (0..<rows).map { r in
                (token: raw.load(fromByteOffset: 4 * r, as: Int32.self), logProb: raw.load(fromByteOffset: 4 * (rows + r), as: Float.self))
            }
        }
    }
}
