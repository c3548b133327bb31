/// A token of Jinja template source.
struct JinjaToken: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        /// Literal template text (whitespace control already applied).
        case text(String)
        /// `{{`, `{%`: the start of an output or a statement tag.
        case outputStart, statementStart
        /// `}}`, `%}`: the end of the tag.
        case tagEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// An operator or punctuation: `+`, `==`, `(`, `|`, ...
        case symbol(String)
    }

    var kind: Kind
    var line: Int
}

/// Splits template source into text and tag tokens with the whitespace rules transformers uses:
/// `trim_blocks` (drop the newline after a block tag), `lstrip_blocks` (drop spaces and tabs
/// before a block tag at the start of a line), `-` markers, and one trailing newline dropped.
struct JinjaLexer {
    private var source: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    private var tokens: [JinjaToken] = []

    static func tokenize(_ template: String) throws -> [JinjaToken] {
        var lexer = JinjaLexer(source: Array(template.unicodeScalars))
        if lexer.source.last == "\n" { lexer.source.removeLast() }  // keep_trailing_newline = False
        try lexer.run()
        return lexer.tokens
    }

    private init(source: [Unicode.Scalar]) {
        self.source = source
    }

    private mutating func run() throws {
        var lineStarting = true
        var stripNextText = false  // the previous tag ended with `-`
        while position < source.count {
            let tagStart = nextTagStart()
            var text = Array(source[position..<tagStart])
            let textLine = line
            advanceLines(over: text)
            position = tagStart
            if stripNextText {
                text = Array(text.drop { $0.properties.isWhitespace })
                stripNextText = false
            }
            guard tagStart < source.count else {
                appendText(text, line: textLine)
                break
            }
            let opener = source[tagStart + 1]  // "{", "%" or "#"
            let marker = tagStart + 2 < source.count ? source[tagStart + 2] : " "
            if marker == "-" {
                while let last = text.last, last.properties.isWhitespace { text.removeLast() }
            } else if marker != "+" && opener != "{" {
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if (lineStart > 0 || lineStarting) && text[lineStart...].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    text.removeSubrange(lineStart...)
                }
            }
            appendText(text, line: textLine)
            position = tagStart + 2 + (marker == "-" || marker == "+" ? 1 : 0)
            let rightMarker: Unicode.Scalar?
            switch opener {
            case "#":
                rightMarker = try skipComment()
            case "{":
                tokens.append(JinjaToken(kind: .outputStart, line: line))
                rightMarker = try lexExpression(closing: "}")
            default:
                tokens.append(JinjaToken(kind: .statementStart, line: line))
                rightMarker = try lexExpression(closing: "%")
            }
            if rightMarker == "-" {
                stripNextText = true
                var end = position
                while end < source.count, source[end].properties.isWhitespace { end += 1 }
                lineStarting = end > position && source[end - 1] == "\n"
            } else if opener != "{" && rightMarker != "+" && position < source.count && source[position] == "\n" {
                position += 1  // trim_blocks
                line += 1
                lineStarting = true
            } else {
                lineStarting = false
            }
        }
    }

    /// The index of the next `{{`, `{%` or `{#`, or the end of the source.
    private func nextTagStart() -> Int {
        var index = position
        while index + 1 < source.count {
            if source[index] == "{" && (source[index + 1] == "{" || source[index + 1] == "%" || source[index + 1] == "#") {
                return index
            }
            index += 1
        }
        return source.count
    }

    private mutating func appendText(_ text: [Unicode.Scalar], line: Int) {
        guard !text.isEmpty else { return }
        var string = ""
        string.unicodeScalars.append(contentsOf: text)
        tokens.append(JinjaToken(kind: .text(string), line: line))
    }

    private mutating func advanceLines(over text: [Unicode.Scalar]) {
        line += text.reduce(0) { $0 + ($1 == "\n" ? 1 : 0) }
    }

    /// Skips a comment up to `#}`; returns its whitespace marker (`-`, `+` or nil).
    private mutating func skipComment() throws -> Unicode.Scalar? {
        let startLine = line
        while position + 1 < source.count {
            if source[position] == "#" && source[position + 1] == "}" {
                let marker = source[position - 1]
                position += 2
                return marker == "-" || marker == "+" ? marker : nil
            }
            if source[position] == "\n" { line += 1 }
            position += 1
        }
        throw ChatTemplateError.syntax("comment `{#` is never closed", line: startLine)
    }

    /// Reads expression tokens up to the tag's closing `}}` or `%}`; returns its whitespace marker.
    private mutating func lexExpression(closing: Unicode.Scalar) throws -> Unicode.Scalar? {
        let startLine = line
        var depth = 0  // open brackets: a `}}` inside `{...}` does not close the tag
        while position < source.count {
            let scalar = source[position]
            if scalar == "\n" { line += 1 }
            if scalar.properties.isWhitespace {
                position += 1
                continue
            }
            // Closing delimiter, possibly with a `-` or `+` marker.
            for marker in ["-", "+", nil] as [Unicode.Scalar?] where depth == 0 {
                let offset = marker == nil ? 0 : 1
                if position + offset + 1 < source.count, marker == nil || scalar == marker!,
                   source[position + offset] == closing, source[position + offset + 1] == "}" {
                    position += offset + 2
                    tokens.append(JinjaToken(kind: .tagEnd, line: line))
                    return marker
                }
            }
            if scalar == "_" || scalar.properties.isAlphabetic {
                let start = position
                while position < source.count, source[position] == "_" || source[position].properties.isAlphabetic
                    || ("0"..."9").contains(source[position]) { position += 1 }
                tokens.append(JinjaToken(kind: .name(string(start..<position)), line: line))
            } else if ("0"..."9").contains(scalar) {
                try lexNumber()
            } else if scalar == "'" || scalar == "\"" {
                try lexString(quote: scalar)
            } else {
                let two = position + 1 < source.count ? string(position..<position + 2) : ""
                if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                    tokens.append(JinjaToken(kind: .symbol(two), line: line))
                    position += 2
                } else if "+-*/%~<>()[]{},.:|=".unicodeScalars.contains(scalar) {
                    if "([{".unicodeScalars.contains(scalar) {
                        depth += 1
                        if depth > 64 { throw ChatTemplateError.syntax("brackets nested too deeply", line: line) }
                    }
                    if ")]}".unicodeScalars.contains(scalar) { depth = max(depth - 1, 0) }
                    tokens.append(JinjaToken(kind: .symbol(String(scalar)), line: line))
                    position += 1
                } else {
                    throw ChatTemplateError.syntax("unexpected character \"\(scalar)\"", line: line)
                }
            }
        }
        throw ChatTemplateError.syntax("tag is never closed", line: startLine)
    }

    private func string(_ range: Range<Int>) -> String {
        var result = ""
        result.unicodeScalars.append(contentsOf: source[range])
        return result
    }

    private mutating func lexNumber() throws {
        let start = position
        var isFloat = false
        while position < source.count {
            let scalar = source[position]
            if ("0"..."9").contains(scalar) || scalar == "_" {
                position += 1
            } else if scalar == ".", !isFloat, position + 1 < source.count, ("0"..."9").contains(source[position + 1]) {
                isFloat = true
                position += 1
            } else if scalar == "e" || scalar == "E" {
                isFloat = true
                position += 1
                if position < source.count, source[position] == "+" || source[position] == "-" { position += 1 }
            } else {
                break
            }
        }
        let text = string(start..<position).replacingOccurrences("_", with: "")
        if isFloat, let value = Double(text) {
            tokens.append(JinjaToken(kind: .float(value), line: line))
        } else if let value = Int(text) {
            tokens.append(JinjaToken(kind: .integer(value), line: line))
        } else {
            throw ChatTemplateError.syntax("bad number \"\(text)\"", line: line)
        }
    }

    /// A quoted string with Python escapes (`\n`, `\t`, `\\`, `\'`, `\"`, `\r`, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`).
    private mutating func lexString(quote: Unicode.Scalar) throws {
        let startLine = line
        position += 1
        var value = ""
        while position < source.count {
            let scalar = source[position]
            if scalar == quote {
                position += 1
                tokens.append(JinjaToken(kind: .string(value), line: startLine))
                return
            }
            if scalar == "\n" { line += 1 }
            if scalar == "\\", position + 1 < source.count {
                let escaped = source[position + 1]
                position += 2
                switch escaped {
                case "n": value += "\n"
                case "t": value += "\t"
                case "r": value += "\r"
                case "0": value += "\0"
                case "\\", "'", "\"": value.unicodeScalars.append(escaped)
                case "x", "u", "U":
                    let width = escaped == "x" ? 2 : escaped == "u" ? 4 : 8
                    guard position + width <= source.count, let code = UInt32(string(position..<position + width), radix: 16),
                          let decoded = Unicode.Scalar(code) else {
                        throw ChatTemplateError.syntax("bad \\\(escaped) escape in string", line: line)
                    }
                    value.unicodeScalars.append(decoded)
                    position += width
                case "\n":
                    line += 1  // backslash-newline continues the line
                default:
                    value.unicodeScalars.append("\\")
                    value.unicodeScalars.append(escaped)
                }
                continue
            }
            value.unicodeScalars.append(scalar)
            position += 1
        }
        throw ChatTemplateError.syntax("string is never closed", line: startLine)
    }
}

extension String {
    /// `self` with every `target` replaced by `replacement` (FoundationEssentials has no such method).
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
