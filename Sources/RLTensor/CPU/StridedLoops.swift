/// Helpers that walk strided views: dimension collapsing and the outer-index loop.
enum StridedLoops {
    /// Merges adjacent axes that are packed in every operand, and drops size-1 axes.
    static func collapse(shape: [Int], strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        var outShape: [Int] = []
        var outStrides: [[Int]] = Array(repeating: [], count: strides.count)
        for axis in 0..<shape.count where shape[axis] != 1 {
            if let last = outShape.last,
               strides.indices.allSatisfy({ outStrides[$0].last! == strides[$0][axis] * shape[axis] }) {
                outShape[outShape.count - 1] = last * shape[axis]
                for o in strides.indices { outStrides[o][outStrides[o].count - 1] = strides[o][axis] }
            } else {
                outShape.append(shape[axis])
                for o in strides.indices { outStrides[o].append(strides[o][axis]) }
            }
        }
        if outShape.isEmpty { return ([1], strides.map { _ in [1] }) }
        return (outShape, outStrides)
    }

    /// Calls `body(offsets, rowIndex)` for every combination of all axes but the last, in
    /// `rows` order; `offsets[o]` is operand `o`'s element offset for that row.
    static func forEachRow(shape: [Int], strides: [[Int]], rows range: Range<Int>, _ body: ([Int], Int) -> Void) {
        let outer = Array(shape.dropLast())
        var offsets = [Int](repeating: 0, count: strides.count)
        for row in range {
            var rem = row
            for o in offsets.indices { offsets[o] = 0 }
            for axis in stride(from: outer.count - 1, through: 0, by: -1) {
                let i = rem % outer[axis]
                rem /= outer[axis]
                for o in strides.indices { offsets[o] += i * strides[o][axis] }
            }
            body(offsets, row)
        }
    }
}
