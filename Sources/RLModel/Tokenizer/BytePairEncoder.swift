import Synchronization

/// The BPE model of a byte-level tokenizer: merges byte tokens of one pre-tokenized piece by rank.
///
/// Symbols are token ids from the start (one per byte) and the merge table maps an adjacent pair
/// of ids to its rank and result. Short pieces keep the rank of every adjacent pair in a small
/// array (each merge: two table look-ups and a scan for the lowest rank); long pieces use a
/// priority queue over a linked list, so a run of thousands of bytes stays O(n log n).
/// Pieces of up to 16 bytes are cached.
final class BytePairEncoder: Sendable {
    /// The token id of each single byte.
    let byteTokenIDs: [Int32]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
    private let cache = Mutex<[ShortPiece: [Int32]]>([:])
    private static let cacheLimit = 1 << 18
    /// Pieces longer than this use the priority queue.
    private static let longPiece = 32

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
        if piece.count > Self.longPiece { return mergeLong(piece) }
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

    /// `merge` for long pieces: a min-heap of (rank, position) over a doubly linked list of symbols.
    /// Entries go stale when a neighbour merges; a popped entry is used only if its pair still has that rank.
    private func mergeLong(_ piece: UnsafeBufferPointer<UInt8>) -> [Int32] {
        let count = piece.count
        var symbols = piece.map { byteTokenIDs[Int($0)] }
        var next = Array(1...count)  // count = none
        var previous = Array(-1..<(count - 1))  // -1 = none
        var alive = [Bool](repeating: true, count: count)
        var queue = MinHeap()
        func rank(at position: Int) -> UInt64 {
            guard next[position] < count else { return .max }
            return merges[Self.pairKey(symbols[position], symbols[next[position]])] ?? .max
        }
        func push(_ position: Int) {
            let entry = rank(at: position)
            if entry != .max { queue.push((entry & 0xFFFF_FFFF_0000_0000) | UInt64(position)) }
        }
        for position in 0..<(count - 1) { push(position) }
        while let top = queue.pop() {
            let position = Int(top & 0xFFFF_FFFF)
            let entry = rank(at: position)
            guard alive[position], entry != .max, entry >> 32 == top >> 32 else { continue }
            let removed = next[position]
            symbols[position] = Int32(truncatingIfNeeded: entry & 0xFFFF_FFFF)
            alive[removed] = false
            next[position] = next[removed]
            if next[removed] < count { previous[next[removed]] = position }
            if previous[position] >= 0 { push(previous[position]) }
            push(position)
        }
        return (0..<count).compactMap { alive[$0] ? symbols[$0] : nil }
    }
}

/// A binary min-heap of 64-bit keys.
struct MinHeap {
    private var keys: [UInt64] = []

    mutating func push(_ key: UInt64) {
        keys.append(key)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard keys[child] < keys[parent] else { break }
            keys.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = keys.first else { return nil }
        let last = keys.removeLast()
        if !keys.isEmpty {
            keys[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                guard left < keys.count else { break }
                let right = left + 1
                let smaller = right < keys.count && keys[right] < keys[left] ? right : left
                guard keys[smaller] < keys[parent] else { break }
                keys.swapAt(smaller, parent)
                parent = smaller
            }
        }
        return top
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
