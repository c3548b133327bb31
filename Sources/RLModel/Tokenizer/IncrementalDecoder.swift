/// Decodes generated token ids one at a time, returning only complete UTF-8 text.
///
/// A token can end in the middle of a multi-byte character (byte-level BPE splits emoji and CJK
/// characters across tokens); those bytes are held back until the character is complete.
/// The concatenated results equal `decode` of all the ids.
public struct IncrementalDecoder: Sendable {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one token and returns the text that is now complete (often empty for a partial character).
    public mutating func append(_ id: Int32) -> String {
        if skipSpecialTokens && tokenizer.isSpecialToken(id) { return "" }
        tokenizer.appendBytes(of: id, to: &pending)
        let complete = completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Returns the held-back bytes (an incomplete character becomes U+FFFD) and starts over.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The length of `bytes` without a trailing, still incomplete UTF-8 sequence.
    private func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var start = bytes.count
        // Find the lead byte of the last sequence (at most 3 continuation bytes back).
        while start > 0, bytes.count - start < 4 {
            start -= 1
            let byte = bytes[start]
            guard byte & 0xC0 == 0x80 else {
                let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return bytes.count - start < needed ? start : bytes.count
            }
        }
        return bytes.count
    }
}
