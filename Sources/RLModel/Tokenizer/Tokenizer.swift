import FoundationEssentials

/// A byte-level BPE tokenizer (GPT-2 / Qwen2 family) loaded from Hugging Face files or built in code.
///
/// Encoding: added tokens are found first (leftmost, longest), the text between them is NFC-normalised,
/// split into pieces by the pre-tokenizer regex, shown in the byte-level alphabet and merged by BPE.
public final class Tokenizer: Sendable {
    /// One more than the highest token id (vocabulary and added tokens).
    public let vocabularySize: Int
    /// The beginning-of-sequence token id, when the tokenizer names one.
    public let bosTokenID: Int32?
    /// The end-of-sequence token id, when the tokenizer names one.
    public let eosTokenID: Int32?
    /// The padding token id, when the tokenizer names one.
    public let padTokenID: Int32?
    /// The added tokens, by id.
    public let addedTokens: [AddedToken]
    /// The Jinja chat template from tokenizer_config.json, if any.
    public let chatTemplate: String?

    /// The parsed chat template (a parse error is reported when the template is used).
    let compiledChatTemplate: Result<ChatTemplate, any Error>?
    let bosToken: String?
    let eosToken: String?
    let padToken: String?
    let prefixIDs: [Int32]
    let suffixIDs: [Int32]
    let normalizesNFC: Bool
    let preTokenizer: PreTokenizer
    let model: BytePairEncoder
    /// Merges in rank order, as (left id, right id).
    let mergePairs: [(Int32, Int32)]
    private let rawAddedTokens: AddedTokenMatcher
    private let normalizedAddedTokens: AddedTokenMatcher
    private let idToToken: [String?]
    private let tokenToID: [String: Int32]
    private let isSpecial: [Bool]
    /// The bytes of token `id` are `tokenBytes[tokenByteOffsets[id]..<tokenByteOffsets[id + 1]]`.
    private let tokenBytes: [UInt8]
    private let tokenByteOffsets: [Int]

    /// Loads `tokenizer.json` (with `tokenizer_config.json` when present for special tokens and the
    /// chat template), or else `vocab.json` + `merges.txt` + `tokenizer_config.json` (Qwen2 style,
    /// added tokens from its `added_tokens_decoder`).
    public convenience init(directory: URL) throws {
        try self.init(definition: TokenizerFiles.read(directory: directory))
    }

    /// Builds a Qwen2-style tokenizer (NFC, Qwen2 pre-tokenizer regex, byte-level BPE) in code.
    ///
    /// The vocabulary must hold the 256 tokens of `byteLevelAlphabet`; merges are in rank order and
    /// every merge's parts and result must be in the vocabulary. `addBOS` puts `bosToken` before
    /// encoded text when special tokens are added.
    public convenience init(vocabulary: [String: Int32], merges: [(String, String)], addedTokens: [AddedToken] = [],
                            bosToken: String? = nil, eosToken: String? = nil, padToken: String? = nil,
                            addBOS: Bool = false, chatTemplate: String? = nil) throws {
        try self.init(definition: TokenizerDefinition(
            vocabulary: vocabulary, merges: merges,
            sources: ("vocabulary given in code", "merges given in code", "special tokens given in code"),
            addedTokens: addedTokens,
            normalizesNFC: true, preTokenizer: PreTokenizer(pattern: PreTokenizer.qwen2Pattern)!,
            prefixTokens: addBOS ? bosToken.map { [$0] } ?? [] : [], suffixTokens: [],
            bosToken: bosToken, eosToken: eosToken, padToken: padToken, chatTemplate: chatTemplate))
    }

    /// The 256 single-byte tokens of the byte-level alphabet, in byte order (`Ġ` is the space byte).
    public static let byteLevelAlphabet: [String] = ByteLevelAlphabet.scalars.map { String($0) }

    /// Token ids above this are refused (they would make the id tables huge).
    private static let maximumID: Int32 = 1 << 24

    init(definition: TokenizerDefinition) throws {
        let sources = definition.sources
        var tokenToID = definition.vocabulary
        for token in definition.addedTokens { tokenToID[token.content] = token.id }
        for (token, id) in tokenToID where id < 0 || id > Self.maximumID {
            throw TokenizerError(file: sources.vocabulary, problem: "token \"\(token)\" has id \(id), outside 0...\(Self.maximumID)")
        }
        let size = Int((tokenToID.values.max() ?? -1) + 1)
        var idToToken = [String?](repeating: nil, count: size)
        for (token, id) in tokenToID { idToToken[Int(id)] = token }
        var byteTokenIDs: [Int32] = []
        for (byte, scalar) in ByteLevelAlphabet.scalars.enumerated() {
            guard let id = definition.vocabulary[String(scalar)] else {
                throw TokenizerError(file: sources.vocabulary, problem: "the vocabulary lacks the byte-level token \"\(scalar)\" for byte \(byte)")
            }
            byteTokenIDs.append(id)
        }
        var mergeTable: [UInt64: UInt64] = [:]
        mergeTable.reserveCapacity(definition.merges.count)
        var mergePairs: [(Int32, Int32)] = []
        mergePairs.reserveCapacity(definition.merges.count)
        for (rank, (left, right)) in definition.merges.enumerated() {
            func id(_ token: String, _ role: String) throws -> Int32 {
                guard let id = definition.vocabulary[token] else {
                    throw TokenizerError(file: sources.merges, problem: "merge \(rank) \"\(left) \(right)\": \(role) \"\(token)\" is not in the vocabulary")
                }
                return id
            }
            let pair = (try id(left, "part"), try id(right, "part"))
            let merged = try id(left + right, "result")
            let key = BytePairEncoder.pairKey(pair.0, pair.1)
            mergeTable[key] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: merged))  // a repeated merge: the last rank counts, as in HF
            mergePairs.append(pair)
        }
        func specialID(_ token: String?, _ name: String) throws -> Int32? {
            guard let token else { return nil }
            guard let id = tokenToID[token] else {
                throw TokenizerError(file: sources.specialTokens, problem: "\(name) \"\(token)\" is neither in the vocabulary nor an added token")
            }
            return id
        }
        var isSpecial = [Bool](repeating: false, count: size)
        for token in definition.addedTokens where token.special { isSpecial[Int(token.id)] = true }
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]
        offsets.reserveCapacity(size + 1)
        for token in idToToken {
            if let token { bytes += ByteLevelAlphabet.decode(token) }
            offsets.append(bytes.count)
        }

        vocabularySize = size
        bosTokenID = try specialID(definition.bosToken, "bos_token")
        eosTokenID = try specialID(definition.eosToken, "eos_token")
        padTokenID = try specialID(definition.padToken, "pad_token")
        prefixIDs = try definition.prefixTokens.map { try specialID($0, "post-processor token")! }
        suffixIDs = try definition.suffixTokens.map { try specialID($0, "post-processor token")! }
        addedTokens = definition.addedTokens.sorted { $0.id < $1.id }
        chatTemplate = definition.chatTemplate
        compiledChatTemplate = definition.chatTemplate.map { source in Result { try ChatTemplate(source) } }
        bosToken = definition.bosToken
        eosToken = definition.eosToken
        padToken = definition.padToken
        normalizesNFC = definition.normalizesNFC
        preTokenizer = definition.preTokenizer
        model = BytePairEncoder(byteTokenIDs: byteTokenIDs, merges: mergeTable)
        self.mergePairs = mergePairs
        rawAddedTokens = AddedTokenMatcher(definition.addedTokens.filter { !$0.normalized })
        normalizedAddedTokens = AddedTokenMatcher(definition.addedTokens.filter { $0.normalized })
        self.idToToken = idToToken
        self.tokenToID = tokenToID
        self.isSpecial = isSpecial
        tokenBytes = bytes
        tokenByteOffsets = offsets
    }

    /// The id of a token (vocabulary string in the byte-level alphabet, or added token content).
    public func tokenID(for token: String) -> Int32? { tokenToID[token] }

    /// The token string of an id (byte-level alphabet for vocabulary tokens), nil for an unknown id.
    public func token(for id: Int32) -> String? {
        id >= 0 && Int(id) < idToToken.count ? idToToken[Int(id)] : nil
    }

    /// Whether `id` is an added token marked special (dropped by `decode(_:skipSpecialTokens: true)`).
    public func isSpecialToken(_ id: Int32) -> Bool {
        id >= 0 && Int(id) < isSpecial.count && isSpecial[Int(id)]
    }

    /// The token ids of `text`; `addSpecialTokens` adds the post-processor's tokens (BOS) around them.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        if addSpecialTokens { ids += prefixIDs }
        var text = text
        text.withUTF8 { raw in
            for segment in rawAddedTokens.split(raw) {
                switch segment {
                case .token(let id): ids.append(id)
                case .text(let range): encodeUnmatched(UnsafeBufferPointer(rebasing: raw[range]), into: &ids)
                }
            }
        }
        if addSpecialTokens { ids += suffixIDs }
        return ids
    }

    /// Normalises text that holds no raw-matched added token, then encodes it.
    private func encodeUnmatched(_ raw: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        guard normalizesNFC, UnicodeNFC.mayChange(raw) else {
            encodeNormalized(raw, into: &ids)
            return
        }
        var normalized = UnicodeNFC.normalize(String(decoding: raw, as: UTF8.self))
        normalized.withUTF8 { encodeNormalized($0, into: &ids) }
    }

    private func encodeNormalized(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        if normalizedAddedTokens.isEmpty {
            encodePieces(text, into: &ids)
            return
        }
        for segment in normalizedAddedTokens.split(text) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let range): encodePieces(UnsafeBufferPointer(rebasing: text[range]), into: &ids)
            }
        }
    }

    private func encodePieces(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) {
        preTokenizer.forEachPiece(in: text) { range in
            model.encode(UnsafeBufferPointer(rebasing: text[range]), into: &ids)
        }
    }

    /// The text of token ids (ids the tokenizer does not know are skipped); invalid UTF-8 becomes U+FFFD.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where !(skipSpecialTokens && isSpecialToken(id)) {
            appendBytes(of: id, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the bytes token `id` stands for (nothing for an unknown id).
    func appendBytes(of id: Int32, to bytes: inout [UInt8]) {
        guard id >= 0, Int(id) < vocabularySize else { return }
        bytes += tokenBytes[tokenByteOffsets[Int(id)]..<tokenByteOffsets[Int(id) + 1]]
    }
}
