/// Rewrites an answer string into the plain-ASCII LaTeX the parser reads:
/// drops math delimiters, `\left`/`\right`, markdown bold and `np.` prefixes, and
/// spells common Unicode math symbols as LaTeX commands.
enum LatexNormalizer {
    /// Unicode symbols and their LaTeX spelling.
    private static let unicodeReplacements: [([UInt8], [UInt8])] = [
        ("°", "^\\circ "), ("∞", "\\infty "), ("π", "\\pi "), ("−", "-"), ("×", "\\times "),
        ("·", "\\cdot "), ("√", "\\sqrt "), ("≤", "\\le "), ("≥", "\\ge "), ("≠", "\\ne "),
        ("±", "\\pm "), ("∪", "\\cup "), ("∈", "\\in "), ("÷", "\\div "), ("–", "-"),
        ("\u{00A0}", " "), ("θ", "\\theta "), ("α", "\\alpha "), ("β", "\\beta "),
        ("²", "^2 "), ("³", "^3 "), ("€", ""), ("£", ""), ("¥", ""), ("′", "'"), ("ℝ", "\\mathbb{R}"),
    ].map { (Array($0.0.utf8), Array($0.1.utf8)) }

    static func normalize(_ input: some Collection<UInt8>) -> [UInt8] {
        let bytes = Array(input)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= 0x80 {
                if let (from, to) = unicodeReplacements.first(where: { bytes.hasPrefix($0.0, at: index) }) {
                    output.append(contentsOf: to)
                    index += from.count
                } else {
                    output.append(byte)
                    index += 1
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "$"):
                index += 1
            case UInt8(ascii: "*") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "*"):
                index += 2
            case UInt8(ascii: "{") where index + 2 < bytes.count && (bytes[index + 1] == UInt8(ascii: "-") || bytes[index + 1] == UInt8(ascii: "+")) && bytes[index + 2] == UInt8(ascii: "}"):
                // `{-}13.5`: a sign in braces.
                output.append(bytes[index + 1])
                index += 3
            case UInt8(ascii: "n") where bytes.hasPrefix("np.", at: index) && !isLetter(before: index, in: bytes):
                index += 3
            case UInt8(ascii: "\\"):
                if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "$") {
                    // `\$` marks an amount of money (kept, unlike math-mode `$`).
                    output.append(contentsOf: Array("\\dollarsign ".utf8))
                    index += 2
                } else if bytes.hasPrefix("\\textdollar", at: index) {
                    output.append(contentsOf: Array("\\dollarsign ".utf8))
                    index += 11
                } else if bytes.hasPrefix("\\left", at: index), !isLetter(at: index + 5, in: bytes) {
                    index += 5
                    if index < bytes.count, bytes[index] == UInt8(ascii: ".") { index += 1 }
                } else if bytes.hasPrefix("\\right", at: index), !isLetter(at: index + 6, in: bytes) {
                    index += 6
                    if index < bytes.count, bytes[index] == UInt8(ascii: ".") { index += 1 }
                } else if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "("), index == 0 || output.isEmpty {
                    index += 2
                } else if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ")"), index + 2 >= bytes.count {
                    index += 2
                } else if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "["), output.allSatisfy(isSpace) {
                    index += 2
                } else if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "]"), index + 2 >= bytes.count {
                    index += 2
                } else {
                    output.append(byte)
                    index += 1
                }
            default:
                output.append(byte)
                index += 1
            }
        }
        return output
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 10 || byte == 9 || byte == 13 }

    private static func isLetter(at index: Int, in bytes: [UInt8]) -> Bool {
        index < bytes.count && bytes[index].isASCIILetter
    }

    private static func isLetter(before index: Int, in bytes: [UInt8]) -> Bool {
        index > 0 && bytes[index - 1].isASCIILetter
    }
}

extension UInt8 {
    var isASCIILetter: Bool { (self | 0x20) >= UInt8(ascii: "a") && (self | 0x20) <= UInt8(ascii: "z") }
    var isASCIIDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
    var isASCIISpace: Bool { self == 32 || self == 10 || self == 9 || self == 13 }
}

extension Array where Element == UInt8 {
    /// Whether the literal `prefix` occurs at `index` (no array is built for the literal).
    func hasPrefix(_ prefix: StaticString, at index: Int) -> Bool {
        let length = prefix.utf8CodeUnitCount
        if index < 0 || index + length > count { return false }
        let literal = prefix.utf8Start
        for offset in 0..<length where self[index + offset] != literal[offset] { return false }
        return true
    }

    /// Whether `prefix` occurs at `index`.
    func hasPrefix(_ prefix: [UInt8], at index: Int) -> Bool {
        if index < 0 || index + prefix.count > count { return false }
        var offset = 0
        while offset < prefix.count {
            if self[index + offset] != prefix[offset] { return false }
            offset += 1
        }
        return true
    }
}
