/// Parses Jinja tokens into statements (recursive descent, Jinja's operator precedence).
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0
    /// Open blocks (`if`, `for`, `macro`, ...), limited so that parsing cannot exhaust the stack.
    private var blockDepth = 0

    static func parse(_ tokens: [JinjaToken]) throws -> [JinjaStatement] {
        var parser = JinjaParser(tokens: tokens)
        let (body, end) = try parser.parseBlock(until: [])
        if let end { throw ChatTemplateError.syntax("unexpected `\(end)`", line: parser.lastLine) }
        return body
    }

    private init(tokens: [JinjaToken]) {
        self.tokens = tokens
    }

    private var lastLine: Int { tokens.isEmpty ? 1 : tokens[min(index, tokens.count - 1)].line }
    private var current: JinjaToken.Kind? { index < tokens.count ? tokens[index].kind : nil }
    private var line: Int { lastLine }

    // MARK: statements

    /// Parses statements until one of the `ends` tags (returned, consumed up to its name) or the end.
    private mutating func parseBlock(until ends: Set<String>) throws -> ([JinjaStatement], String?) {
        blockDepth += 1
        defer { blockDepth -= 1 }
        if blockDepth > 256 { throw ChatTemplateError.syntax("blocks nested too deeply", line: line) }
        var body: [JinjaStatement] = []
        while let kind = current {
            switch kind {
            case .text(let text):
                index += 1
                body.append(.text(text))
            case .outputStart:
                index += 1
                body.append(.output(try parseExpression()))
                try expectTagEnd()
            case .statementStart:
                let tagLine = line
                index += 1
                guard case .name(let keyword) = current else {
                    throw ChatTemplateError.syntax("expected a tag name after `{%`", line: tagLine)
                }
                if ends.contains(keyword) {
                    index += 1
                    return (body, keyword)
                }
                index += 1
                if let statement = try parseStatement(keyword, line: tagLine) { body.append(statement) }
            default:
                throw ChatTemplateError.syntax("unexpected token", line: line)
            }
        }
        if !ends.isEmpty {
            throw ChatTemplateError.syntax("missing `\(ends.sorted().joined(separator: "` or `"))`", line: line)
        }
        return (body, nil)
    }

    private mutating func parseStatement(_ keyword: String, line: Int) throws -> JinjaStatement? {
        switch keyword {
        case "if":
            var branches: [(JinjaExpression, [JinjaStatement])] = []
            var condition = try parseExpression()
            try expectTagEnd()
            while true {
                let (body, end) = try parseBlock(until: ["elif", "else", "endif"])
                branches.append((condition, body))
                switch end {
                case "elif":
                    condition = try parseExpression()
                    try expectTagEnd()
                case "else":
                    try expectTagEnd()
                    let (otherwise, _) = try parseBlock(until: ["endif"])
                    try expectTagEnd()
                    return .if(branches, otherwise: otherwise)
                default:
                    try expectTagEnd()
                    return .if(branches, otherwise: [])
                }
            }
        case "for":
            var targets = [try expectName()]
            while skip(symbol: ",") { targets.append(try expectName()) }
            guard skip(name: "in") else { throw ChatTemplateError.syntax("expected `in` in for loop", line: line) }
            let iterable = try parseOr()
            let condition = skip(name: "if") ? try parseOr() : nil
            if skip(name: "recursive") { throw ChatTemplateError.unsupported("recursive for loops", line: line) }
            try expectTagEnd()
            let (body, end) = try parseBlock(until: ["else", "endfor"])
            var otherwise: [JinjaStatement] = []
            try expectTagEnd()
            if end == "else" {
                (otherwise, _) = try parseBlock(until: ["endfor"])
                try expectTagEnd()
            }
            return .for(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise, line: line)
        case "set":
            var targets = [try expectName()]
            var attribute: String?
            if skip(symbol: ".") {
                attribute = try expectName()
            } else {
                while skip(symbol: ",") { targets.append(try expectName()) }
            }
            guard skip(symbol: "=") else {
                throw ChatTemplateError.unsupported("block `set` (`{% set name %}...{% endset %}`)", line: line)
            }
            let value = try parseTupleOrExpression()
            try expectTagEnd()
            return .set(targets: targets, attribute: attribute, value: value, line: line)
        case "macro":
            let name = try expectName()
            var parameters: [(String, JinjaExpression?)] = []
            try expect(symbol: "(")
            while !skip(symbol: ")") {
                let parameter = try expectName()
                parameters.append((parameter, skip(symbol: "=") ? try parseExpression() : nil))
                if !skip(symbol: ",") {
                    try expect(symbol: ")")
                    break
                }
            }
            try expectTagEnd()
            let (body, _) = try parseBlock(until: ["endmacro"])
            try expectTagEnd()
            return .macro(name: name, parameters: parameters, body: body)
        case "break", "continue":
            try expectTagEnd()
            return keyword == "break" ? .break : .continue
        case "generation":
            // transformers' AssistantTracker tag: renders its body unchanged.
            try expectTagEnd()
            let (body, _) = try parseBlock(until: ["endgeneration"])
            try expectTagEnd()
            return .if([(.boolean(true), body)], otherwise: [])
        case "elif", "else", "endif", "endfor", "endmacro", "endgeneration":
            throw ChatTemplateError.syntax("unexpected `\(keyword)`", line: line)
        default:
            throw ChatTemplateError.unsupported("tag `\(keyword)`", line: line)
        }
    }

    // MARK: expressions

    private mutating func parseTupleOrExpression() throws -> JinjaExpression {
        let first = try parseExpression()
        guard current == .symbol(",") else { return first }
        var items = [first]
        while skip(symbol: ",") { items.append(try parseExpression()) }
        return .tuple(items)
    }

    private mutating func parseExpression() throws -> JinjaExpression {
        let value = try parseOr()
        guard skip(name: "if") else { return value }
        let condition = try parseOr()
        let otherwise = skip(name: "else") ? try parseExpression() : nil
        return .conditional(condition, then: value, otherwise: otherwise)
    }

    private mutating func parseOr() throws -> JinjaExpression {
        var left = try parseAnd()
        while skip(name: "or") { left = .binary("or", left, try parseAnd(), line: line) }
        return left
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        var left = try parseNot()
        while skip(name: "and") { left = .binary("and", left, try parseNot(), line: line) }
        return left
    }

    private mutating func parseNot() throws -> JinjaExpression {
        if skip(name: "not") { return .unary("not", try parseNot(), line: line) }
        return try parseCompare()
    }

    /// Comparisons chain as in Python: `a < b < c` is `a < b and b < c`.
    private mutating func parseCompare() throws -> JinjaExpression {
        let first = try parseMath1()
        var operand = first
        var comparisons: [JinjaExpression] = []
        while true {
            if case .symbol(let symbol) = current, ["==", "!=", "<", ">", "<=", ">="].contains(symbol) {
                index += 1
                let right = try parseMath1()
                comparisons.append(.binary(symbol, operand, right, line: line))
                operand = right
            } else if skip(name: "in") {
                let right = try parseMath1()
                comparisons.append(.binary("in", operand, right, line: line))
                operand = right
            } else if current == .name("not"), index + 1 < tokens.count, tokens[index + 1].kind == .name("in") {
                index += 2
                let right = try parseMath1()
                comparisons.append(.unary("not", .binary("in", operand, right, line: line), line: line))
                operand = right
            } else {
                break
            }
        }
        guard var chain = comparisons.first else { return first }
        for comparison in comparisons.dropFirst() { chain = .binary("and", chain, comparison, line: line) }
        return chain
    }

    private mutating func parseMath1() throws -> JinjaExpression {
        var left = try parseConcat()
        while case .symbol(let symbol) = current, symbol == "+" || symbol == "-" {
            index += 1
            left = .binary(symbol, left, try parseConcat(), line: line)
        }
        return left
    }

    private mutating func parseConcat() throws -> JinjaExpression {
        var left = try parseMath2()
        while skip(symbol: "~") { left = .binary("~", left, try parseMath2(), line: line) }
        return left
    }

    private mutating func parseMath2() throws -> JinjaExpression {
        var left = try parsePower()
        while case .symbol(let symbol) = current, ["*", "/", "//", "%"].contains(symbol) {
            index += 1
            left = .binary(symbol, left, try parsePower(), line: line)
        }
        return left
    }

    private mutating func parsePower() throws -> JinjaExpression {
        var left = try parseUnary(withFilters: true)
        while skip(symbol: "**") { left = .binary("**", left, try parseUnary(withFilters: true), line: line) }
        return left
    }

    private mutating func parseUnary(withFilters: Bool) throws -> JinjaExpression {
        var value: JinjaExpression
        if skip(symbol: "-") {
            value = .unary("-", try parseUnary(withFilters: false), line: line)
        } else if skip(symbol: "+") {
            value = try parseUnary(withFilters: false)
        } else {
            value = try parsePostfix(try parsePrimary())
        }
        return withFilters ? try parseFiltersAndTests(value) : value
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        let tokenLine = line
        guard let kind = current else { throw ChatTemplateError.syntax("unexpected end of template", line: tokenLine) }
        index += 1
        switch kind {
        case .string(var value):
            while case .string(let next) = current {  // adjacent literals concatenate
                value += next
                index += 1
            }
            return .string(value)
        case .integer(let value): return .integer(value)
        case .float(let value): return .float(value)
        case .name(let name):
            switch name {
            case "true", "True": return .boolean(true)
            case "false", "False": return .boolean(false)
            case "none", "None": return .none
            default: return .name(name, line: tokenLine)
            }
        case .symbol("("):
            if skip(symbol: ")") { return .tuple([]) }
            let first = try parseExpression()
            if skip(symbol: ")") { return first }
            var items = [first]
            while skip(symbol: ",") {
                if current == .symbol(")") { break }
                items.append(try parseExpression())
            }
            try expect(symbol: ")")
            return .tuple(items)
        case .symbol("["):
            var items: [JinjaExpression] = []
            while !skip(symbol: "]") {
                items.append(try parseExpression())
                if !skip(symbol: ",") {
                    try expect(symbol: "]")
                    break
                }
            }
            return .list(items)
        case .symbol("{"):
            var pairs: [(JinjaExpression, JinjaExpression)] = []
            while !skip(symbol: "}") {
                let key = try parseExpression()
                try expect(symbol: ":")
                pairs.append((key, try parseExpression()))
                if !skip(symbol: ",") {
                    try expect(symbol: "}")
                    break
                }
            }
            return .dictionary(pairs)
        default:
            throw ChatTemplateError.syntax("unexpected \(describe(kind))", line: tokenLine)
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var value = base
        while true {
            let tokenLine = line
            if skip(symbol: ".") {
                if case .integer(let position) = current {
                    index += 1
                    value = .item(value, .integer(position), line: tokenLine)
                } else {
                    value = .attribute(value, try expectName(), line: tokenLine)
                }
            } else if skip(symbol: "[") {
                value = try parseSubscript(value, line: tokenLine)
            } else if current == .symbol("(") {
                value = .call(value, try parseArguments(), line: tokenLine)
            } else {
                return value
            }
        }
    }

    private mutating func parseSubscript(_ base: JinjaExpression, line tokenLine: Int) throws -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var isSlice = false
        while !skip(symbol: "]") {
            if skip(symbol: ":") {
                isSlice = true
                parts.append(nil)
            } else {
                guard parts[parts.count - 1] == nil else { throw ChatTemplateError.syntax("bad subscript", line: tokenLine) }
                parts[parts.count - 1] = try parseExpression()
            }
        }
        if !isSlice {
            guard let key = parts[0] else { throw ChatTemplateError.syntax("empty subscript", line: tokenLine) }
            return .item(base, key, line: tokenLine)
        }
        guard parts.count <= 3 else { throw ChatTemplateError.syntax("bad slice", line: tokenLine) }
        return .slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                      step: parts.count > 2 ? parts[2] : nil, line: tokenLine)
    }

    private mutating func parseArguments() throws -> JinjaArguments {
        try expect(symbol: "(")
        var arguments = JinjaArguments()
        while !skip(symbol: ")") {
            if case .name(let name) = current, index + 1 < tokens.count, tokens[index + 1].kind == .symbol("=") {
                index += 2
                arguments.keyword.append((name, try parseExpression()))
            } else {
                arguments.positional.append(try parseExpression())
            }
            if !skip(symbol: ",") {
                try expect(symbol: ")")
                break
            }
        }
        return arguments
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpression) throws -> JinjaExpression {
        var value = base
        while true {
            let tokenLine = line
            if skip(symbol: "|") {
                let name = try expectName()
                let arguments = current == .symbol("(") ? try parseArguments() : JinjaArguments()
                value = .filter(value, name, arguments, line: tokenLine)
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                var name = try expectName()
                if name == "none" || name == "true" || name == "false" { name = name.lowercased() }
                var arguments = JinjaArguments()
                if current == .symbol("(") {
                    arguments = try parseArguments()
                } else if let kind = current, startsTestArgument(kind) {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                value = .test(value, name, arguments, negated: negated, line: tokenLine)
            } else {
                return value
            }
        }
    }

    /// Whether a token after `is name` starts the test's single unparenthesised argument.
    private func startsTestArgument(_ kind: JinjaToken.Kind) -> Bool {
        switch kind {
        case .string, .integer, .float: true
        case .name(let name): !["and", "or", "not", "if", "else", "in", "is"].contains(name)
        default: false
        }
    }

    // MARK: helpers

    private mutating func skip(symbol: String) -> Bool {
        guard current == .symbol(symbol) else { return false }
        index += 1
        return true
    }

    private mutating func skip(name: String) -> Bool {
        guard current == .name(name) else { return false }
        index += 1
        return true
    }

    private mutating func expect(symbol: String) throws {
        guard skip(symbol: symbol) else {
            throw ChatTemplateError.syntax("expected `\(symbol)`, found \(current.map(describe) ?? "the end")", line: line)
        }
    }

    private mutating func expectName() throws -> String {
        guard case .name(let name) = current else {
            throw ChatTemplateError.syntax("expected a name, found \(current.map(describe) ?? "the end")", line: line)
        }
        index += 1
        return name
    }

    private mutating func expectTagEnd() throws {
        guard current == .tagEnd else {
            throw ChatTemplateError.syntax("expected the end of the tag, found \(current.map(describe) ?? "the end")", line: line)
        }
        index += 1
    }

    private func describe(_ kind: JinjaToken.Kind) -> String {
        switch kind {
        case .text: "text"
        case .outputStart: "`{{`"
        case .statementStart: "`{%`"
        case .tagEnd: "the end of the tag"
        case .name(let name): "`\(name)`"
        case .string(let value): "string \"\(value)\""
        case .integer(let value): "\(value)"
        case .float(let value): "\(value)"
        case .symbol(let symbol): "`\(symbol)`"
        }
    }
}
