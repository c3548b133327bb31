/// A value of a recipe file.
public indirect enum RecipeValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case list([RecipeValue])
    case mapping([(String, RecipeValue)])

    public static func == (a: RecipeValue, b: RecipeValue) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.double(x), .double(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        case let (.list(x), .list(y)): return x == y
        case let (.mapping(x), .mapping(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// A plain scalar as YAML 1.2 core schema reads it.
    static func plain(_ text: String) -> RecipeValue {
        switch text {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        if let i = Int(text) { return .int(i) }
        if let d = Double(text), text.contains(where: { $0.isNumber }) { return .double(d) }
        return .string(text)
    }
}

/// The part of YAML that open-r1 recipes use: a top-level mapping of keys to plain, single- or
/// double-quoted scalars, `|`/`>` block scalars, flow lists `[a, b]` and mappings `{k: v}`, and
/// indented block lists (`- item`) and mappings. Anything else is an error naming the line.
enum RecipeYAML {
    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "line \(line): \(reason)" }
    }

    struct Line {
        let number: Int
        let indent: Int
        let text: String
        /// The indentation recorded for a blank line inside a block scalar.
        static let blank = Int.max
    }

    static func parse(_ source: String) throws -> [(String, RecipeValue)] {
        var lines: [Line] = []
        // Swift reads "\r\n" as one Character, not "\n": split on every line break (LF, CRLF, CR),
        // and drop a leading byte-order mark.
        let body = source.first == "\u{FEFF}" ? source.dropFirst() : Substring(source)
        let rawLines = body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        // The indentation of the key whose block scalar (`|`, `>`) is being read: its more indented
        // lines are text, taken as they are (a `#` there is not a comment), blank lines included.
        var blockParent: Int? = nil
        for (index, raw) in rawLines.enumerated() {
            let text = String(raw).trimmingTrailingSpaces()
            if let parent = blockParent {
                let indent = text.prefix { $0 == " " }.count
                if indent == text.count {
                    lines.append(Line(number: index + 1, indent: Line.blank, text: ""))
                    continue
                }
                if indent > parent {
                    lines.append(Line(number: index + 1, indent: indent, text: String(text.dropFirst(indent))))
                    continue
                }
                blockParent = nil
            }
            let stripped = stripComment(text)
            if stripped.allSatisfy({ $0 == " " }) || stripped == "---" || stripped == "..." { continue }
            let indent = stripped.prefix { $0 == " " }.count
            let line = Line(number: index + 1, indent: indent, text: String(stripped.dropFirst(indent)).trimmingTrailingSpaces())
            lines.append(line)
            if let colon = keyColon(line.text),
               blockStyles.contains(String(line.text[line.text.index(after: colon)...]).trimmingLeadingSpaces()) {
                blockParent = indent
            }
        }
        var position = 0
        let result = try parseMapping(lines, &position, indent: 0)
        if position < lines.count { throw ParseError(line: lines[position].number, reason: "unexpected indentation") }
        return result
    }

    /// The line without its comment: a `#` at the start or after a space, outside quoted
    /// scalars. A quote opens a quoted scalar only where a scalar can start (the line start, or
    /// after `:`, `-`, `[`, `{`, `,` and spaces), so an apostrophe inside plain text ("Don't") is
    /// just a character; inside double quotes a backslash escapes the next character, inside
    /// single quotes `''` is an escaped quote.
    static func stripComment(_ text: String) -> String {
        let chars = Array(text)
        var quote: Character? = nil
        var lastNonSpace: Character? = nil
        var index = 0
        while index < chars.count {
            let c = chars[index]
            if let open = quote {
                if open == "\"" && c == "\\" {
                    index += 2
                    continue
                }
                if c == open {
                    if open == "'" && index + 1 < chars.count && chars[index + 1] == "'" {
                        index += 2
                        continue
                    }
                    quote = nil
                }
            } else if c == "#" && (index == 0 || chars[index - 1] == " " || chars[index - 1] == "\t") {
                return String(chars[..<index])
            } else if (c == "\"" || c == "'") && (lastNonSpace == nil || ":-[{,?".contains(lastNonSpace!)) {
                quote = c
            }
            if c != " " && c != "\t" { lastNonSpace = c }
            index += 1
        }
        return text
    }

    static func parseMapping(_ lines: [Line], _ i: inout Int, indent: Int) throws -> [(String, RecipeValue)] {
        var entries: [(String, RecipeValue)] = []
        while i < lines.count, lines[i].indent == indent {
            let line = lines[i]
            guard let colon = keyColon(line.text) else { throw ParseError(line: line.number, reason: "expected 'key: value'") }
            var key = String(line.text[..<colon]).trimmingTrailingSpaces()
            if key.count >= 2, let q = key.first, (q == "\"" || q == "'"), key.last == q { key = String(key.dropFirst().dropLast()) }
            let rest = String(line.text[line.text.index(after: colon)...]).trimmingLeadingSpaces()
            i += 1
            if rest.isEmpty {
                if i < lines.count, lines[i].indent > indent {
                    if lines[i].text.hasPrefix("- ") || lines[i].text == "-" {
                        entries.append((key, try parseList(lines, &i, indent: lines[i].indent)))
                    } else {
                        entries.append((key, .mapping(try parseMapping(lines, &i, indent: lines[i].indent))))
                    }
                } else if i < lines.count, lines[i].indent == indent, lines[i].text.hasPrefix("- ") {
                    entries.append((key, try parseList(lines, &i, indent: indent)))
                } else {
                    entries.append((key, .null))
                }
            } else if blockStyles.contains(rest) {
                entries.append((key, .string(blockScalar(lines, &i, parentIndent: indent, style: rest))))
            } else {
                entries.append((key, try scalar(rest, line: line.number)))
            }
        }
        return entries
    }

    static func parseList(_ lines: [Line], _ i: inout Int, indent: Int) throws -> RecipeValue {
        var items: [RecipeValue] = []
        while i < lines.count, lines[i].indent == indent, lines[i].text.hasPrefix("-") {
            let item = String(lines[i].text.dropFirst()).trimmingLeadingSpaces()
            let number = lines[i].number
            i += 1
            items.append(item.isEmpty ? .null : try scalar(item, line: number))
        }
        return .list(items)
    }

    static let blockStyles: Set<String> = ["|", ">", "|-", ">-"]

    /// A block scalar's text: indentation relative to its least indented line kept, trailing
    /// blank lines dropped; `|` keeps line breaks, `>` folds single breaks into spaces (a blank
    /// line is a break); a final newline unless the style ends in `-`.
    static func blockScalar(_ lines: [Line], _ i: inout Int, parentIndent: Int, style: String) -> String {
        var content: [Line] = []
        while i < lines.count, lines[i].indent > parentIndent {
            content.append(lines[i])
            i += 1
        }
        while content.last?.indent == Line.blank { content.removeLast() }
        guard !content.isEmpty else { return "" }
        let base = content.filter { $0.indent != Line.blank }.map(\.indent).min() ?? 0
        let texts = content.map { $0.indent == Line.blank ? "" : String(repeating: " ", count: $0.indent - base) + $0.text }
        var joined = ""
        if style.hasPrefix("|") {
            joined = texts.joined(separator: "\n")
        } else {
            for text in texts {
                if text.isEmpty { joined += "\n" }
                else if joined.isEmpty || joined.hasSuffix("\n") { joined += text }
                else { joined += " " + text }
            }
        }
        return style.hasSuffix("-") ? joined : joined + "\n"
    }

    /// The colon that ends a key (outside quotes, followed by a space or the end).
    static func keyColon(_ text: String) -> String.Index? {
        var inSingle = false, inDouble = false
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c == "'" && !inDouble { inSingle.toggle() }
            else if c == "\"" && !inSingle { inDouble.toggle() }
            else if c == ":" && !inSingle && !inDouble {
                let next = text.index(after: index)
                if next == text.endIndex || text[next] == " " { return index }
            }
            index = text.index(after: index)
        }
        return nil
    }

    static func scalar(_ text: String, line: Int) throws -> RecipeValue {
        var reader = FlowReader(text: Array(text), line: line)
        let value = try reader.value()
        reader.skipSpaces()
        if !reader.atEnd { throw ParseError(line: line, reason: "unexpected text after the value: \(String(reader.text[reader.position...]))") }
        return value
    }

    /// Reads flow values: quoted and plain scalars, `[...]` and `{...}`.
    struct FlowReader {
        let text: [Character]
        let line: Int
        var position = 0
        var atEnd: Bool { position >= text.count }

        mutating func skipSpaces() { while !atEnd && text[position] == " " { position += 1 } }

        mutating func value(inFlow: Bool = false) throws -> RecipeValue {
            skipSpaces()
            guard !atEnd else { return .null }
            switch text[position] {
            case "\"": return .string(try doubleQuoted())
            case "'": return .string(try singleQuoted())
            case "[":
                position += 1
                var items: [RecipeValue] = []
                skipSpaces()
                if !atEnd && text[position] == "]" { position += 1; return .list([]) }
                while true {
                    items.append(try value(inFlow: true))
                    skipSpaces()
                    guard !atEnd else { throw ParseError(line: line, reason: "unclosed '['") }
                    if text[position] == "," { position += 1; continue }
                    if text[position] == "]" { position += 1; return .list(items) }
                    throw ParseError(line: line, reason: "expected ',' or ']' in a list")
                }
            case "{":
                position += 1
                var entries: [(String, RecipeValue)] = []
                skipSpaces()
                if !atEnd && text[position] == "}" { position += 1; return .mapping([]) }
                while true {
                    skipSpaces()
                    var key = ""
                    if !atEnd && (text[position] == "\"" || text[position] == "'") {
                        // A quoted key ({"min_lr_rate": 0.1}, JSON style): its text without the quotes.
                        key = text[position] == "\"" ? try doubleQuoted() : try singleQuoted()
                        skipSpaces()
                        guard !atEnd && text[position] == ":" else { throw ParseError(line: line, reason: "expected ':' in a mapping") }
                    } else {
                        while !atEnd && text[position] != ":" { key.append(text[position]); position += 1 }
                        guard !atEnd else { throw ParseError(line: line, reason: "expected ':' in a mapping") }
                        key = key.trimmingTrailingSpaces()
                    }
                    position += 1
                    entries.append((key, try value(inFlow: true)))
                    skipSpaces()
                    guard !atEnd else { throw ParseError(line: line, reason: "unclosed '{'") }
                    if text[position] == "," { position += 1; continue }
                    if text[position] == "}" { position += 1; return .mapping(entries) }
                    throw ParseError(line: line, reason: "expected ',' or '}' in a mapping")
                }
            default:
                var plain = ""
                while !atEnd, !(inFlow && (text[position] == "," || text[position] == "]" || text[position] == "}")) {
                    plain.append(text[position]); position += 1
                }
                return RecipeValue.plain(plain.trimmingTrailingSpaces())
            }
        }

        mutating func singleQuoted() throws -> String {
            position += 1
            var out = ""
            while !atEnd {
                if text[position] == "'" {
                    if position + 1 < text.count && text[position + 1] == "'" { out.append("'"); position += 2; continue }
                    position += 1
                    return out
                }
                out.append(text[position]); position += 1
            }
            throw ParseError(line: line, reason: "unclosed single quote")
        }

        mutating func doubleQuoted() throws -> String {
            position += 1
            var out = ""
            while !atEnd {
                let c = text[position]
                if c == "\"" { position += 1; return out }
                if c == "\\" {
                    position += 1
                    guard !atEnd else { break }
                    switch text[position] {
                    case "n": out.append("\n")
                    case "t": out.append("\t")
                    case "\\": out.append("\\")
                    case "\"": out.append("\"")
                    case "/": out.append("/")
                    case "0": out.append("\0")
                    case "u":
                        let hex = String(text[(position + 1)..<min(position + 5, text.count)])
                        guard hex.count == 4, let code = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(code) else {
                            throw ParseError(line: line, reason: "bad \\u escape")
                        }
                        out.unicodeScalars.append(scalar)
                        position += 4
                    default: throw ParseError(line: line, reason: "unsupported escape \\\(text[position])")
                    }
                    position += 1
                    continue
                }
                out.append(c); position += 1
            }
            throw ParseError(line: line, reason: "unclosed double quote")
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = self
        while let last = s.last, last == " " || last == "\r" { s.removeLast() }
        return s
    }

    func trimmingLeadingSpaces() -> String { String(drop { $0 == " " }) }
}
