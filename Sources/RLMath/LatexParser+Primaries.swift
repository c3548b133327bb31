/// Primaries: numbers, letters and variables, brackets, tuples and intervals.
extension LatexParser {
    // MARK: Primaries

    mutating func parsePrimary() -> MathNode? {
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
    mutating func parseLetters() -> MathNode? {
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
    mutating func functionValue(of node: MathNode) -> MathNode {
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

    func letterNode(_ letter: UInt8) -> MathNode {
        switch letter {
        case UInt8(ascii: "e"): return .constant(.e)
        case UInt8(ascii: "i"): return .constant(.imaginaryUnit)
        default: return .variable(String(UnicodeScalar(letter)))
        }
    }

    /// `x_1`, `r_{0}`, `\rho_{0}`, `L_{\odot}`: the subscript becomes part of the variable's name.
    mutating func parseSubscriptedName(_ node: MathNode, baseName: String) -> MathNode? {
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

    mutating func parseBracketed() -> MathNode? {
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
    mutating func parseBracedGroup() -> MathNode? {
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

    mutating func parseDelimited(closing name: String) -> MathNode? {
        guard let inner = parseSum() else { return nil }
        skipSpace()
        guard consumeCommand(name) else { return nil }
        return inner
    }

}
