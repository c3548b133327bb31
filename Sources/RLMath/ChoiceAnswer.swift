/// Recognizes multiple-choice answers: `(C)`, `\text{(C)}`, `\textbf{(C) } 3`, `(B)\ 50`.
enum ChoiceAnswer {
    private static let wrappers = ["\\textbf", "\\text", "\\mathrm", "\\mbox", "\\mathbf", "\\textrm"].map { Array($0.utf8) }

    /// A `.choice` node when the answer starts with a parenthesized capital letter, else nil.
    static func parse(_ bytes: [UInt8], depth: Int) -> MathNode? {
        // Flatten the formatting wrappers: keep the content, drop the commands and braces.
        var flat: [UInt8] = []
        flat.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if let wrapper = wrappers.first(where: { bytes.hasPrefix($0, at: index) }) {
                index += wrapper.count
                continue
            }
            let byte = bytes[index]
            if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "}") {
                index += 1
                continue
            }
            if byte == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == 32 || bytes[index + 1] == UInt8(ascii: ",") || bytes[index + 1] == UInt8(ascii: ";") || bytes[index + 1] == UInt8(ascii: "!") {
                flat.append(32)
                index += 2
                continue
            }
            flat.append(byte)
            index += 1
        }
        var start = 0
        while start < flat.count && flat[start].isASCIISpace { start += 1 }
        guard start + 2 < flat.count, flat[start] == UInt8(ascii: "("),
              flat[start + 1] >= UInt8(ascii: "A"), flat[start + 1] <= UInt8(ascii: "Z"),
              flat[start + 2] == UInt8(ascii: ")") else { return nil }
        let letter = flat[start + 1]
        var rest = Array(flat[(start + 3)...])
        while let first = rest.first, first.isASCIISpace || first == UInt8(ascii: ":") || first == UInt8(ascii: "~") { rest.removeFirst() }
        while let last = rest.last, last.isASCIISpace || last == UInt8(ascii: ".") { rest.removeLast() }
        if rest.isEmpty { return .choice(letter: letter, value: nil) }
        guard let value = LatexParser.parse(rest, depth: depth) else { return nil }
        return .choice(letter: letter, value: value)
    }
}
