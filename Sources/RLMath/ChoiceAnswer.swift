/// Recognizes multiple-choice answers: `(C)`, `\text{(C)}`, `\textbf{(C) } 3`, `(B)\ 50`,
/// and the value-first forms `40\textbf{ (B)}`, `9 \text{ (C)}`.
enum ChoiceAnswer {
    private static let wrappers = ["\\textbf", "\\text", "\\mathrm", "\\mbox", "\\mathbf", "\\textrm", "\\textit"].map { Array($0.utf8) }

    /// A `.choice` node when the answer starts or ends with a parenthesized capital letter, else nil.
    static func parse(_ bytes: [UInt8], depth: Int) -> MathNode? {
        if let (letter, end) = choicePrefix(bytes, from: 0) {
            let rest = trimmed(bytes[end...])
            if rest.isEmpty { return .choice(letter: letter, value: nil) }
            guard let value = LatexParser.parse(rest, depth: depth) else { return nil }
            return .choice(letter: letter, value: value)
        }
        // Value first: find the last "(" that starts a choice reaching the end of the answer.
        guard let lastOpen = bytes.lastIndex(of: UInt8(ascii: "(")) else { return nil }
        var start = lastOpen
        // Include a wrapper such as `\textbf{` before the parenthesis.
        var probe = start - 1
        while probe >= 0, bytes[probe] == 32 { probe -= 1 }
        if probe >= 0, bytes[probe] == UInt8(ascii: "{") {
            var commandStart = probe - 1
            while commandStart >= 0, bytes[commandStart].isASCIILetter { commandStart -= 1 }
            if commandStart >= 0, wrappers.contains(where: { bytes.hasPrefix($0, at: commandStart) && commandStart + $0.count == probe }) {
                start = commandStart
            }
        }
        // Without a wrapper the letter must stand apart from the value: `P(A)` is not a choice.
        if start == lastOpen, start == 0 || !(bytes[start - 1] == 32 || bytes[start - 1] == UInt8(ascii: "~")) { return nil }
        guard start > 0, let (letter, end) = choicePrefix(bytes, from: start), trimmed(bytes[end...]).isEmpty else { return nil }
        let value = trimmed(bytes[..<start])
        guard !value.isEmpty, let parsed = LatexParser.parse(value, depth: depth) else { return nil }
        return .choice(letter: letter, value: parsed)
    }

    /// Matches `[wrapper{] (X) [}]` at `from` (blanks allowed) and returns the letter and the end offset.
    private static func choicePrefix(_ bytes: [UInt8], from: Int) -> (UInt8, Int)? {
        var index = skipBlanks(bytes, from)
        var braced = false
        if let wrapper = wrappers.first(where: { bytes.hasPrefix($0, at: index) }) {
            index = skipBlanks(bytes, index + wrapper.count)
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
            braced = true
            index = skipBlanks(bytes, index + 1)
        }
        guard index + 2 < bytes.count, bytes[index] == UInt8(ascii: "("),
              bytes[index + 1] >= UInt8(ascii: "A"), bytes[index + 1] <= UInt8(ascii: "Z"),
              bytes[index + 2] == UInt8(ascii: ")") else { return nil }
        let letter = bytes[index + 1]
        index = skipBlanks(bytes, index + 3)
        if braced {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "}") else { return nil }
            index += 1
        }
        return (letter, index)
    }

    /// Skips spaces and spacing commands (`\ `, `\,`, `\;`, `\:`, `\quad`, `~`).
    private static func skipBlanks(_ bytes: [UInt8], _ start: Int) -> Int {
        var index = start
        while index < bytes.count {
            if bytes[index].isASCIISpace || bytes[index] == UInt8(ascii: "~") || bytes[index] == UInt8(ascii: ":") && index == start {
                index += 1
            } else if bytes[index] == UInt8(ascii: "\\"), index + 1 < bytes.count,
                      [32, UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "!")].contains(bytes[index + 1]) {
                index += 2
            } else if bytes.hasPrefix("\\quad", at: index) {
                index += 5
            } else {
                break
            }
        }
        return index
    }

    private static func trimmed(_ slice: ArraySlice<UInt8>) -> [UInt8] {
        let start = skipBlanks(Array(slice), 0)
        var result = Array(slice.dropFirst(start))
        while let last = result.last, last.isASCIISpace || last == UInt8(ascii: "."),
              !(result.count >= 2 && result[result.count - 2] == UInt8(ascii: "\\")) {
            result.removeLast()
        }
        return result
    }
}
