import RLTensor
import Testing

/// Decode attention through block tables against the naive reference over each sequence's keys
/// laid out contiguously.
@Suite("Paged decode attention")
struct PagedAttentionTests {
    @Test("reads shuffled, shared blocks through the tables (GQA, partial last blocks, empty sequence)", arguments: TestDevices.all)
    func matchesContiguousReference(device: Device) {
        let (heads, kvHeads, dim, blockSize) = (6, 2, 8, 4)
        let lengths = [9, 14, 0, 1, 37]
        // Blocks handed out in a scrambled order; sequence 1 shares sequence 0's first two blocks.
        var tables: [[Int32]] = [], next: Int32 = 0
        for (s, n) in lengths.enumerated() {
            var table: [Int32] = []
            for b in 0..<((n + blockSize - 1) / blockSize) {
                if s == 1 && b < 2 { table.append(tables[0][b]); continue }
                table.append((next * 7) % 23)
                next += 1
            }
            tables.append(table)
        }
        let blocks = 23, width = tables.map(\.count).max()!
        let keyPool = sample([blocks, blockSize, kvHeads, dim], seed: 301, low: -2, high: 2, device: device)
        let valuePool = sample([blocks, blockSize, kvHeads, dim], seed: 302, device: device)
        let q = sample([lengths.count, 1, heads, dim], seed: 303, low: -2, high: 2, device: device)
        let out = Tensor.pagedDecodeAttention(
            query: q, keyBlocks: keyPool, valueBlocks: valuePool,
            blockTables: Tensor(tables.flatMap { $0 + [Int32](repeating: 0, count: width - $0.count) }, shape: [lengths.count, width], device: device),
            lengths: Tensor(lengths.map { Int32($0) }, shape: [lengths.count], device: device), maxLength: lengths.max()!)
        #expect(out.shape == [lengths.count, 1, heads, dim])
        let k = keyPool.doubles, v = valuePool.doubles, qs = q.doubles
        var want: [Double] = []
        for (s, n) in lengths.enumerated() {
            let token = kvHeads * dim
            func gather(_ pool: [Double]) -> [Double] {
                (0..<n).flatMap { j in
                    let start = (Int(tables[s][j / blockSize]) * blockSize + j % blockSize) * token
                    return Array(pool[start..<(start + token)])
                }
            }
            let query = Array(qs[(s * heads * dim)..<((s + 1) * heads * dim)])
            want += n == 0 ? [Double](repeating: 0, count: heads * dim)
                : Naive.attention(q: query, k: gather(k), v: gather(v), batch: 1, queryLength: 1, keyLength: n, queryHeads: heads,
                                  kvHeads: kvHeads, dim: dim, queryOffset: n - 1, keyMask: nil, scale: 1 / Double(dim).squareRoot())
        }
        expectClose(out, want, shape: out.shape, atol: 2e-6, rtol: 1e-5, "paged decode attention")
    }

    @Test("many sequences split across threads match one at a time", arguments: TestDevices.all)
    func threadsSplit(device: Device) {
        let (sequences, heads, dim, blockSize, length) = (24, 4, 32, 8, 50)
        let perSequence = (length + blockSize - 1) / blockSize
        let keyPool = sample([sequences * perSequence, blockSize, 1, dim], seed: 311, device: device)
        let valuePool = sample([sequences * perSequence, blockSize, 1, dim], seed: 312, device: device)
        let q = sample([sequences, 1, heads, dim], seed: 313, device: device)
        let tables = (0..<(sequences * perSequence)).map { Int32($0) }
        let all = Tensor.pagedDecodeAttention(query: q, keyBlocks: keyPool, valueBlocks: valuePool,
                                              blockTables: Tensor(tables, shape: [sequences, perSequence], device: device),
                                              lengths: Tensor([Int32](repeating: Int32(length), count: sequences), shape: [sequences], device: device),
                                              maxLength: length).toFloatArray()
        for s in [0, 13, 23] {
            let one = Tensor.pagedDecodeAttention(query: q.sliced(axis: 0, s..<(s + 1)), keyBlocks: keyPool, valueBlocks: valuePool,
                                                  blockTables: Tensor(Array(tables[(s * perSequence)..<((s + 1) * perSequence)]), shape: [1, perSequence], device: device),
                                                  lengths: Tensor([Int32(length)], shape: [1], device: device), maxLength: length)
            #expect(one.toFloatArray() == Array(all[(s * heads * dim)..<((s + 1) * heads * dim)]))
        }
    }

    @Test("assignRows writes a batch of rows at their indices and leaves the others", arguments: TestDevices.all)
    func assignRows(device: Device) {
        let pool = sample([7, 2, 3], seed: 321, device: device)
        let before = pool.toFloatArray()
        let rows = sample([3, 2, 3], seed: 322, device: device)
        pool.assignRows(Tensor([5, 0, 3] as [Int32], shape: [3], device: device), from: rows)
        var want = before
        let new = rows.toFloatArray()
        for (i, r) in [5, 0, 3].enumerated() { want.replaceSubrange((r * 6)..<(r * 6 + 6), with: new[(i * 6)..<(i * 6 + 6)]) }
        #expect(pool.toFloatArray() == want)
    }
}
