/// A token matched as a whole in the raw text before BPE (Hugging Face "added token").
public struct AddedToken: Sendable, Hashable {
    /// The token's id.
    public var id: Int32
    /// The exact text the token stands for.
    public var content: String
    /// Whether decoding with `skipSpecialTokens` drops it (BOS, EOS, padding, ...).
    public var special: Bool
    /// Whether it is matched in the normalised text (true) or in the raw text (false).
    public var normalized: Bool
    /// Whether white space just before a match is taken into the token.
    public var lstrip: Bool
    /// Whether white space just after a match is taken into the token.
    public var rstrip: Bool
    /// Whether it only matches as a whole word (no letter, digit or `_` on either side).
    public var singleWord: Bool

    public init(id: Int32, content: String, special: Bool, normalized: Bool = false,
                lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.normalized = normalized
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
    }
}
