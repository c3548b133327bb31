/// Which completion tokens count in the loss: every token up to and including the first
/// end-of-sequence token (all of them when there is none). With `maskTruncated`, a completion
/// without an end token gets an all-zero mask (DAPO's overlong filtering).
public func completionMask(_ completions: [[Int32]], length: Int, endTokenIDs: Set<Int32>, maskTruncated: Bool = false) -> [Float] {
    var mask = [Float](repeating: 0, count: completions.count * length)
    for (row, tokens) in completions.enumerated() {
        let end = tokens.prefix(length).firstIndex(where: endTokenIDs.contains)
        if end == nil && maskTruncated { continue }
        let through = end.map { $0 + 1 } ?? min(tokens.count, length)
        for t in 0..<through { mask[row * length + t] = 1 }
    }
    return mask
}
