/// Numeric literals: decimals, repeating decimals, e-notation, thousands separators, bases.
extension LatexParser {
    mutating func parseNumeralBase(_ number: MathNode) -> MathNode? {
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
    mutating func parseNumberLiteral() -> MathNode? {
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
    mutating func consumeThousandsGroups(into digits: inout [UInt8], numberStart: Int) {
        func groupEnd(at index: Int, explicitOnly: Bool) -> Int? {
            var i = index
            var explicit = false
            if bytes.hasPrefix("{,}", at: i) {
                i += 3
                explicit = true
            } else if i < bytes.count && bytes[i] == UInt8(ascii: ",") {
                i += 1
                if bytes.hasPrefix("\\!", at: i) { i += 2; explicit = true }
                while i < bytes.count && bytes[i] == 32 && explicit { i += 1 }
            } else if bytes.hasPrefix("\\,", at: i) || bytes.hasPrefix("\\ ", at: i) {
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
        // `0,111` and `0123,456` are not grouped numbers (a decimal comma, or a list).
        let plainAllowed = bracketLevel == 0 && !(previous >= 0 && bytes[previous] == UInt8(ascii: ","))
            && !(digits.first == UInt8(ascii: "0"))
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
}
