/// Units, percent words, qualifying clauses and other text that follows a value.
extension LatexParser {
    // MARK: Units

    static let textCommands: Set<String> = ["text", "textbf", "mbox", "textrm", "textit", "textnormal", "mathrm", "mathbf", "mathit", "textsf", "operatorname", "boldsymbol", "mathsf"]

    /// Unit words accepted without a `\text{}` wrapper (never single letters, which are variables).
    static let bareUnitWords: Set<String> = [
        "degrees", "degree", "dollars", "dollar", "cents", "cent", "units", "unit", "ways", "inches", "inch",
        "feet", "foot", "meters", "meter", "miles", "mile", "hours", "hour", "minutes", "minute", "seconds",
        "days", "years", "cm", "mm", "km", "kg", "sq", "square", "cubic", "students", "people", "points", "times",
    ]

    /// Skips a unit after a value: `\text{ cm}^2`, `\mbox{ inches}`, `\mathrm{kg}`, bare `degrees`.
    mutating func consumeUnit(afterUnit: Bool = false) -> Bool {
        let saved = position
        if let name = currentCommand(), LatexParser.textCommands.contains(name) {
            position += 1 + name.utf8.count
            guard let content = skipBracedRaw() else { position = saved; return false }
            let word = String(decoding: content, as: UTF8.self).trimmedLowercased
            // A remark after the answer ends it: `\text{ (mod 1000)}`, `\text{ (since } x > 0)`.
            let remark = word.drop { $0 == "(" || $0 == " " }
            let firstWord = String(remark.prefix { $0.isLetter })
            if firstWord == "mod" || LatexParser.qualifierWords.contains(firstWord) || LatexParser.remarkWords.contains(firstWord) {
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
    static func isUnitByte(_ byte: UInt8) -> Bool {
        byte.isASCIILetter || byte.isASCIIDigit || byte == 32 || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
            || byte == UInt8(ascii: "^") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: ",")
            || byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") || byte == UInt8(ascii: "-")
    }

    /// Words that start a qualifying clause after the answer (`\text{ for all } x`, `where b is …`).
    static let qualifierWords: Set<String> = ["where", "for", "when", "if", "since", "with", "whenever", "provided", "so"]

    /// Words that start a remark in `\text{}` after the answer (`\text{ (because …)}`).
    static let remarkWords: Set<String> = ["because", "as", "which", "note", "assuming", "given", "rounded", "approximately", "exactly"]

    /// Whether a qualifying clause starts here (`where b is …`, `\text{ for all } x`); it ends the answer.
    func atQualifier() -> Bool {
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

    mutating func skipUnitPower() {
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

}
