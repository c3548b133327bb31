/// Sums, products, implicit multiplication, powers and postfix operators.
extension LatexParser {
    // MARK: Arithmetic

    mutating func parseSum() -> MathNode? {
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
    mutating func parseSignedTerm() -> MathNode? {
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

    mutating func parseTerm() -> MathNode? {
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

    /// A ratio `a:b` (read as a/b) between two values or named quantities (`V_1:V_2`); not `:=`
    /// and not inside `\{x : …\}`.
    func isRatioColon() -> Bool {
        guard current == UInt8(ascii: ":"), peek(1) != UInt8(ascii: "=") else { return false }
        var next = position + 1
        while next < bytes.count, bytes[next] == 32 { next += 1 }
        guard next < bytes.count, setBuilderLevel == 0 else { return false }
        let byte = bytes[next]
        return byte.isASCIIDigit || byte.isASCIILetter || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "(")
    }

    /// In plain text, `2 1/2` is a mixed number: a space, then `digits/digits` not followed by more math.
    mutating func plainMixedFraction() -> Rational? {
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
    func isLiteralFraction(startingAt start: Int) -> Bool {
        var index = start
        while index < bytes.count, bytes[index].isASCIISpace { index += 1 }
        return commandName(at: index).map { ["frac", "dfrac", "tfrac"].contains($0) } ?? false
    }

    /// Whether the cursor begins a factor that multiplies the previous one (`2x`, `3\sqrt{2}`, `(a)(b)`).
    func startsImplicitFactor() -> Bool {
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
    static let nonFactorCommands: Set<String> = [
        "cdot", "times", "div", "pm", "mp", "le", "leq", "leqslant", "ge", "geq", "geqslant", "lt", "gt", "ne", "neq",
        "in", "cup", "cap", "mid", "colon", "equiv", "approx", "simeq", "sim", "rangle", "rfloor", "rceil", "end", "over", "choose", "pmod", "bmod", "mod",
        "quad", "qquad", "text", "textbf", "mbox", "textrm", "textit", "coloneqq", "ast", "rbrace", "leqq", "geqq",
    ]

    mutating func parseFactor() -> MathNode? {
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
    mutating func skipTemperatureScale() {
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
    mutating func consumePercentWord() -> Bool {
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
    mutating func looksAtBracedCommand(_ name: String) -> Bool {
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

    func primed(_ node: MathNode) -> MathNode {
        if case .variable(let name) = node { return .variable(name + "'") }
        return node
    }

    /// The argument of `^`, `_`, `\frac`, `\sqrt`: a braced group, one digit/letter, or one command.
    /// In plain text a digit run after `^` is taken whole (`2^10`).
    mutating func parseScriptArgument(wholeDigits: Bool = true) -> MathNode? {
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

}
