/// Splits normalised text into the pieces that BPE encodes one at a time.
///
/// A hand-written scanner equivalent to the "Isolated" `Split` of the Qwen2 regex
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// (and of the Llama 3 regex, which differs only in taking up to three digits: `\p{N}{1,3}`).
/// `\p{L}` and `\p{N}` are the Unicode letter and number general categories, `\s` is White_Space.
struct PreTokenizer: Sendable {
    /// The most number scalars one piece holds (1 for Qwen2, 3 for Llama 3).
    let maxDigits: Int

    /// The regex of Qwen2 (and DeepSeek-R1-Distill-Qwen) tokenizers.
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// The regex of Llama 3 tokenizers.
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The scanner for a `Split` regex, or nil when the regex is not one this scanner implements.
    init?(pattern: String) {
        switch pattern {
        case Self.qwen2Pattern: maxDigits = 1
        case Self.llama3Pattern: maxDigits = 3
        default: return nil
        }
    }

    /// Calls `body` with the byte range of each piece of the UTF-8 text `bytes`, in order.
    func forEachPiece(in bytes: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        let end = bytes.count
        var start = 0
        while start < end {
            let next = pieceEnd(in: bytes, from: start)
            body(start..<next)
            start = next
        }
    }

    /// The end of the piece that starts at `start` (the first alternative of the regex that matches there).
    private func pieceEnd(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        let end = bytes.count
        let (first, firstLength) = decodeScalar(bytes, at: start)
        let afterFirst = start + firstLength
        let firstClass = CharacterClass.of(first)

        // (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if first == 0x27, afterFirst < end, let contractionEnd = contractionEnd(bytes, after: afterFirst) {
            return contractionEnd
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if firstClass == .letter {
            return letterRunEnd(bytes, from: afterFirst)
        }
        if firstClass != .number && firstClass != .newline && afterFirst < end {
            let (second, secondLength) = decodeScalar(bytes, at: afterFirst)
            if CharacterClass.of(second) == .letter {
                return letterRunEnd(bytes, from: afterFirst + secondLength)
            }
        }
        // \p{N}  (or \p{N}{1,maxDigits})
        if firstClass == .number {
            var position = afterFirst
            var count = 1
            while count < maxDigits, position < end {
                let (scalar, length) = decodeScalar(bytes, at: position)
                guard CharacterClass.of(scalar) == .number else { break }
                position += length
                count += 1
            }
            return position
        }
        //  ?[^\s\p{L}\p{N}]+[\r\n]*
        var symbolStart = -1
        if firstClass == .other {
            symbolStart = afterFirst
        } else if first == 0x20, afterFirst < end {
            let (second, secondLength) = decodeScalar(bytes, at: afterFirst)
            if CharacterClass.of(second) == .other { symbolStart = afterFirst + secondLength }
        }
        if symbolStart >= 0 {
            var position = symbolStart
            while position < end {
                let (scalar, length) = decodeScalar(bytes, at: position)
                guard CharacterClass.of(scalar) == .other else { break }
                position += length
            }
            while position < end, bytes[position] == 0x0A || bytes[position] == 0x0D { position += 1 }
            return position
        }
        // The first scalar is white space: \s*[\r\n]+ | \s+(?!\S) | \s+
        var position = start
        var lastNewlineEnd = -1
        var lastScalarStart = start
        while position < end {
            let (scalar, length) = decodeScalar(bytes, at: position)
            let scalarClass = CharacterClass.of(scalar)
            guard scalarClass == .space || scalarClass == .newline else { break }
            lastScalarStart = position
            position += length
            if scalarClass == .newline { lastNewlineEnd = position }
        }
        if lastNewlineEnd >= 0 { return lastNewlineEnd }
        if position == end || lastScalarStart == start { return position }
        return lastScalarStart
    }

    /// The end of `'s`, `'t`, `'re`, `'ve`, `'m`, `'ll` or `'d` (any case) after an apostrophe, if one follows.
    private func contractionEnd(_ bytes: UnsafeBufferPointer<UInt8>, after position: Int) -> Int? {
        let end = bytes.count
        let (scalar, length) = decodeScalar(bytes, at: position)
        switch scalar | 0x20 {
        case 0x73, 0x74, 0x6D, 0x64:  // s t m d
            if scalar < 0x80 { return position + length }
        default:
            break
        }
        if scalar == 0x17F { return position + length }  // ſ case-folds to s
        let next = position + length
        guard scalar < 0x80, next < end else { return nil }
        let follower = UInt32(bytes[next]) | 0x20
        switch (scalar | 0x20, follower) {
        case (0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C):  // re ve ll
            return next + 1
        default:
            return nil
        }
    }

    private func letterRunEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var position = start
        while position < bytes.count {
            let (scalar, length) = decodeScalar(bytes, at: position)
            guard CharacterClass.of(scalar) == .letter else { break }
            position += length
        }
        return position
    }
}

/// Decodes the scalar at `position` of valid UTF-8, returning its value and its length in bytes.
@inline(__always)
func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, at position: Int) -> (UInt32, Int) {
    let lead = UInt32(bytes[position])
    if lead < 0x80 { return (lead, 1) }
    if lead < 0xE0 {
        return (((lead & 0x1F) << 6) | (UInt32(bytes[position + 1]) & 0x3F), 2)
    }
    if lead < 0xF0 {
        return (((lead & 0x0F) << 12) | ((UInt32(bytes[position + 1]) & 0x3F) << 6)
            | (UInt32(bytes[position + 2]) & 0x3F), 3)
    }
    return (((lead & 0x07) << 18) | ((UInt32(bytes[position + 1]) & 0x3F) << 12)
        | ((UInt32(bytes[position + 2]) & 0x3F) << 6) | (UInt32(bytes[position + 3]) & 0x3F), 4)
}
