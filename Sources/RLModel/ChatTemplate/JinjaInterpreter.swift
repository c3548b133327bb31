/// Renders parsed Jinja statements against a context of variables.
final class JinjaInterpreter {
    private enum Flow { case normal, breakLoop, continueLoop }

    /// Variable scopes, outermost first: the context, then one per for loop or macro call.
    private var scopes: [[String: JinjaValue]]
    private var output = ""
    /// The template line being rendered, for error messages.
    private var line = 1
    /// Macro calls in progress, limited so that a recursive macro cannot exhaust the stack.
    private var macroDepth = 0
    /// Nested `evaluate` calls in progress (expressions inside macro calls inside expressions...).
    private var evaluationDepth = 0
    /// Statements, loop iterations and expression evaluations so far.
    private var steps = 0
    private let limits: JinjaLimits

    init(context: [String: JinjaValue], limits: JinjaLimits = JinjaLimits()) {
        scopes = [context]
        self.limits = limits
    }

    /// Counts one unit of work; throws once the template has done more than `limits.steps`.
    @inline(__always) private func step() throws {
        steps += 1
        if steps > limits.steps {
            throw JinjaFailure("the template does more than \(limits.steps) steps of work (an endless or huge loop?)")
        }
    }

    /// Appends to the output, within `limits.outputBytes`.
    private func emit(_ text: String) throws {
        guard output.utf8.count + text.utf8.count <= limits.outputBytes else {
            throw JinjaFailure("the template's output exceeds \(limits.outputBytes) bytes")
        }
        output += text
    }

    /// `value`, a call's or filter's result, with the lists it built (`range()`, `split()`,
    /// `map`, ...) counted as one step per item.
    private func charged(_ value: JinjaValue) throws -> JinjaValue {
        if case .list(let items) = value {
            steps += items.count
            if steps > limits.steps {
                throw JinjaFailure("the template does more than \(limits.steps) steps of work (an endless or huge loop?)")
            }
        }
        return value
    }

    /// Throws when `value` nests lists, dicts and namespaces deeper than `limits.valueDepth`
    /// (a loop of `set ns.x = [ns.x]` would build a value that printing, comparing or even
    /// freeing recurses through until the stack overflows; a namespace holding itself never
    /// ends). Each visited item counts as a step.
    /// `holder`: the namespace the value goes into, which it must not contain (a cycle).
    private func checkNesting(_ value: JinjaValue, holder: JinjaNamespace? = nil, level: Int = 1) throws {
        switch value {
        case .list(let items), .tuple(let items):
            try nested(level)
            for item in items { try step(); try checkNesting(item, holder: holder, level: level + 1) }
        case .dictionary(let dictionary):
            try nested(level)
            for pair in dictionary.pairs { try step(); try checkNesting(pair.value, holder: holder, level: level + 1) }
        case .namespace(let namespace):
            if namespace === holder { throw JinjaFailure("a namespace cannot hold itself") }
            try nested(level)
            for pair in namespace.attributes.pairs { try step(); try checkNesting(pair.value, holder: holder, level: level + 1) }
        default:
            return
        }
        func nested(_ level: Int) throws {
            if level > limits.valueDepth {
                throw JinjaFailure("a value nests lists, dicts or namespaces deeper than \(limits.valueDepth) levels")
            }
        }
    }

    /// `value`, unless it is a string or list larger than the limits allow.
    private func checkedSize(_ value: JinjaValue) throws -> JinjaValue {
        switch value {
        case .string(let text) where text.utf8.count > limits.outputBytes:
            throw JinjaFailure("a string of more than \(limits.outputBytes) bytes")
        case .list(let items) where items.count > JinjaBuiltins.maximumLength,
             .tuple(let items) where items.count > JinjaBuiltins.maximumLength:
            throw JinjaFailure("a list of more than \(JinjaBuiltins.maximumLength) items")
        default:
            return value
        }
    }

    /// Renders the statements and returns the text.
    func render(_ statements: [JinjaStatement]) throws -> String {
        do {
            _ = try execute(statements)
        } catch let failure as JinjaFailure {
            throw failure.isUnsupported
                ? ChatTemplateError.unsupported(failure.message, line: line)
                : ChatTemplateError.runtime(failure.message, line: line)
        }
        return output
    }

    // MARK: statements

    private func execute(_ statements: [JinjaStatement]) throws -> Flow {
        for statement in statements {
            let flow = try execute(statement)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ statement: JinjaStatement) throws -> Flow {
        try step()
        switch statement {
        case .text(let text):
            try emit(text)
        case .output(let expression):
            try emit(try evaluate(expression).text)
        case .if(let branches, let otherwise):
            for (condition, body) in branches where try evaluate(condition).isTrue {
                return try execute(body)
            }
            return try execute(otherwise)
        case .for(let targets, let iterable, let condition, let body, let otherwise, let statementLine):
            line = statementLine
            return try executeFor(targets: targets, items: try evaluate(iterable).iterated(), condition: condition,
                                  body: body, otherwise: otherwise)
        case .set(let targets, let attribute, let valueExpression, let statementLine):
            line = statementLine
            let value = try evaluate(valueExpression)
            if let attribute {
                guard case .namespace(let namespace) = lookup(targets[0]) else {
                    throw JinjaFailure("cannot set attribute `\(attribute)` of `\(targets[0])`: it is not a namespace")
                }
                try checkNesting(value, holder: namespace)
                namespace.attributes[attribute] = value
            } else {
                try checkNesting(value)
                try bind(targets, to: value)
            }
        case .macro(let name, let parameters, let body):
            scopes[scopes.count - 1][name] = makeMacro(parameters: parameters, body: body)
        case .break:
            return .breakLoop
        case .continue:
            return .continueLoop
        }
        return .normal
    }

    private func executeFor(targets: [String], items: [JinjaValue], condition: JinjaExpression?,
                            body: [JinjaStatement], otherwise: [JinjaStatement]) throws -> Flow {
        scopes.append([:])
        defer { scopes.removeLast() }
        var selected = items
        if let condition {
            selected = try items.filter { item in
                try step()
                try bind(targets, to: item)
                return try evaluate(condition).isTrue
            }
        }
        if selected.isEmpty { return try execute(otherwise) }
        for (position, item) in selected.enumerated() {
            try step()
            try bind(targets, to: item)
            let count = selected.count
            let loop = JinjaDictionary([
                ("index", .integer(position + 1)), ("index0", .integer(position)),
                ("revindex", .integer(count - position)), ("revindex0", .integer(count - position - 1)),
                ("first", .boolean(position == 0)), ("last", .boolean(position == count - 1)),
                ("length", .integer(count)), ("depth", .integer(1)), ("depth0", .integer(0)),
                ("previtem", position > 0 ? selected[position - 1] : .undefined),
                ("nextitem", position + 1 < count ? selected[position + 1] : .undefined),
                ("cycle", .function({ arguments, _ in
                    arguments.isEmpty ? .undefined : arguments[position % arguments.count]
                })),
            ])
            scopes[scopes.count - 1]["loop"] = .dictionary(loop)
            if try execute(body) == .breakLoop { break }
        }
        return .normal
    }

    private func bind(_ targets: [String], to value: JinjaValue) throws {
        if targets.count == 1 {
            scopes[scopes.count - 1][targets[0]] = value
            return
        }
        let items = try value.iterated()
        guard items.count == targets.count else {
            throw JinjaFailure("cannot unpack \(items.count) values into \(targets.count) names")
        }
        for (target, item) in zip(targets, items) { scopes[scopes.count - 1][target] = item }
    }

    private func makeMacro(parameters: [(String, JinjaExpression?)], body: [JinjaStatement]) -> JinjaValue {
        .function { [unowned self] positional, keyword in
            var frame: [String: JinjaValue] = [:]
            for (position, (name, defaultValue)) in parameters.enumerated() {
                if position < positional.count {
                    frame[name] = positional[position]
                } else if let value = keyword[name] {
                    frame[name] = value
                } else {
                    frame[name] = try defaultValue.map { try self.evaluate($0) } ?? .undefined
                }
            }
            guard self.macroDepth < 64 else { throw JinjaFailure("macro calls nested deeper than 64") }
            let savedOutput = self.output
            self.output = ""
            self.scopes.append(frame)
            self.macroDepth += 1
            defer {
                self.macroDepth -= 1
                self.scopes.removeLast()
                self.output = savedOutput
            }
            _ = try self.execute(body)
            return .string(self.output)
        }
    }

    private func lookup(_ name: String) -> JinjaValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        return JinjaBuiltins.global(name) ?? .undefined
    }

    // MARK: expressions

    func evaluate(_ expression: JinjaExpression) throws -> JinjaValue {
        try step()
        evaluationDepth += 1
        defer { evaluationDepth -= 1 }
        if evaluationDepth > limits.evaluationDepth {
            throw JinjaFailure("expressions and macro calls nested deeper than \(limits.evaluationDepth)")
        }
        return try checkedSize(try evaluateNode(expression))
    }

    private func evaluateNode(_ expression: JinjaExpression) throws -> JinjaValue {
        switch expression {
        case .string(let value): return .string(value)
        case .integer(let value): return .integer(value)
        case .float(let value): return .float(value)
        case .boolean(let value): return .boolean(value)
        case .none: return .none
        case .name(let name, let nameLine):
            line = nameLine
            return lookup(name)
        case .list(let items):
            return .list(try items.map(evaluate))
        case .tuple(let items):
            return .tuple(try items.map(evaluate))
        case .dictionary(let pairs):
            var dictionary = JinjaDictionary()
            for (keyExpression, valueExpression) in pairs {
                guard case .string(let key) = try evaluate(keyExpression) else {
                    throw JinjaFailure("dictionary keys must be strings", unsupported: true)
                }
                dictionary[key] = try evaluate(valueExpression)
            }
            return .dictionary(dictionary)
        case .attribute(let base, let name, let attributeLine):
            let value = try evaluate(base)
            line = attributeLine
            return try JinjaBuiltins.attribute(name, of: value)
        case .item(let base, let keyExpression, let subscriptLine):
            let value = try evaluate(base)
            let key = try evaluate(keyExpression)
            line = subscriptLine
            return try JinjaBuiltins.item(key, of: value)
        case .slice(let base, let start, let stop, let step, let sliceLine):
            let value = try evaluate(base)
            let bounds = try [start, stop, step].map { try $0.map(evaluate) }
            line = sliceLine
            return try JinjaBuiltins.slice(value, start: bounds[0], stop: bounds[1], step: bounds[2])
        case .call(let callee, let arguments, let callLine):
            let function = try evaluate(callee)
            let (positional, keyword) = try evaluate(arguments)
            line = callLine
            guard case .function(let body) = function else {
                switch callee {
                case .attribute(let base, let name, _):
                    let receiver = (try? evaluate(base))?.typeName ?? "value"
                    throw JinjaFailure("method `\(name)` of \(receiver)", unsupported: true)
                case .name(let name, _) where !function.isDefined:
                    throw JinjaFailure("function `\(name)`", unsupported: true)
                default:
                    throw JinjaFailure("\(function.typeName) is not callable")
                }
            }
            return try charged(try body(positional, keyword))
        case .filter(let base, let name, let arguments, let filterLine):
            let value = try evaluate(base)
            let (positional, keyword) = try evaluate(arguments)
            line = filterLine
            return try charged(try JinjaBuiltins.filter(name, value, positional, keyword))
        case .test(let base, let name, let arguments, let negated, let testLine):
            let value = try evaluate(base)
            let (positional, _) = try evaluate(arguments)
            line = testLine
            return .boolean(try JinjaBuiltins.test(name, value, positional) != negated)
        case .unary(let op, let operand, let unaryLine):
            let value = try evaluate(operand)
            line = unaryLine
            if op == "not" { return .boolean(!value.isTrue) }
            switch value {
            case .integer(let number): return .integer(-number)
            case .float(let number): return .float(-number)
            default: throw JinjaFailure("bad operand type for unary -: '\(value.typeName)'")
            }
        case .binary(let op, let leftExpression, let rightExpression, let binaryLine):
            let left = try evaluate(leftExpression)
            if op == "and" { return left.isTrue ? try evaluate(rightExpression) : left }
            if op == "or" { return left.isTrue ? left : try evaluate(rightExpression) }
            let right = try evaluate(rightExpression)
            line = binaryLine
            return try JinjaBuiltins.binary(op, left, right)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).isTrue { return try evaluate(then) }
            return try otherwise.map(evaluate) ?? .undefined
        }
    }

    private func evaluate(_ arguments: JinjaArguments) throws -> ([JinjaValue], [String: JinjaValue]) {
        let positional = try arguments.positional.map(evaluate)
        var keyword: [String: JinjaValue] = [:]
        for (name, expression) in arguments.keyword { keyword[name] = try evaluate(expression) }
        return (positional, keyword)
    }
}
