/// Finds added tokens in text: leftmost match first, longest token at that position.
struct AddedTokenMatcher: Sendable {
    /// One part of split text: plain text to normalise and encode, or an added token.
    enum Segment {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Candidate tokens by their first UTF-8 byte, longest first.
    private let candidates: [[(bytes: [UInt8], token: AddedToken)]]
    let isEmpty: Bool

    init(_ tokens: [AddedToken]) {
        var table = [[(bytes: [UInt8], token: AddedToken)]](repeating: [], count: 256)
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            table[Int(bytes[0])].append((bytes, token))
        }
        for index in table.indices {
            table[index].sort { $0.bytes.count > $1.bytes.count }
        }
        candidates = table
        isEmpty = tokens.allSatisfy { $0.content.isEmpty }
    }

    /// Splits the UTF-8 text into plain-text ranges and added tokens.
    func split(_ text: UnsafeBufferPointer<UInt8>) -> [Segment] {
        var segments: [Segment] = []
        var textStart = 0
        var position = 0
        while position < text.count {
            let group = candidates[Int(text[position])]
            var matched: (start: Int, end: Int, id: Int32)?
            for (bytes, token) in group where Self.matches(bytes, in: text, at: position) {
                let matchEnd = position + bytes.count
                if token.singleWord && !Self.isWordBoundary(text, start: position, end: matchEnd) { continue }
                var start = position
                var end = matchEnd
                if token.lstrip { while start > textStart, Self.isSpace(text[start - 1]) { start -= 1 } }
                if token.rstrip { while end < text.count, Self.isSpace(text[end]) { end += 1 } }
                matched = (start, end, token.id)
                break
            }
            guard let match = matched else {
                position += 1
                continue
            }
            if match.start > textStart { segments.append(.text(textStart..<match.start)) }
            segments.append(.token(match.id))
            textStart = match.end
            position = match.end
        }
        if textStart < text.count { segments.append(.text(textStart..<text.count)) }
        return segments
    }

    private static func matches(_ bytes: [UInt8], in text: UnsafeBufferPointer<UInt8>, at position: Int) -> Bool {
        guard position + bytes.count <= text.count else { return false }
        for index in 1..<bytes.count where text[position + index] != bytes[index] { return false }
        return true
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }

    /// Whether neither neighbour of the match is a word character (ASCII letter, digit, `_`, or any non-ASCII byte).
    private static func isWordBoundary(_ text: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> Bool {
        func isWord(_ byte: UInt8) -> Bool {
            byte >= 0x80 || byte == 0x5F || (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
        }
        if start > 0, isWord(text[start - 1]) { return false }
        if end < text.count, isWord(text[end]) { return false }
        return true
    }
}
