import RLModel

/// A small byte-level BPE tokenizer built on the spot: the 256 byte tokens, merges that make
/// `\boxed` one token, and the chat tokens, with a chat template in the DeepSeek-R1 style (the
/// generation prompt opens the think block).
enum TinyTokenizer {
    static let endOfText = "<|endoftext|>"
    static let chatTemplate = """
    {% for message in messages %}{% if message['role'] == 'user' %}<|user|>{{ message['content'] }}{% elif message['role'] == 'assistant' %}<|assistant|>{{ message['content'] }}<|endoftext|>{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}
    """

    static func make() throws -> Tokenizer {
        var vocabulary: [String: Int32] = [:]
        for (id, token) in Tokenizer.byteLevelAlphabet.enumerated() { vocabulary[token] = Int32(id) }
        let word = "\\boxed"
        var merges: [(String, String)] = []
        var prefix = String(word.prefix(1))
        for character in word.dropFirst() {
            merges.append((prefix, String(character)))
            prefix += String(character)
            vocabulary[prefix] = Int32(vocabulary.count)
        }
        let added = [endOfText, "<|user|>", "<|assistant|>", "<think>", "</think>"].enumerated().map { index, content in
            AddedToken(id: Int32(vocabulary.count + index), content: content, special: content == endOfText)
        }
        return try Tokenizer(vocabulary: vocabulary, merges: merges, addedTokens: added,
                             eosToken: endOfText, padToken: endOfText, chatTemplate: chatTemplate)
    }
}
