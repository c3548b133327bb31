/// LaTeX commands: fractions, roots, functions, text, sets and matrix environments.
extension LatexParser {
    // MARK: Commands

    static let functionNames: [String: MathFunction] = [
        "sin": .sin, "cos": .cos, "tan": .tan, "cot": .cot, "sec": .sec, "csc": .csc,
        "arcsin": .arcsin, "arccos": .arccos, "arctan": .arctan, "asin": .arcsin, "acos": .arccos, "atan": .arctan,
        "sinh": .sinh, "cosh": .cosh, "tanh": .tanh, "exp": .exp, "ln": .ln, "log": .log, "lg": .log,
        "min": .minimum, "max": .maximum, "gcd": .gcd, "lcm": .lcm,
    ]

    static let greekAndSymbols: Set<String> = [
        "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta", "vartheta", "iota",
        "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "tau", "upsilon", "phi", "varphi", "chi",
        "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega",
        "hbar", "ell", "odot", "star", "Pi", "angle", "triangle",
    ]

    static let decorations: Set<String> = ["dot", "ddot", "hat", "bar", "vec", "tilde", "overline", "widehat", "overrightarrow", "mathcal", "mathbb", "mathscr", "mathfrak"]

    mutating func parseCommand() -> MathNode? {
        guard let name = currentCommand() else {
            if peek(1) == UInt8(ascii: "{") {
                position += 2
                return parseSetBody()
            }
            return nil
        }
        position += 1 + name.utf8.count
        if let function = LatexParser.functionNames[name] { return parseFunctionApplication(function) }
        if LatexParser.greekAndSymbols.contains(name) {
            if name == "Pi" { return .constant(.pi) }
            return parseSubscriptedName(.variable(name), baseName: name)
        }
        if LatexParser.decorations.contains(name) {
            guard let raw = skipBracedRaw() ?? singleRawToken() else { return nil }
            let inner = String(decoding: raw.filter { !$0.isASCIISpace && $0 != UInt8(ascii: "\\") }, as: UTF8.self)
            return parseSubscriptedName(.variable("\(name)(\(inner))"), baseName: "\(name)(\(inner))")
        }
        switch name {
        case "frac", "dfrac", "tfrac", "cfrac":
            guard let numerator = parseScriptArgument(wholeDigits: false),
                  let denominator = parseScriptArgument(wholeDigits: false) else { return nil }
            return .quotient(numerator, denominator)
        case "sqrt":
            var degree = MathNode.number(Rational(2))
            skipSpace()
            if current == UInt8(ascii: "[") {
                position += 1
                guard let d = parseSum() else { return nil }
                skipSpace()
                guard current == UInt8(ascii: "]") else { return nil }
                position += 1
                degree = d
            }
            guard let radicand = parseScriptArgument(wholeDigits: false) else { return nil }
            return .function(.root, [radicand, degree])
        case "binom", "dbinom", "tbinom":
            guard let n = parseScriptArgument(wholeDigits: false), let k = parseScriptArgument(wholeDigits: false) else { return nil }
            return .function(.binomial, [n, k])
        case "dollarsign": return parseFactor().map { .currency($0) }
        case "pi": return .constant(.pi)
        case "infty", "infin": return .constant(.infinity)
        case "imath": return .constant(.imaginaryUnit)
        case "emptyset", "varnothing": return .set([])
        case "lbrace": return parseSetBody(closing: "rbrace")
        case "langle": return parseSetBody(closing: "rangle").map { node in
            if case .set(let items) = node { return .tuple(items) }
            return node
        }
        case "lfloor": return parseDelimited(closing: "rfloor").map { .function(.floor, [$0]) }
        case "lceil": return parseDelimited(closing: "rceil").map { .function(.ceiling, [$0]) }
        case "lvert", "vert", "mid":
            return parseDelimited(closing: name == "lvert" ? "rvert" : name).map { .function(.absolute, [$0]) }
        case "boxed", "fbox":
            return parseScriptArgument(wholeDigits: true)
        case "begin":
            return parseEnvironment()
        case "operatorname":
            guard let raw = skipBracedRaw() else { return nil }
            let word = String(decoding: raw.filter { !$0.isASCIISpace }, as: UTF8.self)
            guard let function = LatexParser.functionNames[word] else { return nil }
            return parseFunctionApplication(function)
        default:
            if LatexParser.textCommands.contains(name) { return parseTextCommand(name) }
            return nil
        }
    }

    mutating func singleRawToken() -> ArraySlice<UInt8>? {
        skipSpace()
        guard !atEnd else { return nil }
        if current == UInt8(ascii: "\\"), let name = commandName(at: position) {
            let slice = bytes[position..<(position + 1 + name.utf8.count)]
            position += 1 + name.utf8.count
            return slice
        }
        position += 1
        return bytes[(position - 1)..<position]
    }

    /// `\{ a, b \}` after the opening `\{`.
    mutating func parseSetBody(closing: String = "}") -> MathNode? {
        bracketLevel += 1
        setBuilderLevel += 1
        defer { bracketLevel -= 1; setBuilderLevel -= 1 }
        var items: [MathNode] = []
        skipSpace()
        func atClose() -> Bool {
            closing == "}" ? (current == UInt8(ascii: "\\") && peek(1) == UInt8(ascii: "}")) : looksAt("\\" + closing)
        }
        while !atClose() {
            // While reading the first item a `|` may be a set-builder bar, not an absolute value.
            if items.isEmpty { absoluteLevel += 1 }
            let parsed = parseRelation()
            if items.isEmpty { absoluteLevel -= 1 }
            guard let item = parsed else { return nil }
            items.append(item)
            skipSpace()
            // Set-builder notation \{x \mid 2 < x < 3\}: the set is described by its condition.
            if items.count == 1, case .variable = item,
               current == UInt8(ascii: ":") || current == UInt8(ascii: "|") || consumeCommand("mid") || consumeCommand("vert")
                || consumeCommand("colon") {
                if current == UInt8(ascii: ":") || current == UInt8(ascii: "|") { position += 1 }
                absoluteLevel += 1
                let condition = parseRelation()
                absoluteLevel -= 1
                skipSpace()
                guard let condition, atClose() else { return nil }
                position += closing == "}" ? 2 : 1 + closing.utf8.count
                return condition
            }
            if current == UInt8(ascii: ",") || current == UInt8(ascii: ";") {
                position += 1
                skipSpace()
            } else if !atClose() {
                return nil
            }
        }
        position += closing == "}" ? 2 : 1 + closing.utf8.count
        return .set(items)
    }

    /// `\sin x`, `\sin(2x)`, `\sin^2 x`, `\log_2 8`, `\sin 45^\circ`.
    mutating func parseFunctionApplication(_ function: MathFunction) -> MathNode? {
        skipSpace()
        var logBase: MathNode?
        var outerPower: MathNode?
        if function == .log && current == UInt8(ascii: "_") {
            position += 1
            guard let base = parseScriptArgument(wholeDigits: true) else { return nil }
            logBase = base
        }
        skipSpace()
        if current == UInt8(ascii: "^") {
            position += 1
            guard let power = parseScriptArgument(wholeDigits: true) else { return nil }
            outerPower = power
        }
        skipSpace()
        let argument: MathNode
        if current == UInt8(ascii: "(") || current == UInt8(ascii: "{") || current == UInt8(ascii: "[") {
            guard let group = current == UInt8(ascii: "{") ? parseBracedGroup() : parseBracketed() else { return nil }
            var node = group
            // A postfix degree sign after the parenthesis: \sin(30)^\circ.
            if looksAt("^\\circ") { position += 6; node = .degrees(node) }
            argument = node
        } else {
            // Unparenthesized argument: a run of factors without + or - (\sin 2x, \cos \theta).
            guard let first = parseFactor() else { return nil }
            var factors = [first]
            while true {
                skipSpace()
                if atEnd || !startsImplicitFactor() { break }
                if let name = currentCommand(), LatexParser.functionNames[name] != nil || name == "frac" || name == "sqrt" { break }
                if current == UInt8(ascii: "(") || current == UInt8(ascii: "{") { break }
                let before = position
                guard let next = parseFactor() else { return nil }
                if before == position { break }
                factors.append(next)
            }
            argument = factors.count == 1 ? first : .product(factors)
        }
        var result: MathNode
        if [.minimum, .maximum, .gcd, .lcm].contains(function) {
            // \min(a, b, c): the parenthesized list is the argument list.
            if case .tuple(let items) = argument {
                result = .function(function, items)
            } else {
                result = .function(function, [argument])
            }
        } else if function == .log {
            result = .function(.log, [logBase ?? .number(Rational(10)), argument])
        } else {
            result = .function(function, [argument])
        }
        if let power = outerPower {
            if power == .negation(.one) || power == .number(-Rational.one), [.sin, .cos, .tan].contains(function) {
                let inverse: MathFunction = function == .sin ? .arcsin : function == .cos ? .arccos : .arctan
                result = .function(inverse, [argument])
            } else {
                result = .power(result, power)
            }
        }
        return result
    }

    /// `\text{…}` and friends in a primary position: a choice, a number word, a math letter, or text.
    mutating func parseTextCommand(_ name: String) -> MathNode? {
        guard let raw = skipBracedRaw() else { return nil }
        let content = String(decoding: raw, as: UTF8.self)
        let word = content.trimmedLowercased
        if let number = NumberWords.value(of: word) { return .number(Rational(number)) }
        let letters = raw.filter { !$0.isASCIISpace }
        if name.hasPrefix("math") || name == "boldsymbol" || name == "operatorname" {
            if letters.count == 1, let letter = letters.first, letter.isASCIILetter {
                return parseSubscriptedName(letterNode(letter), baseName: String(UnicodeScalar(letter)))
            }
        }
        if word.isEmpty { return nil }
        // Math written inside \text{} ("28 percent", "3.5"): parse the content itself.
        if letters.contains(where: { $0.isASCIIDigit }), let inner = LatexParser.parse(raw, depth: depth + 1) {
            return inner
        }
        return .text(word)
    }

    /// `\begin{pmatrix} a & b \\ c & d \end{pmatrix}` (also bmatrix, matrix, array).
    mutating func parseEnvironment() -> MathNode? {
        guard let rawName = skipBracedRaw() else { return nil }
        let name = String(decoding: rawName, as: UTF8.self)
        guard ["pmatrix", "bmatrix", "matrix", "array", "Bmatrix", "smallmatrix", "vmatrix"].contains(name) else { return nil }
        if name == "array" { _ = skipBracedRaw() }
        var rows: [[MathNode]] = []
        var row: [MathNode] = []
        let savedLevel = bracketLevel
        bracketLevel = 1
        defer { bracketLevel = savedLevel }
        while true {
            skipSpace()
            if looksAt("\\end") {
                position += 4
                _ = skipBracedRaw()
                if !row.isEmpty { rows.append(row) }
                break
            }
            guard let cell = parseSum() else { return nil }
            row.append(cell)
            skipSpace()
            if current == UInt8(ascii: "&") {
                position += 1
            } else if current == UInt8(ascii: "\\") && peek(1) == UInt8(ascii: "\\") {
                position += 2
                rows.append(row)
                row = []
            } else if !looksAt("\\end") {
                return nil
            }
        }
        guard let width = rows.first?.count, width > 0, rows.allSatisfy({ $0.count == width }) else { return nil }
        return .matrix(rows)
    }
}

extension String {
    /// Lowercased with surrounding blanks removed.
    var trimmedLowercased: String {
        let scalars = self.utf8.drop { $0.isASCIISpace }.reversed().drop { $0.isASCIISpace }.reversed()
        return String(decoding: Array(scalars), as: UTF8.self).lowercased()
    }

    /// Removes `text`/`mathrm` markers left inside subscripts (`\text {red}` → `red`).
    var replacingTextMarkers: String {
        var result = self
        for marker in ["mathrm", "textrm", "text", "rm"] where result.hasPrefix(marker) && result.utf8.count > marker.utf8.count {
            result = String(result.dropFirst(marker.count))
            break
        }
        return result
    }
}