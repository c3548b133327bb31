/// Recursive-descent parser from (normalized) LaTeX or plain math bytes to a `MathNode`.
///
/// Bounded by construction: input length and nesting depth are limited, and every
/// loop consumes input, so parsing is linear in the input size.
struct LatexParser {
    static let maximumLength = 8_192
    static let maximumDepth = 64

    let bytes: [UInt8]
    var position = 0
    var depth = 0
    /// Nesting level of `(`, `[` and `\{`; plain-comma thousands separators only count at level 0.
    var bracketLevel = 0
    /// Nesting of `|…|`, so a `|` inside closes instead of opening.
    var absoluteLevel = 0
    /// Nesting of set bodies, where `:` and `|` separate a set-builder condition.
    var setBuilderLevel = 0

    /// Whether the answer was written as prose (no LaTeX), where a word after the value
    /// ("12 apples") ends the answer instead of multiplying it.
    let prose: Bool

    init(bytes: [UInt8], prose: Bool) {
        self.bytes = bytes
        self.prose = prose
    }

    /// Parses a whole answer; nil when the text is not a well-formed answer. `depth` is the
    /// nesting level of the caller when text inside `\text{}` or after a choice letter is re-parsed.
    /// `prose` marks answers taken from plain text (see `prose`).
    static func parse(_ text: some Collection<UInt8>, depth: Int = 0, prose: Bool = false) -> MathNode? {
        if text.count > maximumLength || depth > maximumDepth { return nil }
        let normalized = LatexNormalizer.normalize(text)
        if let choice = ChoiceAnswer.parse(normalized, depth: depth + 1) { return choice }
        var parser = LatexParser(bytes: normalized, prose: prose)
        parser.depth = depth
        guard let node = parser.parseAnswer() else { return nil }
        parser.skipSpace()
        parser.skipTrailingPunctuation()
        return parser.atEnd ? node : nil
    }

    // MARK: Cursor

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8 { position < bytes.count ? bytes[position] : 0 }
    func peek(_ offset: Int) -> UInt8 { position + offset < bytes.count ? bytes[position + offset] : 0 }

    func looksAt(_ literal: String) -> Bool { bytes.hasPrefix(Array(literal.utf8), at: position) }

    /// The command name at the cursor (`\frac` → "frac"), or nil when there is none.
    func commandName(at start: Int) -> String? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "\\") else { return nil }
        var end = start + 1
        while end < bytes.count, bytes[end].isASCIILetter { end += 1 }
        if end == start + 1 { return nil }
        return String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
    }

    func currentCommand() -> String? { commandName(at: position) }

    /// Consumes the command at the cursor when its name is `name`.
    mutating func consumeCommand(_ name: String) -> Bool {
        guard let found = currentCommand(), found == name else { return false }
        position += 1 + name.utf8.count
        return true
    }

    static let spacingCommands: Set<String> = [
        "quad", "qquad", "displaystyle", "textstyle", "limits", "left", "right", "big", "Big", "bigl", "bigr",
        "Bigl", "Bigr", "nonumber", "mathrel", "hspace", "space", "medspace", "thinspace", "negthinspace",
    ]

    /// Skips blanks and spacing commands (`\,`, `\!`, `\quad`, `~` …).
    mutating func skipSpace() {
        while position < bytes.count {
            let byte = bytes[position]
            if byte.isASCIISpace || byte == UInt8(ascii: "~") {
                position += 1
            } else if byte == UInt8(ascii: "\\") {
                let next = peek(1)
                if next == UInt8(ascii: ",") || next == UInt8(ascii: "!") || next == UInt8(ascii: ";")
                    || next == UInt8(ascii: ":") || next == UInt8(ascii: " ") || next == 10 {
                    position += 2
                } else if let name = currentCommand(), LatexParser.spacingCommands.contains(name) {
                    position += 1 + name.utf8.count
                    if name == "hspace" { _ = skipBracedRaw() }
                } else if currentCommand() == "dollarsign", !dollarSignPrecedesAmount() {
                    // A dollar sign after the amount or before other text marks nothing.
                    position += 11
                } else {
                    return
                }
            } else {
                return
            }
        }
    }

    /// Whether the `\dollarsign` at the cursor is followed by a number (`\$18.90`, `\$ 5`, `\$-3`).
    func dollarSignPrecedesAmount() -> Bool {
        var index = position + 11
        while index < bytes.count, bytes[index] == 32 { index += 1 }
        guard index < bytes.count else { return false }
        let byte = bytes[index]
        return byte.isASCIIDigit || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "\\")
            || byte == UInt8(ascii: "{")
    }

    mutating func skipTrailingPunctuation() {
        while !atEnd, current == UInt8(ascii: ".") || current == UInt8(ascii: ",") || current == UInt8(ascii: ";")
            || current == UInt8(ascii: "!") {
            position += 1
            skipSpace()
        }
    }

    /// Skips a `{…}` group without parsing it and returns its raw content.
    mutating func skipBracedRaw() -> ArraySlice<UInt8>? {
        skipSpace()
        guard current == UInt8(ascii: "{") else { return nil }
        var level = 0
        let start = position + 1
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\\") { position += 2; continue }
            if byte == UInt8(ascii: "{") { level += 1 }
            if byte == UInt8(ascii: "}") {
                level -= 1
                if level == 0 {
                    position += 1
                    return bytes[start..<(position - 1)]
                }
            }
            position += 1
        }
        return nil
    }

    mutating func enter() -> Bool {
        depth += 1
        return depth <= LatexParser.maximumDepth
    }

    mutating func leave() { depth -= 1 }

    // MARK: Answers, lists and relations

    /// A comma/`or`/`and`-separated list of relations; a single item is returned as is.
    /// Semicolons separate groups: `p=5, q=2; p=7, q=2` is a list of two lists (two solutions).
    mutating func parseAnswer() -> MathNode? {
        var groups: [[MathNode]] = [[]]
        while true {
            skipSpace()
            if atEnd { break }
            guard let item = parseRelation() else { return nil }
            groups[groups.count - 1].append(item)
            skipSpace()
            if current == UInt8(ascii: ";") { groups.append([]) }
            if !consumeListSeparator() { break }
            if atQualifier() {
                position = bytes.count
                break
            }
        }
        groups.removeAll { $0.isEmpty }
        guard groups.count > 1, groups.contains(where: { $0.count > 1 }) else {
            let items = groups.flatMap { $0 }
            if items.isEmpty { return nil }
            return items.count == 1 ? items[0] : .list(items)
        }
        return .list(groups.map { $0.count == 1 ? $0[0] : .list($0) })
    }

    /// Consumes `,`, `;`, `\text{ or }`, `\text{and}`, a bare `or`/`and`.
    mutating func consumeListSeparator() -> Bool {
        skipSpace()
        if current == UInt8(ascii: ",") || current == UInt8(ascii: ";") {
            position += 1
            skipSpace()
            _ = consumeConnectiveWord()
            return !atEnd
        }
        return consumeConnectiveWord()
    }

    mutating func consumeConnectiveWord() -> Bool {
        let saved = position
        if let name = currentCommand(), LatexParser.textCommands.contains(name) {
            position += 1 + name.utf8.count
            if let content = skipBracedRaw() {
                let word = String(decoding: content, as: UTF8.self).trimmedLowercased
                if word == "or" || word == "and" || word == "," || word == "or," || word == "and," || word.isEmpty {
                    skipSpace()
                    return true
                }
            }
            position = saved
            return false
        }
        for word in ["or", "and"] where looksAt(word) && !(peek(word.utf8.count).isASCIILetter) && !precededByLetter() {
            position += word.utf8.count
            skipSpace()
            return true
        }
        return false
    }

    /// A bare `and` / `or` between answers (not the letters of a product).
    func atConnectiveWord() -> Bool {
        guard !precededByLetter() else { return false }
        for word in ["and", "or"] where looksAt(word) && !peek(word.utf8.count).isASCIILetter { return true }
        return false
    }

    func precededByLetter() -> Bool { position > 0 && bytes[position - 1].isASCIILetter }

    mutating func parseRelation() -> MathNode? {
        guard let first = parseUnion() else { return nil }
        var steps: [RelationStep] = []
        while true {
            skipSpace()
            guard let relation = consumeRelation() else { break }
            guard let rhs = parseUnion() else { return nil }
            steps.append(RelationStep(relation: relation, rhs: rhs))
        }
        if steps.isEmpty { return first }
        return .relation(first: first, rest: steps)
    }

    mutating func consumeRelation() -> Relation? {
        switch current {
        case UInt8(ascii: "="):
            position += 1
            if current == UInt8(ascii: "=") { position += 1 }
            return .equal
        case UInt8(ascii: "<"):
            position += 1
            if current == UInt8(ascii: "=") { position += 1; return .lessOrEqual }
            return .less
        case UInt8(ascii: ">"):
            position += 1
            if current == UInt8(ascii: "=") { position += 1; return .greaterOrEqual }
            return .greater
        case UInt8(ascii: "!") where peek(1) == UInt8(ascii: "="):
            position += 2
            return .notEqual
        case UInt8(ascii: "\\"):
            guard let name = currentCommand() else { return nil }
            let relation: Relation
            switch name {
            case "le", "leq", "leqslant", "leqq": relation = .lessOrEqual
            case "ge", "geq", "geqslant", "geqq": relation = .greaterOrEqual
            case "lt": relation = .less
            case "gt": relation = .greater
            case "ne", "neq": relation = .notEqual
            case "in": relation = .elementOf
            case "equiv", "coloneqq": relation = .equal
            case "approx", "simeq", "sim": relation = .approximately
            default: return nil
            }
            position += 1 + name.utf8.count
            return relation
        default:
            return nil
        }
    }

    mutating func parseUnion() -> MathNode? {
        guard let first = parseSum() else { return nil }
        var parts = [first]
        while true {
            skipSpace()
            guard consumeCommand("cup") else { break }
            guard let next = parseSum() else { return nil }
            parts.append(next)
        }
        return parts.count == 1 ? first : .union(parts)
    }
}
