/// Everything a byte-level BPE tokenizer is built from, as read from files or given in code.
struct TokenizerDefinition {
    var vocabulary: [String: Int32]
    /// Merges in rank order.
    var merges: [(String, String)]
    /// Where the vocabulary, the merges and the special-token names came from, for error messages.
    var sources: (vocabulary: String, merges: String, specialTokens: String)
    var addedTokens: [AddedToken]
    var normalizesNFC: Bool
    var preTokenizer: PreTokenizer
    /// Token contents the post-processor puts before and after the text when special tokens are added.
    var prefixTokens: [String]
    var suffixTokens: [String]
    var bosToken: String?
    var eosToken: String?
    var padToken: String?
    var chatTemplate: String?
}
