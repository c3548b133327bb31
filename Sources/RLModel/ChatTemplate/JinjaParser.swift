/// Parses Jinja tokens into statements (recursive descent, Jinja's operator precedence).
struct JinjaParser {
    private let tokens: [JinjaToken]
    private var index = 0
    /// Open blocks (`if`, `for`, `macro`, ...), limited so that parsing cannot exhaust the stack.
    private var blockDepth = 0
    /// The depth of the expression tree last parsed (a literal is 1). Trees deeper than
    /// `maximumExpressionDepth` are refused while they are built, so that neither parsing,
    /// evaluating nor freeing one can exhaust the stack (`1+1+...+1` with 30,000 terms, 100,000
    /// chained filters).
    private var depth = 0
    /// Parse functions in progress that call themselves (`not not ...`, `- - ...`, `a if b else c if ...`).
    private var nesting = 0
    /// The deepest expression tree a template may hold (real templates stay below 20).
    static let maximumExpressionDepth = 200

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
        var deepest = depth
        while skip(symbol: ",") {
            items.append(try parseExpression())
            deepest = max(deepest, depth)
        }
        try node(over: deepest)
        return .tuple(items)
    }

    private mutating func parseExpression() throws -> JinjaExpression {
        try nested { parser in
            let value = try parser.parseOr()
            let valueDepth = parser.depth
            guard parser.skip(name: "if") else { return value }
            let condition = try parser.parseOr()
            let conditionDepth = parser.depth
            var otherwiseDepth = 0
            var otherwise: JinjaExpression?
            if parser.skip(name: "else") {
                otherwise = try parser.parseExpression()
                otherwiseDepth = parser.depth
            }
            try parser.node(over: valueDepth, conditionDepth, otherwiseDepth)
            return .conditional(condition, then: value, otherwise: otherwise)
        }
    }

    /// A left-associative chain `operand (op operand)*`: `next` parses an operator (returning
    /// its name) or returns nil at the end of the chain.
    private mutating func chain(_ operand: (inout JinjaParser) throws -> JinjaExpression,
                                next: (inout JinjaParser) -> String?) throws -> JinjaExpression {
        var left = try operand(&self)
        var leftDepth = depth
        while let op = next(&self) {
            let right = try operand(&self)
            try node(over: leftDepth, depth)
            leftDepth = depth
            left = .binary(op, left, right, line: line)
        }
        depth = leftDepth
        return left
    }

    private mutating func parseOr() throws -> JinjaExpression {
        try chain({ try $0.parseAnd() }, next: { $0.skip(name: "or") ? "or" : nil })
    }

    private mutating func parseAnd() throws -> JinjaExpression {
        try chain({ try $0.parseNot() }, next: { $0.skip(name: "and") ? "and" : nil })
    }

    private mutating func parseNot() throws -> JinjaExpression {
        guard skip(name: "not") else { return try parseCompare() }
        return try nested { parser in
            let operand = try parser.parseNot()
            try parser.node(over: parser.depth)
            return .unary("not", operand, line: parser.line)
        }
    }

    /// Comparisons chain as in Python: `a < b < c` is `a < b and b < c`.
    private mutating func parseCompare() throws -> JinjaExpression {
        let first = try parseMath1()
        var operand = first
        var operandDepth = depth
        var comparisons: [JinjaExpression] = []
        var chainDepth = 0
        while true {
            var negated = false
            let symbol: String
            if case .symbol(let found) = current, ["==", "!=", "<", ">", "<=", ">="].contains(found) {
                index += 1
                symbol = found
            } else if skip(name: "in") {
                symbol = "in"
            } else if current == .name("not"), index + 1 < tokens.count, tokens[index + 1].kind == .name("in") {
                index += 2
                symbol = "in"
                negated = true
            } else {
                break
            }
            let right = try parseMath1()
            let rightDepth = depth
            try node(over: operandDepth, rightDepth)
            var comparison = JinjaExpression.binary(symbol, operand, right, line: line)
            if negated {
                try node(over: depth)
                comparison = .unary("not", comparison, line: line)
            }
            if comparisons.isEmpty {
                chainDepth = depth
            } else {
                try node(over: chainDepth, depth)
                chainDepth = depth
            }
            comparisons.append(comparison)
            operand = right
            operandDepth = rightDepth
        }
        guard var chain = comparisons.first else {
            depth = operandDepth
            return first
        }
        for comparison in comparisons.dropFirst() { chain = .binary("and", chain, comparison, line: line) }
        depth = chainDepth
        return chain
    }

    private mutating func parseMath1() throws -> JinjaExpression {
        try chain({ try $0.parseConcat() }, next: { parser in
            guard case .symbol(let symbol) = parser.current, symbol == "+" || symbol == "-" else { return nil }
            parser.index += 1
            return symbol
        })
    }

    private mutating func parseConcat() throws -> JinjaExpression {
        try chain({ try $0.parseMath2() }, next: { $0.skip(symbol: "~") ? "~" : nil })
    }

    private mutating func parseMath2() throws -> JinjaExpression {
        try chain({ try $0.parsePower() }, next: { parser in
            guard case .symbol(let symbol) = parser.current, ["*", "/", "//", "%"].contains(symbol) else { return nil }
            parser.index += 1
            return symbol
        })
    }

    private mutating func parsePower() throws -> JinjaExpression {
        try chain({ try $0.parseUnary(withFilters: true) }, next: { $0.skip(symbol: "**") ? "**" : nil })
    }

    private mutating func parseUnary(withFilters: Bool) throws -> JinjaExpression {
        var value: JinjaExpression
        if skip(symbol: "-") {
            value = try nested { parser in
                let operand = try parser.parseUnary(withFilters: false)
                try parser.node(over: parser.depth)
                return .unary("-", operand, line: parser.line)
            }
        } else if skip(symbol: "+") {
            value = try nested { try $0.parseUnary(withFilters: false) }
        } else {
            value = try parsePostfix(try parsePrimary())
        }
        return withFilters ? try parseFiltersAndTests(value) : value
    }

    private mutating func parsePrimary() throws -> JinjaExpression {
        let tokenLine = line
        guard let kind = current else { throw ChatTemplateError.syntax("unexpected end of template", line: tokenLine) }
        index += 1
        depth = 1
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
            var deepest = depth
            while skip(symbol: ",") {
                if current == .symbol(")") { break }
                items.append(try parseExpression())
                deepest = max(deepest, depth)
            }
            try expect(symbol: ")")
            try node(over: deepest)
            return .tuple(items)
        case .symbol("["):
            var items: [JinjaExpression] = []
            var deepest = 0
            while !skip(symbol: "]") {
                items.append(try parseExpression())
                deepest = max(deepest, depth)
                if !skip(symbol: ",") {
                    try expect(symbol: "]")
                    break
                }
            }
            try node(over: deepest)
            return .list(items)
        case .symbol("{"):
            var pairs: [(JinjaExpression, JinjaExpression)] = []
            var deepest = 0
            while !skip(symbol: "}") {
                let key = try parseExpression()
                deepest = max(deepest, depth)
                try expect(symbol: ":")
                pairs.append((key, try parseExpression()))
                deepest = max(deepest, depth)
                if !skip(symbol: ",") {
                    try expect(symbol: "}")
                    break
                }
            }
            try node(over: deepest)
            return .dictionary(pairs)
        default:
            throw ChatTemplateError.syntax("unexpected \(describe(kind))", line: tokenLine)
        }
    }

    private mutating func parsePostfix(_ base: JinjaExpression) throws -> JinjaExpression {
        var value = base
        while true {
            let tokenLine = line
            let valueDepth = depth
            if skip(symbol: ".") {
                if case .integer(let position) = current {
                    index += 1
                    value = .item(value, .integer(position), line: tokenLine)
                } else {
                    value = .attribute(value, try expectName(), line: tokenLine)
                }
                try node(over: valueDepth, 1)
            } else if skip(symbol: "[") {
                value = try parseSubscript(value, line: tokenLine)
                try node(over: valueDepth, depth)
            } else if current == .symbol("(") {
                value = .call(value, try parseArguments(), line: tokenLine)
                try node(over: valueDepth, depth)
            } else {
                return value
            }
        }
    }

    /// Parses `[...]` after `base`; the recorded depth is that of the deepest part inside.
    private mutating func parseSubscript(_ base: JinjaExpression, line tokenLine: Int) throws -> JinjaExpression {
        var parts: [JinjaExpression?] = [nil]
        var isSlice = false
        var deepest = 0
        while !skip(symbol: "]") {
            if skip(symbol: ":") {
                isSlice = true
                parts.append(nil)
            } else {
                guard parts[parts.count - 1] == nil else { throw ChatTemplateError.syntax("bad subscript", line: tokenLine) }
                parts[parts.count - 1] = try parseExpression()
                deepest = max(deepest, depth)
            }
        }
        depth = deepest
        if !isSlice {
            guard let key = parts[0] else { throw ChatTemplateError.syntax("empty subscript", line: tokenLine) }
            return .item(base, key, line: tokenLine)
        }
        guard parts.count <= 3 else { throw ChatTemplateError.syntax("bad slice", line: tokenLine) }
        return .slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                      step: parts.count > 2 ? parts[2] : nil, line: tokenLine)
    }

    /// Parses `(...)`; the recorded depth is that of the deepest argument (0 for none).
    private mutating func parseArguments() throws -> JinjaArguments {
        try expect(symbol: "(")
        var arguments = JinjaArguments()
        var deepest = 0
        while !skip(symbol: ")") {
            if case .name(let name) = current, index + 1 < tokens.count, tokens[index + 1].kind == .symbol("=") {
                index += 2
                arguments.keyword.append((name, try parseExpression()))
            } else {
                arguments.positional.append(try parseExpression())
            }
            deepest = max(deepest, depth)
            if !skip(symbol: ",") {
                try expect(symbol: ")")
                break
            }
        }
        depth = deepest
        return arguments
    }

    private mutating func parseFiltersAndTests(_ base: JinjaExpression) throws -> JinjaExpression {
        var value = base
        while true {
            let tokenLine = line
            let valueDepth = depth
            if skip(symbol: "|") {
                let name = try expectName()
                depth = 0
                let arguments = current == .symbol("(") ? try parseArguments() : JinjaArguments()
                value = .filter(value, name, arguments, line: tokenLine)
                try node(over: valueDepth, depth)
            } else if skip(name: "is") {
                let negated = skip(name: "not")
                var name = try expectName()
                if name == "none" || name == "true" || name == "false" { name = name.lowercased() }
                var arguments = JinjaArguments()
                depth = 0
                if current == .symbol("(") {
                    arguments = try parseArguments()
                } else if let kind = current, startsTestArgument(kind) {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                value = .test(value, name, arguments, negated: negated, line: tokenLine)
                try node(over: valueDepth, depth)
            } else {
                depth = valueDepth
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

    /// The depth of a node over children of depth `children` (recorded as the last depth);
    /// throws past `maximumExpressionDepth`.
    private mutating func node(over children: Int...) throws {
        depth = (children.max() ?? 0) + 1
        if depth > Self.maximumExpressionDepth {
            throw ChatTemplateError.syntax("expression nested too deeply (more than \(Self.maximumExpressionDepth) levels)", line: line)
        }
    }

    /// Runs a parse function that may call itself, counting how deep.
    private mutating func nested<T>(_ body: (inout JinjaParser) throws -> T) throws -> T {
        nesting += 1
        defer { nesting -= 1 }
        if nesting > Self.maximumExpressionDepth {
            throw ChatTemplateError.syntax("expression nested too deeply (more than \(Self.maximumExpressionDepth) levels)", line: line)
        }
        return try body(&self)
    }

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
