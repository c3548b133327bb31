import Synchronization

/// The BPE model of a byte-level tokenizer: merges byte tokens of one pre-tokenized piece by rank.
///
/// Symbols are token ids from the start (one per byte), the merge table maps an adjacent pair of
/// ids to its rank and result, and the loop keeps the rank of every adjacent pair in a small
/// array, so each merge costs two table look-ups and a scan for the lowest rank. Pieces of up to
/// 16 bytes are cached.
final class BytePairEncoder: Sendable {
    /// The token id of each single byte.
    let byteTokenIDs: [Int32]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
    private let cache = Mutex<[ShortPiece: [Int32]]>([:])
    private static let cacheLimit = 1 << 18

    init(byteTokenIDs: [Int32], merges: [UInt64: UInt64]) {
        self.byteTokenIDs = byteTokenIDs
        self.merges = merges
    }

    static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the token ids of one piece (its UTF-8 bytes) to `ids`.
    func encode(_ piece: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        if piece.count == 1 {
            ids.append(byteTokenIDs[Int(piece[0])])
            return
        }
        guard let key = ShortPiece(piece) else {
            ids.append(contentsOf: merge(piece))
            return
        }
        if let cached = cache.withLock({ $0[key] }) {
            ids.append(contentsOf: cached)
            return
        }
        let result = merge(piece)
        cache.withLock { table in
            if table.count >= Self.cacheLimit { table.removeAll(keepingCapacity: true) }
            table[key] = result
        }
        ids.append(contentsOf: result)
    }

    /// Applies merges, lowest rank first (leftmost among equal ranks), until none applies.
    private func merge(_ piece: UnsafeBufferPointer<UInt8>) -> [Int32] {
        var symbols = piece.map { byteTokenIDs[Int($0)] }
        // ranks[i] is the rank of the pair (symbols[i], symbols[i + 1]), or .max when it has no merge.
        var ranks = [UInt64](repeating: .max, count: symbols.count - 1)
        for index in 0..<ranks.count {
            ranks[index] = merges[Self.pairKey(symbols[index], symbols[index + 1])] ?? .max
        }
        while true {
            var best = UInt64.max
            var bestIndex = -1
            for index in 0..<ranks.count where ranks[index] < best {
                best = ranks[index]
                bestIndex = index
            }
            if bestIndex < 0 { break }
            symbols[bestIndex] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: bestIndex + 1)
            ranks.remove(at: bestIndex)
            if bestIndex > 0 {
                ranks[bestIndex - 1] = merges[Self.pairKey(symbols[bestIndex - 1], symbols[bestIndex])] ?? .max
            }
            if bestIndex < ranks.count {
                ranks[bestIndex] = merges[Self.pairKey(symbols[bestIndex], symbols[bestIndex + 1])] ?? .max
            }
        }
        return symbols
    }
}

/// A piece of at most 16 bytes packed into two words: a cheap, allocation-free cache key.
struct ShortPiece: Hashable, Sendable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0
    private var count: UInt8

    init?(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard bytes.count <= 16 else { return nil }
        count = UInt8(bytes.count)
        for (index, byte) in bytes.enumerated() {
            if index < 8 {
                low |= UInt64(byte) << (8 * UInt64(index))
            } else {
                high |= UInt64(byte) << (8 * UInt64(index - 8))
            }
        }
    }
}
