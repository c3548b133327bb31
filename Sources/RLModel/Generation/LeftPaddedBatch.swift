/// Token rows of different lengths as one `[rows, length]` batch: each row left-padded with `pad`
/// to the longest row's length, and the attention mask that marks real tokens with 1.
/// Positions then come from the mask (`DecoderModel.positions(attentionMask:batch:length:start:)`),
/// so padding never shifts a row's tokens.
public struct LeftPaddedBatch: Sendable, Equatable {
    /// `[rows, length]` row-major.
    public let ids: [Int32]
    public let mask: [Int32]
    public let length: Int

    public init(_ rows: [[Int32]], pad: Int32 = 0) {
        let width = rows.map(\.count).max() ?? 0
        var ids: [Int32] = [], mask: [Int32] = []
        ids.reserveCapacity(rows.count * width)
        mask.reserveCapacity(rows.count * width)
        for row in rows {
            let padding = width - row.count
            ids += [Int32](repeating: pad, count: padding) + row
            mask += [Int32](repeating: 0, count: padding) + [Int32](repeating: 1, count: row.count)
        }
        self.ids = ids
        self.mask = mask
        self.length = width
    }
}
