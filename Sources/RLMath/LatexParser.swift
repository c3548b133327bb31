/// Recursive-descent parser from (normalized) LaTeX or plain math bytes to a `MathNode`.
///
/// Bounded by construction: input length and nesting depth are limited, and every
/// loop consumes input, so parsing is linear in the input size.
struct LatexParser {
    static let maximumLength = 8_192
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private var position = 0
    private var depth = 0
    /// Nesting level of `(`, `[` and `\{`; plain-comma thousands separators only count at level 0.
    private var bracketLevel = 0
    /// Nesting of `|…|`, so a `|` inside closes instead of opening.
    private var absoluteLevel = 0
    /// Nesting of set bodies, where `:` and `|` separate a set-builder condition.
    private var setBuilderLevel = 0

    /// Whether the answer was written as prose (no LaTeX), where a word after the value
    /// ("12 apples") ends the answer instead of multiplying it.
    private let prose: Bool

    private init(bytes: [UInt8], prose: Bool) {
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

    private var atEnd: Bool { position >= bytes.count }
    private var current: UInt8 { position < bytes.count ? bytes[position] : 0 }
    private func peek(_ offset: Int) -> UInt8 { position + offset < bytes.count ? bytes[position + offset] : 0 }

    private func looksAt(_ literal: String) -> Bool { bytes.hasPrefix(Array(literal.utf8), at: position) }

    /// The command name at the cursor (`\frac` → "frac"), or nil when there is none.
    private func commandName(at start: Int) -> String? {
        guard start < bytes.count, bytes[start] == UInt8(ascii: "\\") else { return nil }
        var end = start + 1
        while end < bytes.count, bytes[end].isASCIILetter { end += 1 }
        if end == start + 1 { return nil }
        return String(decoding: bytes[(start + 1)..<end], as: UTF8.self)
    }

    private func currentCommand() -> String? { commandName(at: position) }

    /// Consumes the command at the cursor when its name is `name`.
    private mutating func consumeCommand(_ name: String) -> Bool {
        guard let found = currentCommand(), found == name else { return false }
        position += 1 + name.utf8.count
        return true
    }

    private static let spacingCommands: Set<String> = [
        "quad", "qquad", "displaystyle", "textstyle", "limits", "left", "right", "big", "Big", "bigl", "bigr",
        "Bigl", "Bigr", "nonumber", "mathrel", "hspace", "space", "medspace", "thinspace", "negthinspace",
    ]

    /// Skips blanks and spacing commands (`\,`, `\!`, `\quad`, `~` …).
    private mutating func skipSpace() {
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
                } else {
                    return
                }
            } else {
                return
            }
        }
    }

    private mutating func skipTrailingPunctuation() {
        while !atEnd, current == UInt8(ascii: ".") || current == UInt8(ascii: ",") || current == UInt8(ascii: ";")
            || current == UInt8(ascii: "!") {
            position += 1
            skipSpace()
        }
    }

    /// Skips a `{…}` group without parsing it and returns its raw content.
    private mutating func skipBracedRaw() -> ArraySlice<UInt8>? {
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

    private mutating func enter() -> Bool {
        depth += 1
        return depth <= LatexParser.maximumDepth
    }

    private mutating func leave() { depth -= 1 }

    // MARK: Answers, lists and relations

    /// A comma/`or`/`and`-separated list of relations; a single item is returned as is.
    private mutating func parseAnswer() -> MathNode? {
        var items: [MathNode] = []
        while true {
            skipSpace()
            if atEnd { break }
            guard let item = parseRelation() else { return nil }
            items.append(item)
            skipSpace()
            if !consumeListSeparator() { break }
            if atQualifier() {
                position = bytes.count
                break
            }
        }
        if items.isEmpty { return nil }
        return items.count == 1 ? items[0] : .list(items)
    }

    /// Consumes `,`, `;`, `\text{ or }`, `\text{and}`, a bare `or`/`and`.
    private mutating func consumeListSeparator() -> Bool {
        skipSpace()
        if current == UInt8(ascii: ",") || current == UInt8(ascii: ";") {
            position += 1
            skipSpace()
            _ = consumeConnectiveWord()
            return !atEnd
        }
        return consumeConnectiveWord()
    }

    private mutating func consumeConnectiveWord() -> Bool {
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
    private func atConnectiveWord() -> Bool {
        guard !precededByLetter() else { return false }
        for word in ["and", "or"] where looksAt(word) && !peek(word.utf8.count).isASCIILetter { return true }
        return false
    }

    private func precededByLetter() -> Bool { position > 0 && bytes[position - 1].isASCIILetter }

    private mutating func parseRelation() -> MathNode? {
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

    private mutating func consumeRelation() -> Relation? {
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

    private mutating func parseUnion() -> MathNode? {
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

    // MARK: Arithmetic

    private mutating func parseSum() -> MathNode? {
        guard enter() else { return nil }
        defer { leave() }
        skipSpace()
        var terms: [MathNode] = []
        var pending: MathNode?
        guard let first = parseSignedTerm() else { return nil }
        pending = first
        while true {
            skipSpace()
            if current == UInt8(ascii: "+") {
                position += 1
                guard let term = parseTerm() else { return nil }
                if let p = pending { terms.append(p) }
                pending = term
            } else if current == UInt8(ascii: "-") {
                position += 1
                guard let term = parseTerm() else { return nil }
                if let p = pending { terms.append(p) }
                pending = .negation(term)
            } else if consumeCommand("pm") || consumeCommand("mp") {
                guard let term = parseTerm() else { return nil }
                let left: MathNode = terms.isEmpty ? (pending ?? .zero) : .sum(terms + [pending ?? .zero])
                terms = []
                pending = .plusMinus(left, term)
            } else {
                break
            }
        }
        if let p = pending { terms.append(p) }
        return terms.count == 1 ? terms[0] : .sum(terms)
    }

    /// A term with an optional leading sign or `\pm`.
    private mutating func parseSignedTerm() -> MathNode? {
        guard enter() else { return nil }
        defer { leave() }
        skipSpace()
        if current == UInt8(ascii: "-") {
            position += 1
            return parseSignedTerm().map { .negation($0) }
        }
        if current == UInt8(ascii: "+") {
            position += 1
            return parseSignedTerm()
        }
        if consumeCommand("pm") || consumeCommand("mp") {
            return parseTerm().map { .plusMinus(.zero, $0) }
        }
        return parseTerm()
    }

    private mutating func parseTerm() -> MathNode? {
        guard enter() else { return nil }
        defer { leave() }
        skipSpace()
        guard var result = parseFactor() else { return nil }
        var factors: [MathNode] = []
        while true {
            skipSpace()
            if atEnd { break }
            if current == UInt8(ascii: "*") || consumeCommand("cdot") || consumeCommand("times") || consumeCommand("ast") {
                if current == UInt8(ascii: "*") { position += 1 }
                guard let next = parseFactor() else { return nil }
                factors.append(result)
                result = next
            } else if current == UInt8(ascii: "/") || consumeCommand("div") || isRatioColon() {
                if current == UInt8(ascii: "/") || current == UInt8(ascii: ":") { position += 1 }
                guard let divisor = parseFactor() else { return nil }
                result = .quotient(factors.isEmpty ? result : .product(factors + [result]), divisor)
                factors = []
            } else if consumeUnit() {
                continue
            } else if factors.isEmpty, case .number(let whole) = result, whole.isInteger, !whole.isNegative,
                      let fraction = plainMixedFraction() {
                result = .number(whole + fraction)
            } else if startsImplicitFactor() {
                let before = position
                guard let next = parseFactor() else { return nil }
                if position == before { break }
                if case .number(let whole) = result, whole.isInteger, !whole.isNegative, factors.isEmpty,
                   case .quotient(.number(let n), .number(let d)) = next, let fraction = n.divided(by: d),
                   isLiteralFraction(startingAt: before) {
                    result = .number(whole + fraction)
                    continue
                }
                factors.append(result)
                result = next
            } else {
                break
            }
        }
        if factors.isEmpty { return result }
        return .product(factors + [result])
    }

    /// A ratio `a:b` (read as a/b) between two values; not `:=` and not inside `\{x : …\}`.
    private func isRatioColon() -> Bool {
        guard current == UInt8(ascii: ":"), peek(1) != UInt8(ascii: "=") else { return false }
        var next = position + 1
        while next < bytes.count, bytes[next] == 32 { next += 1 }
        return next < bytes.count && (bytes[next].isASCIIDigit || bytes[next] == UInt8(ascii: "\\") || bytes[next] == UInt8(ascii: "("))
            && setBuilderLevel == 0
    }

    /// In plain text, `2 1/2` is a mixed number: a space, then `digits/digits` not followed by more math.
    private mutating func plainMixedFraction() -> Rational? {
        guard position > 0, bytes[position - 1] == 32, current.isASCIIDigit else { return nil }
        var index = position
        var numerator: [UInt8] = []
        while index < bytes.count, bytes[index].isASCIIDigit { numerator.append(bytes[index]); index += 1 }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "/") else { return nil }
        index += 1
        var denominator: [UInt8] = []
        while index < bytes.count, bytes[index].isASCIIDigit { denominator.append(bytes[index]); index += 1 }
        if index < bytes.count, !(bytes[index].isASCIISpace || bytes[index] == UInt8(ascii: ",") || bytes[index] == UInt8(ascii: ")")) { return nil }
        guard numerator.count <= 9, denominator.count <= 9, let n = BigInt(decimalDigits: numerator),
              let d = BigInt(decimalDigits: denominator), let fraction = Rational(numerator: n, denominator: d),
              n < d else { return nil }
        position = index
        return fraction
    }

    /// Whether the factor starting at `start` was written `\frac{digits}{digits}` (a mixed number's fraction).
    private func isLiteralFraction(startingAt start: Int) -> Bool {
        var index = start
        while index < bytes.count, bytes[index].isASCIISpace { index += 1 }
        return commandName(at: index).map { ["frac", "dfrac", "tfrac"].contains($0) } ?? false
    }

    /// Whether the cursor begins a factor that multiplies the previous one (`2x`, `3\sqrt{2}`, `(a)(b)`).
    private func startsImplicitFactor() -> Bool {
        let byte = current
        if byte.isASCIILetter { return !atConnectiveWord() }
        if byte.isASCIIDigit { return true }
        if byte == UInt8(ascii: ".") { return peek(1).isASCIIDigit }
        if byte == UInt8(ascii: "(") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "{") { return true }
        if byte == UInt8(ascii: "|") { return absoluteLevel == 0 }
        if byte == UInt8(ascii: "\\") {
            guard let name = currentCommand() else { return false }
            return !LatexParser.nonFactorCommands.contains(name)
        }
        return false
    }

    /// Commands that never start a factor (operators, relations, closers).
    private static let nonFactorCommands: Set<String> = [
        "cdot", "times", "div", "pm", "mp", "le", "leq", "leqslant", "ge", "geq", "geqslant", "lt", "gt", "ne", "neq",
        "in", "cup", "cap", "mid", "colon", "equiv", "approx", "simeq", "sim", "rangle", "rfloor", "rceil", "end", "over", "choose", "pmod", "bmod", "mod",
        "quad", "qquad", "text", "textbf", "mbox", "textrm", "textit", "coloneqq", "ast", "rbrace", "leqq", "geqq",
    ]

    private mutating func parseFactor() -> MathNode? {
        guard enter() else { return nil }
        defer { leave() }
        skipSpace()
        if current == UInt8(ascii: "-") {
            position += 1
            return parseFactor().map { .negation($0) }
        }
        guard var base = parsePrimary() else { return nil }
        while true {
            // Postfix operators and scripts bind tighter than multiplication.
            let saved = position
            skipSpace()
            if current == UInt8(ascii: "^") {
                position += 1
                skipSpace()
                if consumeCommand("circ") || looksAtBracedCommand("circ") {
                    base = .degrees(base)
                    skipTemperatureScale()
                    continue
                }
                if consumeCommand("prime") || looksAtBracedCommand("prime") || looksAtBracedCommand("prime\\prime") {
                    base = primed(base)
                    continue
                }
                guard let exponent = parseScriptArgument() else { return nil }
                if case .text(let suffix) = exponent, ["th", "st", "nd", "rd"].contains(suffix) { continue }
                base = .power(base, exponent)
            } else if current == UInt8(ascii: "!") && peek(1) != UInt8(ascii: "=") {
                position += 1
                base = .function(.factorial, [base])
            } else if current == UInt8(ascii: "'") {
                position += 1
                base = primed(base)
            } else if current == UInt8(ascii: "\\") && peek(1) == UInt8(ascii: "%") {
                position += 2
                base = .percent(base)
            } else if current == UInt8(ascii: "%") {
                position += 1
                base = .percent(base)
            } else if consumeCommand("circ") || consumeCommand("degree") {
                base = .degrees(base)
            } else if consumePercentWord() {
                base = .percent(base)
            } else {
                position = saved
                break
            }
        }
        return base
    }

    /// Skips the `C` / `F` of `20^\circ C` / `\mathrm{F}` (a temperature scale, not a variable).
    private mutating func skipTemperatureScale() {
        let saved = position
        skipSpace()
        if let name = currentCommand(), LatexParser.textCommands.contains(name) {
            position += 1 + name.utf8.count
            if let raw = skipBracedRaw(), raw.count == 1, raw.first == UInt8(ascii: "C") || raw.first == UInt8(ascii: "F") { return }
        } else if current == UInt8(ascii: "C") || current == UInt8(ascii: "F"), !peek(1).isASCIILetter, peek(1) != UInt8(ascii: "_") {
            position += 1
            return
        }
        position = saved
    }

    /// Consumes `percent`, `pct`, `percentage` (bare or in `\text{}`).
    private mutating func consumePercentWord() -> Bool {
        let saved = position
        var word: String
        if let name = currentCommand(), LatexParser.textCommands.contains(name) {
            position += 1 + name.utf8.count
            guard let raw = skipBracedRaw() else { position = saved; return false }
            word = String(decoding: raw, as: UTF8.self).trimmedLowercased
        } else {
            guard current.isASCIILetter, !precededByLetter() else { return false }
            var end = position
            while end < bytes.count, bytes[end].isASCIILetter { end += 1 }
            word = String(decoding: bytes[position..<end], as: UTF8.self).lowercased()
            position = end
        }
        if ["percent", "pct", "percentage", "per cent"].contains(word) { return true }
        position = saved
        return false
    }

    /// Consumes `{\circ}`-style braced single commands used as superscripts.
    private mutating func looksAtBracedCommand(_ name: String) -> Bool {
        let saved = position
        guard current == UInt8(ascii: "{") else { return false }
        position += 1
        skipSpace()
        var matched = true
        for part in name.split(separator: "\\") {
            skipSpace()
            if !consumeCommand(String(part)) { matched = false; break }
        }
        skipSpace()
        if matched && current == UInt8(ascii: "}") {
            position += 1
            return true
        }
        position = saved
        return false
    }

    private func primed(_ node: MathNode) -> MathNode {
        if case .variable(let name) = node { return .variable(name + "'") }
        return node
    }

    /// The argument of `^`, `_`, `\frac`, `\sqrt`: a braced group, one digit/letter, or one command.
    /// In plain text a digit run after `^` is taken whole (`2^10`).
    private mutating func parseScriptArgument(wholeDigits: Bool = true) -> MathNode? {
        guard enter() else { return nil }
        defer { leave() }
        skipSpace()
        if current == UInt8(ascii: "{") { return parseBracedGroup() }
        if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") {
            let negative = current == UInt8(ascii: "-")
            position += 1
            guard let inner = parseScriptArgument(wholeDigits: wholeDigits) else { return nil }
            return negative ? .negation(inner) : inner
        }
        if current.isASCIIDigit {
            if wholeDigits { return parseNumberLiteral() }
            let digit = Int(current - UInt8(ascii: "0"))
            position += 1
            return .number(Rational(digit))
        }
        if current.isASCIILetter {
            let letter = current
            position += 1
            return letterNode(letter)
        }
        if current == UInt8(ascii: "\\") { return parsePrimary() }
        if current == UInt8(ascii: "(") { return parsePrimary() }
        return nil
    }

    // MARK: Units

    private static let textCommands: Set<String> = ["text", "textbf", "mbox", "textrm", "textit", "textnormal", "mathrm", "mathbf", "mathit", "textsf", "operatorname", "boldsymbol", "mathsf"]

    /// Unit words accepted without a `\text{}` wrapper (never single letters, which are variables).
    private static let bareUnitWords: Set<String> = [
        "degrees", "degree", "dollars", "dollar", "cents", "cent", "units", "unit", "ways", "inches", "inch",
        "feet", "foot", "meters", "meter", "miles", "mile", "hours", "hour", "minutes", "minute", "seconds",
        "days", "years", "cm", "mm", "km", "kg", "sq", "square", "cubic", "students", "people", "points", "times",
    ]

    /// Skips a unit after a value: `\text{ cm}^2`, `\mbox{ inches}`, `\mathrm{kg}`, bare `degrees`.
    private mutating func consumeUnit(afterUnit: Bool = false) -> Bool {
        let saved = position
        if let name = currentCommand(), LatexParser.textCommands.contains(name) {
            position += 1 + name.utf8.count
            guard let content = skipBracedRaw() else { position = saved; return false }
            let word = String(decoding: content, as: UTF8.self).trimmedLowercased
            if word.hasPrefix("(mod") || word.hasPrefix("mod ") {
                position = bytes.count
                return true
            }
            let isWord = word.utf8.contains(where: { $0.isASCIILetter }) && word.utf8.allSatisfy(LatexParser.isUnitByte)
            let isSingleLetterMath = name.hasPrefix("math") && word.utf8.count == 1 && !afterUnit
            if !isWord || isSingleLetterMath || ["or", "and"].contains(word) || NumberWords.value(of: word) != nil {
                position = saved
                return false
            }
            if LatexParser.qualifierWords.contains(String(word.prefix { $0.isLetter })) {
                position = bytes.count
                return true
            }
            skipUnitPower()
            // A compound unit: \mathrm{~m} / \mathrm{s}.
            let beforeSlash = position
            skipSpace()
            if current == UInt8(ascii: "/") {
                position += 1
                skipSpace()
                if let next = currentCommand(), LatexParser.textCommands.contains(next), consumeUnit(afterUnit: true) { return true }
            }
            position = beforeSlash
            return true
        }
        if current.isASCIILetter && !precededByLetter() && atQualifier() {
            position = bytes.count
            return true
        }
        if current.isASCIILetter && !precededByLetter() {
            var end = position
            while end < bytes.count, bytes[end].isASCIILetter { end += 1 }
            let word = String(decoding: bytes[position..<end], as: UTF8.self).lowercased()
            if LatexParser.bareUnitWords.contains(word) {
                position = end
                skipUnitPower()
                return true
            }
            if prose, word.utf8.count >= 3, LatexParser.functionNames[word] == nil,
               !["sqrt", "infty", "inf", "infinity", "and"].contains(word) {
                position = bytes.count
                return true
            }
        }
        if consumeCommand("pmod") || consumeCommand("bmod") || consumeCommand("mod") {
            position = bytes.count
            return true
        }
        if current == UInt8(ascii: "("), commandName(at: position + 1) == "mod" {
            position = bytes.count
            return true
        }
        return false
    }

    /// Bytes allowed in a unit written in `\text{}`/`\mathrm{}` (`kcal m^{-2}`, `erg\,s^{-1}`, `~cm`).
    private static func isUnitByte(_ byte: UInt8) -> Bool {
        byte.isASCIILetter || byte.isASCIIDigit || byte == 32 || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
            || byte == UInt8(ascii: "^") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: ",")
            || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "-")
    }

    /// Words that start a qualifying clause after the answer (`\text{ for all } x`, `where b is …`).
    private static let qualifierWords: Set<String> = ["where", "for", "when", "if", "since", "with", "whenever", "provided", "so"]

    /// Whether a qualifying clause starts here (`where b is …`, `\text{ for all } x`); it ends the answer.
    private func atQualifier() -> Bool {
        var index = position
        if let name = currentCommand(), LatexParser.textCommands.contains(name) {
            index += 1 + name.utf8.count
            while index < bytes.count, bytes[index] == UInt8(ascii: "{") || bytes[index].isASCIISpace { index += 1 }
        }
        var end = index
        while end < bytes.count, bytes[end].isASCIILetter { end += 1 }
        let word = String(decoding: bytes[index..<end], as: UTF8.self).lowercased()
        return LatexParser.qualifierWords.contains(word)
    }

    private mutating func skipUnitPower() {
        let saved = position
        skipSpace()
        if current == UInt8(ascii: "^") {
            position += 1
            skipSpace()
            if current.isASCIIDigit { position += 1; return }
            if let raw = skipBracedRaw(), raw.allSatisfy({ $0.isASCIIDigit || $0.isASCIISpace || $0 == UInt8(ascii: "-") }) { return }
        }
        position = saved
    }

    // MARK: Primaries

    private mutating func parsePrimary() -> MathNode? {
        guard enter() else { return nil }
        defer { leave() }
        skipSpace()
        let byte = current
        if byte.isASCIIDigit || (byte == UInt8(ascii: ".") && peek(1).isASCIIDigit) {
            guard let number = parseNumberLiteral() else { return nil }
            return parseNumeralBase(number)
        }
        if byte.isASCIILetter { return parseLetters() }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: "["):
            return parseBracketed()
        case UInt8(ascii: "{"):
            return parseBracedGroup()
        case UInt8(ascii: "|"):
            position += 1
            absoluteLevel += 1
            let inner = parseSum()
            absoluteLevel -= 1
            skipSpace()
            guard let value = inner, current == UInt8(ascii: "|") else { return nil }
            position += 1
            return .function(.absolute, [value])
        case UInt8(ascii: "\\"):
            return parseCommand()
        default:
            return nil
        }
    }

    /// A numeral followed by `_8` / `_{5}` is a number in that base.
    private mutating func parseNumeralBase(_ number: MathNode) -> MathNode? {
        guard current == UInt8(ascii: "_"), case .number(let value) = number, value.isInteger, !value.isNegative else { return number }
        let saved = position
        position += 1
        guard let subscriptNode = parseScriptArgument(wholeDigits: true),
              case .number(let baseValue) = subscriptNode, let base = baseValue.numerator.int64Value,
              base >= 2 && base <= 36 else {
            position = saved
            return number
        }
        let digits = value.numerator.description
        guard digits.utf8.allSatisfy({ Int($0 - UInt8(ascii: "0")) < Int(base) }) else { return nil }
        return base == 10 ? number : .baseNumeral(digits: digits, base: Int(base))
    }

    /// Numbers: `12`, `3.5`, `.25`, `1.` , `4.\overline{6}`, `4.5e33`, thousands `10{,}000`, `10,\!080`, `32\,348`, `58,500`.
    private mutating func parseNumberLiteral() -> MathNode? {
        let start = position
        var integerDigits: [UInt8] = []
        while current.isASCIIDigit {
            integerDigits.append(current)
            position += 1
        }
        if !integerDigits.isEmpty && integerDigits.count <= 3 { consumeThousandsGroups(into: &integerDigits, numberStart: start) }
        var fractionDigits: [UInt8] = []
        var repeatingDigits: [UInt8] = []
        if current == UInt8(ascii: "."), !(peek(1) == UInt8(ascii: ".")) {
            position += 1
            while current.isASCIIDigit {
                fractionDigits.append(current)
                position += 1
            }
            if looksAt("\\overline") || looksAt("\\dot") {
                let saved = position
                position += looksAt("\\dot") ? 4 : 9
                if let raw = skipBracedRaw(), !raw.isEmpty, raw.allSatisfy({ $0.isASCIIDigit }) {
                    repeatingDigits = Array(raw)
                } else {
                    position = saved
                }
            }
        }
        if integerDigits.isEmpty && fractionDigits.isEmpty { return nil }
        if integerDigits.count + fractionDigits.count > 4_000 { return nil }
        var value = Rational(BigInt(decimalDigits: integerDigits + fractionDigits) ?? .zero)
        if !fractionDigits.isEmpty {
            value = value.divided(by: Rational(Exact.powerOfTen(fractionDigits.count))) ?? value
        }
        if !repeatingDigits.isEmpty, let period = BigInt(decimalDigits: repeatingDigits) {
            // 0.d…d(r…r) adds r / ((10^k − 1) · 10^m).
            let nines = Exact.powerOfTen(repeatingDigits.count) - .one
            let scale = nines * Exact.powerOfTen(fractionDigits.count)
            if let tail = Rational(numerator: period, denominator: scale) { value = value + tail }
        }
        // Scientific e-notation: 4.5e33, 6.63e-34, 1E+5.
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            var index = position + 1
            var negative = false
            if index < bytes.count && (bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+")) {
                negative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            var exponentDigits: [UInt8] = []
            while index < bytes.count, bytes[index].isASCIIDigit { exponentDigits.append(bytes[index]); index += 1 }
            if !exponentDigits.isEmpty && !(index < bytes.count && bytes[index].isASCIILetter) {
                guard exponentDigits.count <= 4, let exponent = Int(String(decoding: exponentDigits, as: UTF8.self)),
                      exponent <= Exact.maximumDecimalExponent else { return nil }
                position = index
                let scale = Rational(Exact.powerOfTen(exponent))
                value = negative ? (value.divided(by: scale) ?? value) : value * scale
            }
        }
        return .number(value)
    }

    /// Joins thousands groups: `{,}ddd`, `,\!ddd`, `\,ddd`, and plain `,ddd` when the whole run is grouped.
    private mutating func consumeThousandsGroups(into digits: inout [UInt8], numberStart: Int) {
        func groupEnd(at index: Int, explicitOnly: Bool) -> Int? {
            var i = index
            var explicit = false
            if bytes.hasPrefix(Array("{,}".utf8), at: i) {
                i += 3
                explicit = true
            } else if i < bytes.count && bytes[i] == UInt8(ascii: ",") {
                i += 1
                if bytes.hasPrefix(Array("\\!".utf8), at: i) { i += 2; explicit = true }
                while i < bytes.count && bytes[i] == 32 && explicit { i += 1 }
            } else if bytes.hasPrefix(Array("\\,".utf8), at: i) || bytes.hasPrefix(Array("\\ ".utf8), at: i) {
                i += 2
                explicit = true
            } else if i < bytes.count && bytes[i] == 32 && !explicitOnly {
                // "1 000": a plain space counts like a plain comma (whole run grouped, top level).
                i += 1
            } else {
                return nil
            }
            if explicitOnly && !explicit { return nil }
            guard i + 3 <= bytes.count, bytes[i].isASCIIDigit, bytes[i + 1].isASCIIDigit, bytes[i + 2].isASCIIDigit else { return nil }
            if i + 3 < bytes.count && bytes[i + 3].isASCIIDigit { return nil }
            return i + 3
        }
        // Plain commas only at top level, not inside a list, and only if every group is three digits.
        var previous = numberStart - 1
        while previous >= 0 && bytes[previous].isASCIISpace { previous -= 1 }
        let plainAllowed = bracketLevel == 0 && !(previous >= 0 && bytes[previous] == UInt8(ascii: ","))
        var cursor = position
        var plainChainValid = plainAllowed
        if plainAllowed {
            var probe = position
            while let end = groupEnd(at: probe, explicitOnly: false) { probe = end }
            if probe < bytes.count && bytes[probe] == UInt8(ascii: ",") && probe + 1 < bytes.count && bytes[probe + 1].isASCIIDigit {
                plainChainValid = false
            }
        }
        while let end = groupEnd(at: cursor, explicitOnly: !plainChainValid) {
            digits.append(contentsOf: bytes[(end - 3)..<end])
            cursor = end
        }
        position = cursor
    }

    /// Letters: variables (`x`, `r_0`), constants (`e`, `i`), plain-text functions (`sqrt`, `sin`) and words.
    private mutating func parseLetters() -> MathNode? {
        var end = position
        while end < bytes.count, bytes[end].isASCIILetter { end += 1 }
        let word = String(decoding: bytes[position..<end], as: UTF8.self)
        if word.utf8.count > 1 {
            if let function = LatexParser.functionNames[word] {
                // A function word without an argument ("5 min") is read letter by letter instead.
                let saved = position
                position = end
                if let applied = parseFunctionApplication(function) { return applied }
                position = saved
            }
            switch word {
            case "sqrt":
                position = end
                return parseScriptArgument(wholeDigits: true).map { .function(.root, [$0, .number(Rational(2))]) }
            case "pi":
                position = end
                return .constant(.pi)
            case "infty", "inf", "infinity":
                position = end
                return .constant(.infinity)
            default:
                break
            }
        }
        let letter = current
        position += 1
        guard let node = parseSubscriptedName(letterNode(letter), baseName: String(UnicodeScalar(letter))) else { return nil }
        return functionValue(of: node)
    }

    /// `I(0)`, `x(t)`, `f(2)`: a variable applied to one number or letter is the value of a function,
    /// kept as one opaque quantity (so `I(0) e^{-t}` is not `I · 0 · e^{-t}`). `k(k+1)` stays a product.
    private mutating func functionValue(of node: MathNode) -> MathNode {
        guard case .variable(let name) = node, current == UInt8(ascii: "(") else { return node }
        var end = position + 1
        while end < bytes.count, bytes[end] == 32 { end += 1 }
        let argumentStart = end
        if end < bytes.count, bytes[end].isASCIIDigit {
            while end < bytes.count, bytes[end].isASCIIDigit { end += 1 }
        } else if end < bytes.count, bytes[end].isASCIILetter, !(end + 1 < bytes.count && bytes[end + 1].isASCIILetter) {
            end += 1
        } else {
            return node
        }
        let argumentEnd = end
        while end < bytes.count, bytes[end] == 32 { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: ")") else { return node }
        position = end + 1
        return .variable(name + "(" + String(decoding: bytes[argumentStart..<argumentEnd], as: UTF8.self) + ")")
    }

    private func letterNode(_ letter: UInt8) -> MathNode {
        switch letter {
        case UInt8(ascii: "e"): return .constant(.e)
        case UInt8(ascii: "i"): return .constant(.imaginaryUnit)
        default: return .variable(String(UnicodeScalar(letter)))
        }
    }

    /// `x_1`, `r_{0}`, `\rho_{0}`, `L_{\odot}`: the subscript becomes part of the variable's name.
    private mutating func parseSubscriptedName(_ node: MathNode, baseName: String) -> MathNode? {
        guard current == UInt8(ascii: "_") else { return node }
        position += 1
        skipSpace()
        var raw: [UInt8]
        if current == UInt8(ascii: "{") {
            guard let content = skipBracedRaw() else { return nil }
            raw = Array(content)
        } else if current == UInt8(ascii: "\\"), let name = commandName(at: position) {
            raw = Array(bytes[position..<(position + 1 + name.utf8.count)])
            position += 1 + name.utf8.count
        } else if current.isASCIIDigit || current.isASCIILetter {
            raw = [current]
            position += 1
        } else {
            return nil
        }
        raw.removeAll { $0.isASCIISpace || $0 == UInt8(ascii: "{") || $0 == UInt8(ascii: "}") || $0 == UInt8(ascii: "\\") }
        let suffix = String(decoding: raw, as: UTF8.self).replacingTextMarkers
        return .variable(baseName + "_" + suffix)
    }

    // MARK: Brackets, tuples, intervals

    private mutating func parseBracketed() -> MathNode? {
        let opener = current
        position += 1
        bracketLevel += 1
        defer { bracketLevel -= 1 }
        var items: [MathNode] = []
        while true {
            skipSpace()
            guard let item = parseRelation() else { return nil }
            items.append(item)
            skipSpace()
            if current == UInt8(ascii: ",") || current == UInt8(ascii: ";") {
                position += 1
                continue
            }
            break
        }
        skipSpace()
        let closer = current
        guard closer == UInt8(ascii: ")") || closer == UInt8(ascii: "]") else { return nil }
        position += 1
        let openIsSquare = opener == UInt8(ascii: "[")
        let closeIsSquare = closer == UInt8(ascii: "]")
        if items.count == 1 {
            if openIsSquare == closeIsSquare { return items[0] }
            return nil
        }
        if items.count == 2 && (openIsSquare || closeIsSquare || items.contains(where: { $0.isInfinite })) {
            return .interval(lower: items[0], upper: items[1], lowerClosed: openIsSquare, upperClosed: closeIsSquare)
        }
        if openIsSquare != closeIsSquare { return nil }
        return .tuple(items)
    }

    /// `{…}`: a group, which may hold `a \over b` or `n \choose k`.
    private mutating func parseBracedGroup() -> MathNode? {
        guard current == UInt8(ascii: "{") else { return nil }
        position += 1
        skipSpace()
        if current == UInt8(ascii: "}") { return nil }
        let savedLevel = bracketLevel
        bracketLevel = 0
        defer { bracketLevel = savedLevel }
        guard let inner = parseAnswer() else { return nil }
        skipSpace()
        var result = inner
        if consumeCommand("over") {
            guard let denominator = parseAnswer() else { return nil }
            result = .quotient(inner, denominator)
        } else if consumeCommand("choose") {
            guard let k = parseAnswer() else { return nil }
            result = .function(.binomial, [inner, k])
        }
        skipSpace()
        guard current == UInt8(ascii: "}") else { return nil }
        position += 1
        return result
    }

    private mutating func parseDelimited(closing name: String) -> MathNode? {
        guard let inner = parseSum() else { return nil }
        skipSpace()
        guard consumeCommand(name) else { return nil }
        return inner
    }

    // MARK: Commands

    private static let functionNames: [String: MathFunction] = [
        "sin": .sin, "cos": .cos, "tan": .tan, "cot": .cot, "sec": .sec, "csc": .csc,
        "arcsin": .arcsin, "arccos": .arccos, "arctan": .arctan, "asin": .arcsin, "acos": .arccos, "atan": .arctan,
        "sinh": .sinh, "cosh": .cosh, "tanh": .tanh, "exp": .exp, "ln": .ln, "log": .log, "lg": .log,
        "min": .minimum, "max": .maximum, "gcd": .gcd, "lcm": .lcm,
    ]

    private static let greekAndSymbols: Set<String> = [
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
        "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
        "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
        "hbar", "ell", "odot", "star", "Pi", "angle", "triangle",
    ]

    private static let decorations: Set<String> = ["dot", "ddot", "hat", "bar", "vec", "tilde", "overline", "widehat", "overrightarrow", "mathcal", "mathbb", "mathscr", "mathfrak"]

    private mutating func parseCommand() -> MathNode? {
        guard let name = currentCommand() else {
            if peek(1) == UInt8(ascii: "{") {
                position += 2
                return parseSetBody()
            }
            return nil
        }
        position += 1 + name.utf8.count
        if let function = LatexParser.functionNames[name] { return parseFunctionApplication(function) }
        if LatexParser.greekAndSymbols.contains(name) {
            if name == "Pi" { return .constant(.pi) }
            return parseSubscriptedName(.variable(name), baseName: name)
        }
        if LatexParser.decorations.contains(name) {
            guard let raw = skipBracedRaw() ?? singleRawToken() else { return nil }
            let inner = String(decoding: raw.filter { !$0.isASCIISpace && $0 != UInt8(ascii: "\\") }, as: UTF8.self)
            return parseSubscriptedName(.variable("\(name)(\(inner))"), baseName: "\(name)(\(inner))")
        }
        switch name {
        case "frac", "dfrac", "tfrac", "cfrac":
            guard let numerator = parseScriptArgument(wholeDigits: false),
                  let denominator = parseScriptArgument(wholeDigits: false) else { return nil }
            return .quotient(numerator, denominator)
        case "sqrt":
            var degree = MathNode.number(Rational(2))
            skipSpace()
            if current == UInt8(ascii: "[") {
                position += 1
                guard let d = parseSum() else { return nil }
                skipSpace()
                guard current == UInt8(ascii: "]") else { return nil }
                position += 1
                degree = d
            }
            guard let radicand = parseScriptArgument(wholeDigits: false) else { return nil }
            return .function(.root, [radicand, degree])
        case "binom", "dbinom", "tbinom":
            guard let n = parseScriptArgument(wholeDigits: false), let k = parseScriptArgument(wholeDigits: false) else { return nil }
            return .function(.binomial, [n, k])
        case "pi": return .constant(.pi)
        case "infty", "infin": return .constant(.infinity)
        case "imath": return .constant(.imaginaryUnit)
        case "emptyset", "varnothing": return .set([])
        case "lbrace": return parseSetBody(closing: "rbrace")
        case "langle": return parseSetBody(closing: "rangle").map { node in
            if case .set(let items) = node { return .tuple(items) }
            return node
        }
        case "lfloor": return parseDelimited(closing: "rfloor").map { .function(.floor, [$0]) }
        case "lceil": return parseDelimited(closing: "rceil").map { .function(.ceiling, [$0]) }
        case "lvert", "vert", "mid":
            return parseDelimited(closing: name == "lvert" ? "rvert" : name).map { .function(.absolute, [$0]) }
        case "boxed", "fbox":
            return parseScriptArgument(wholeDigits: true)
        case "begin":
            return parseEnvironment()
        case "operatorname":
            guard let raw = skipBracedRaw() else { return nil }
            let word = String(decoding: raw.filter { !$0.isASCIISpace }, as: UTF8.self)
            guard let function = LatexParser.functionNames[word] else { return nil }
            return parseFunctionApplication(function)
        default:
            if LatexParser.textCommands.contains(name) { return parseTextCommand(name) }
            return nil
        }
    }

    private mutating func singleRawToken() -> ArraySlice<UInt8>? {
        skipSpace()
        guard !atEnd else { return nil }
        if current == UInt8(ascii: "\\"), let name = commandName(at: position) {
            let slice = bytes[position..<(position + 1 + name.utf8.count)]
            position += 1 + name.utf8.count
            return slice
        }
        position += 1
        return bytes[(position - 1)..<position]
    }

    /// `\{ a, b \}` after the opening `\{`.
    private mutating func parseSetBody(closing: String = "}") -> MathNode? {
        bracketLevel += 1
        setBuilderLevel += 1
        defer { bracketLevel -= 1; setBuilderLevel -= 1 }
        var items: [MathNode] = []
        skipSpace()
        func atClose() -> Bool {
            closing == "}" ? (current == UInt8(ascii: "\\") && peek(1) == UInt8(ascii: "}")) : looksAt("\\" + closing)
        }
        while !atClose() {
            // While reading the first item a `|` may be a set-builder bar, not an absolute value.
            if items.isEmpty { absoluteLevel += 1 }
            let parsed = parseRelation()
            if items.isEmpty { absoluteLevel -= 1 }
            guard let item = parsed else { return nil }
            items.append(item)
            skipSpace()
            // Set-builder notation \{x \mid 2 < x < 3\}: the set is described by its condition.
            if items.count == 1, case .variable = item,
               current == UInt8(ascii: ":") || current == UInt8(ascii: "|") || consumeCommand("mid") || consumeCommand("vert")
                || consumeCommand("colon") {
                if current == UInt8(ascii: ":") || current == UInt8(ascii: "|") { position += 1 }
                absoluteLevel += 1
                let condition = parseRelation()
                absoluteLevel -= 1
                skipSpace()
                guard let condition, atClose() else { return nil }
                position += closing == "}" ? 2 : 1 + closing.utf8.count
                return condition
            }
            if current == UInt8(ascii: ",") || current == UInt8(ascii: ";") {
                position += 1
                skipSpace()
            } else if !atClose() {
                return nil
            }
        }
        position += closing == "}" ? 2 : 1 + closing.utf8.count
        return .set(items)
    }

    /// `\sin x`, `\sin(2x)`, `\sin^2 x`, `\log_2 8`, `\sin 45^\circ`.
    private mutating func parseFunctionApplication(_ function: MathFunction) -> MathNode? {
        skipSpace()
        var logBase: MathNode?
        var outerPower: MathNode?
        if function == .log && current == UInt8(ascii: "_") {
            position += 1
            guard let base = parseScriptArgument(wholeDigits: true) else { return nil }
            logBase = base
        }
        skipSpace()
        if current == UInt8(ascii: "^") {
            position += 1
            guard let power = parseScriptArgument(wholeDigits: true) else { return nil }
            outerPower = power
        }
        skipSpace()
        let argument: MathNode
        if current == UInt8(ascii: "(") || current == UInt8(ascii: "{") || current == UInt8(ascii: "[") {
            guard let group = current == UInt8(ascii: "{") ? parseBracedGroup() : parseBracketed() else { return nil }
            var node = group
            // A postfix degree sign after the parenthesis: \sin(30)^\circ.
            if looksAt("^\\circ") { position += 6; node = .degrees(node) }
            argument = node
        } else {
            // Unparenthesized argument: a run of factors without + or - (\sin 2x, \cos \theta).
            guard let first = parseFactor() else { return nil }
            var factors = [first]
            while true {
                skipSpace()
                if atEnd || !startsImplicitFactor() { break }
                if let name = currentCommand(), LatexParser.functionNames[name] != nil || name == "frac" || name == "sqrt" { break }
                if current == UInt8(ascii: "(") || current == UInt8(ascii: "{") { break }
                let before = position
                guard let next = parseFactor() else { return nil }
                if before == position { break }
                factors.append(next)
            }
            argument = factors.count == 1 ? first : .product(factors)
        }
        var result: MathNode
        if [.minimum, .maximum, .gcd, .lcm].contains(function) {
            // \min(a, b, c): the parenthesized list is the argument list.
            if case .tuple(let items) = argument {
                result = .function(function, items)
            } else {
                result = .function(function, [argument])
            }
        } else if function == .log {
            result = .function(.log, [logBase ?? .number(Rational(10)), argument])
        } else {
            result = .function(function, [argument])
        }
        if let power = outerPower {
            if power == .negation(.one) || power == .number(-Rational.one), [.sin, .cos, .tan].contains(function) {
                let inverse: MathFunction = function == .sin ? .arcsin : function == .cos ? .arccos : .arctan
                result = .function(inverse, [argument])
            } else {
                result = .power(result, power)
            }
        }
        return result
    }

    /// `\text{…}` and friends in a primary position: a choice, a number word, a math letter, or text.
    private mutating func parseTextCommand(_ name: String) -> MathNode? {
        guard let raw = skipBracedRaw() else { return nil }
        let content = String(decoding: raw, as: UTF8.self)
        let word = content.trimmedLowercased
        if let number = NumberWords.value(of: word) { return .number(Rational(number)) }
        let letters = raw.filter { !$0.isASCIISpace }
        if name.hasPrefix("math") || name == "boldsymbol" || name == "operatorname" {
            if letters.count == 1, let letter = letters.first, letter.isASCIILetter {
                return parseSubscriptedName(letterNode(letter), baseName: String(UnicodeScalar(letter)))
            }
        }
        if word.isEmpty { return nil }
        // Math written inside \text{} ("28 percent", "3.5"): parse the content itself.
        if letters.contains(where: { $0.isASCIIDigit }), let inner = LatexParser.parse(raw, depth: depth + 1) {
            return inner
        }
        return .text(word)
    }

    /// `\begin{pmatrix} a & b \\ c & d \end{pmatrix}` (also bmatrix, matrix, array).
    private mutating func parseEnvironment() -> MathNode? {
        guard let rawName = skipBracedRaw() else { return nil }
        let name = String(decoding: rawName, as: UTF8.self)
        guard ["pmatrix", "bmatrix", "matrix", "array", "Bmatrix", "smallmatrix", "vmatrix"].contains(name) else { return nil }
        if name == "array" { _ = skipBracedRaw() }
        var rows: [[MathNode]] = []
        var row: [MathNode] = []
        let savedLevel = bracketLevel
        bracketLevel = 1
        defer { bracketLevel = savedLevel }
        while true {
            skipSpace()
            if looksAt("\\end") {
                position += 4
                _ = skipBracedRaw()
                if !row.isEmpty { rows.append(row) }
                break
            }
            guard let cell = parseSum() else { return nil }
            row.append(cell)
            skipSpace()
            if current == UInt8(ascii: "&") {
                position += 1
            } else if current == UInt8(ascii: "\\") && peek(1) == UInt8(ascii: "\\") {
                position += 2
                rows.append(row)
                row = []
            } else if !looksAt("\\end") {
                return nil
            }
        }
        guard let width = rows.first?.count, width > 0, rows.allSatisfy({ $0.count == width }) else { return nil }
        return .matrix(rows)
    }
}

extension MathNode {
    var isInfinite: Bool {
        switch self {
        case .constant(.infinity): return true
        case .negation(let inner): return inner.isInfinite
        default: return false
        }
    }
}

extension String {
    /// Lowercased with surrounding blanks removed.
    var trimmedLowercased: String {
        let scalars = self.utf8.drop { $0.isASCIISpace }.reversed().drop { $0.isASCIISpace }.reversed()
        return String(decoding: Array(scalars), as: UTF8.self).lowercased()
    }

    /// Removes `text`/`mathrm` markers left inside subscripts (`\text {red}` → `red`).
    var replacingTextMarkers: String {
        var result = self
        for marker in ["mathrm", "textrm", "text", "rm"] where result.hasPrefix(marker) && result.utf8.count > marker.utf8.count {
            result = String(result.dropFirst(marker.count))
            break
        }
        return result
    }
}
