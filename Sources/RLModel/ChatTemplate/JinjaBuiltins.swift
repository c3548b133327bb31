#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Jinja's global functions, filters, tests, operators and the Python methods templates call.
enum JinjaBuiltins {
    /// The longest list or string `range()` and `*` make (a template cannot exhaust memory).
    static let maximumLength = 10_000_000
    /// The longest string a template may build (`JinjaLimits.outputBytes` by default): `replace`,
    /// `join` and `indent` check their result's size before building it.
    static let maximumStringBytes = 16 << 20

    /// Throws unless a string of `bytes` bytes is within `maximumStringBytes`.
    static func checkSize(_ bytes: Int, _ what: String) throws {
        guard bytes <= maximumStringBytes else {
            throw JinjaFailure("\(what) would make a string of more than \(maximumStringBytes) bytes")
        }
    }

    /// `text` with every `old` replaced by `new`, refused when the result would be too long.
    static func replacing(_ text: String, _ old: String, with new: String) throws -> String {
        if new.utf8.count > old.utf8.count {
            let occurrences = old.isEmpty ? text.count + 1 : text.ranges(of: old).count
            let (grown, overflow) = occurrences.multipliedReportingOverflow(by: new.utf8.count - old.utf8.count)
            try checkSize(overflow ? .max : text.utf8.count &+ grown, "replace")
        }
        return text.replacingOccurrences(old, with: new)
    }

    /// `parts` joined by `separator`, refused when the result would be too long.
    static func joining(_ parts: [String], separator: String) throws -> String {
        var total = separator.utf8.count * max(parts.count - 1, 0)
        for part in parts {
            total += part.utf8.count
            try checkSize(total, "join")
        }
        try checkSize(total, "join")
        return parts.joined(separator: separator)
    }

    /// The widest indentation `indent` and `tojson(indent=)` accept.
    static let maximumIndent = 64

    /// An indentation width from a template, within 0...maximumIndent.
    static func indentWidth(_ value: Int, _ what: String) throws -> Int {
        guard (0...maximumIndent).contains(value) else {
            throw JinjaFailure("\(what) must be between 0 and \(maximumIndent), got \(value)")
        }
        return value
    }

    // MARK: globals

    static func global(_ name: String) -> JinjaValue? {
        switch name {
        case "range":
            return .function { arguments, _ in
                let numbers = try arguments.map { argument in
                    guard let number = argument.integer else { throw JinjaFailure("range() needs integers") }
                    return number
                }
                let (start, stop, step) = switch numbers.count {
                case 1: (0, numbers[0], 1)
                case 2: (numbers[0], numbers[1], 1)
                case 3: (numbers[0], numbers[1], numbers[2])
                default: throw JinjaFailure("range() takes 1 to 3 arguments")
                }
                guard step != 0 else { throw JinjaFailure("range() step must not be zero") }
                let length = step > 0 ? (Double(stop) - Double(start)) / Double(step) : (Double(start) - Double(stop)) / Double(-step)
                guard length <= Double(maximumLength) else { throw JinjaFailure("range() is too long") }
                return .list(stride(from: start, to: stop, by: step).map { .integer($0) })
            }
        case "namespace", "dict":
            return .function { arguments, keyword in
                var attributes = JinjaDictionary()
                for argument in arguments {
                    guard case .dictionary(let dictionary) = argument else { throw JinjaFailure("\(name)() takes a dict") }
                    for (key, value) in dictionary.pairs { attributes[key] = value }
                }
                for key in keyword.keys.sorted() { attributes[key] = keyword[key] }
                return name == "dict" ? .dictionary(attributes) : .namespace(JinjaNamespace(attributes))
            }
        case "raise_exception":
            return .function { arguments, _ in
                throw ChatTemplateError.raised(arguments.first?.text ?? "")
            }
        case "strftime_now":
            // transformers: datetime.now().strftime(format), local time (Llama 3.x's date line).
            return .function { arguments, _ in
                guard arguments.count == 1, case .string(let format) = arguments[0] else {
                    throw JinjaFailure("strftime_now() takes one format string")
                }
                var now = time(nil), parts = tm()
                localtime_r(&now, &parts)
                var buffer = [CChar](repeating: 0, count: 256)
                let count = strftime(&buffer, buffer.count, format, &parts)
                return .string(String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        default:
            return nil
        }
    }

    // MARK: attribute and item access

    static func attribute(_ name: String, of value: JinjaValue) throws -> JinjaValue {
        switch value {
        case .undefined:
            throw JinjaFailure("cannot read attribute `\(name)` of an undefined value")
        case .dictionary(let dictionary):
            return dictionaryMethod(name, dictionary) ?? dictionary[name] ?? .undefined
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined
        case .string(let string):
            return stringMethod(name, string) ?? .undefined
        default:
            return .undefined
        }
    }

    static func item(_ key: JinjaValue, of value: JinjaValue) throws -> JinjaValue {
        switch (value, key) {
        case (.undefined, _):
            throw JinjaFailure("cannot read item \(key.representation) of an undefined value")
        case (.dictionary(let dictionary), .string(let name)):
            return dictionary[name] ?? dictionaryMethod(name, dictionary) ?? .undefined
        case (.namespace(let namespace), .string(let name)):
            return namespace.attributes[name] ?? .undefined
        case (.list(let items), _), (.tuple(let items), _):
            guard let index = key.integer else { return .undefined }
            let position = index < 0 ? items.count + index : index
            return items.indices.contains(position) ? items[position] : .undefined
        case (.string(let string), _):
            guard let index = key.integer else { return .undefined }
            let scalars = Array(string.unicodeScalars)
            let position = index < 0 ? scalars.count + index : index
            return scalars.indices.contains(position) ? .string(String(scalars[position])) : .undefined
        default:
            return .undefined
        }
    }

    /// Python slicing `value[start:stop:step]` of a list or string.
    static func slice(_ value: JinjaValue, start: JinjaValue?, stop: JinjaValue?, step: JinjaValue?) throws -> JinjaValue {
        func pick<T>(_ items: [T]) throws -> [T] {
            let stepValue = step?.integer ?? 1
            guard stepValue != 0 else { throw JinjaFailure("slice step cannot be zero") }
            let count = items.count
            func clamp(_ bound: JinjaValue?, _ fallback: Int) -> Int {
                guard let raw = bound?.integer else { return fallback }
                let position = raw < 0 ? raw + count : raw
                return stepValue > 0 ? min(max(position, 0), count) : min(max(position, -1), count - 1)
            }
            let first = clamp(start, stepValue > 0 ? 0 : count - 1)
            let last = clamp(stop, stepValue > 0 ? count : -1)
            return stride(from: first, to: last, by: stepValue).map { items[$0] }
        }
        switch value {
        case .list(let items): return .list(try pick(items))
        case .tuple(let items): return .tuple(try pick(items))
        case .string(let string):
            var result = ""
            result.unicodeScalars.append(contentsOf: try pick(Array(string.unicodeScalars)))
            return .string(result)
        case .undefined: throw JinjaFailure("cannot slice an undefined value")
        default: throw JinjaFailure("'\(value.typeName)' object is not subscriptable")
        }
    }

    // MARK: methods

    private static func dictionaryMethod(_ name: String, _ dictionary: JinjaDictionary) -> JinjaValue? {
        switch name {
        case "items": .function { _, _ in .list(dictionary.pairs.map { .tuple([.string($0.key), $0.value]) }) }
        case "keys": .function { _, _ in .list(dictionary.pairs.map { .string($0.key) }) }
        case "values": .function { _, _ in .list(dictionary.pairs.map(\.value)) }
        case "get":
            .function { arguments, _ in
                guard case .string(let key)? = arguments.first else { return arguments.count > 1 ? arguments[1] : .none }
                return dictionary[key] ?? (arguments.count > 1 ? arguments[1] : .none)
            }
        default: nil
        }
    }

    private static func stringMethod(_ name: String, _ string: String) -> JinjaValue? {
        func argument(_ arguments: [JinjaValue], _ index: Int) -> String? {
            guard index < arguments.count, case .string(let value) = arguments[index] else { return nil }
            return value
        }
        switch name {
        case "split":
            return .function { arguments, keyword in
                let separator = argument(arguments, 0) ?? keyword["sep"].flatMap { $0.isTrue ? $0.text : nil }
                let limit = (arguments.count > 1 ? arguments[1] : keyword["maxsplit"])?.integer ?? -1
                return .list(split(string, separator: separator, limit: limit).map { .string($0) })
            }
        case "startswith", "endswith":
            return .function { arguments, _ in
                let candidates: [JinjaValue] = switch arguments.first {
                case .list(let items)?, .tuple(let items)?: items
                default: Array(arguments.prefix(1))
                }
                return .boolean(candidates.contains { candidate in
                    guard case .string(let affix) = candidate else { return false }
                    return name == "startswith" ? string.hasPrefix(affix) : string.hasSuffix(affix)
                })
            }
        case "strip", "lstrip", "rstrip":
            return .function { arguments, _ in .string(strip(string, characters: argument(arguments, 0), mode: name)) }
        case "upper": return .function { _, _ in .string(string.uppercased()) }
        case "lower": return .function { _, _ in .string(string.lowercased()) }
        case "title": return .function { _, _ in .string(title(string)) }
        case "capitalize": return .function { _, _ in .string(capitalize(string)) }
        case "replace":
            return .function { arguments, _ in
                guard let old = argument(arguments, 0), let new = argument(arguments, 1) else {
                    throw JinjaFailure("replace() needs two strings")
                }
                return .string(try replacing(string, old, with: new))
            }
        case "find":
            return .function { arguments, _ in
                guard let needle = argument(arguments, 0) else { throw JinjaFailure("find() needs a string") }
                guard let range = string.firstRange(of: needle) else { return .integer(-1) }
                return .integer(string.unicodeScalars[..<range.lowerBound].count)
            }
        case "join":
            return .function { arguments, _ in
                .string(try joining((arguments.first ?? .list([])).iterated().map(\.text), separator: string))
            }
        default:
            return nil
        }
    }

    /// Python `str.split`: on runs of white space (dropping empty parts) without a separator.
    private static func split(_ string: String, separator: String?, limit: Int) -> [String] {
        guard let separator, !separator.isEmpty else {
            var parts: [String] = []
            var rest = string[...].drop { $0.isWhitespace }
            while !rest.isEmpty {
                if limit >= 0 && parts.count == limit {
                    parts.append(String(rest))
                    break
                }
                let word = rest.prefix { !$0.isWhitespace }
                parts.append(String(word))
                rest = rest[word.endIndex...].drop { $0.isWhitespace }
            }
            return parts
        }
        var parts: [String] = []
        var rest = string[...]
        while limit < 0 || parts.count < limit, let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }

    private static func strip(_ string: String, characters: String?, mode: String) -> String {
        let set = characters.map { Set($0.unicodeScalars) }
        func strippable(_ scalar: Unicode.Scalar) -> Bool { set?.contains(scalar) ?? scalar.properties.isWhitespace }
        var scalars = Substring(string).unicodeScalars[...]
        if mode != "rstrip" { while let first = scalars.first, strippable(first) { scalars.removeFirst() } }
        if mode != "lstrip" { while let last = scalars.last, strippable(last) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    private static func title(_ string: String) -> String {
        var result = ""
        var previousIsLetter = false
        for character in string {
            result += previousIsLetter ? character.lowercased() : character.uppercased()
            previousIsLetter = character.isLetter
        }
        return result
    }

    private static func capitalize(_ string: String) -> String {
        guard let first = string.first else { return string }
        return first.uppercased() + string.dropFirst().lowercased()
    }

    // MARK: filters

    static func filter(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue],
                       _ keyword: [String: JinjaValue]) throws -> JinjaValue {
        func option(_ index: Int, _ key: String) -> JinjaValue? {
            index < arguments.count ? arguments[index] : keyword[key]
        }
        switch name {
        case "trim":
            let characters = option(0, "chars").flatMap { $0.isDefined && !($0.isNone) ? $0.text : nil }
            return .string(strip(value.text, characters: characters, mode: "strip"))
        case "length", "count":
            switch value {
            case .string(let string): return .integer(string.unicodeScalars.count)
            case .dictionary(let dictionary): return .integer(dictionary.count)
            default: return .integer(try value.iterated().count)
            }
        case "upper": return .string(value.text.uppercased())
        case "lower": return .string(value.text.lowercased())
        case "title": return .string(title(value.text))
        case "capitalize": return .string(capitalize(value.text))
        case "string": return .string(value.text)
        case "safe": return value
        case "first": return try value.iterated().first ?? .undefined
        case "last": return try value.iterated().last ?? .undefined
        case "list": return .list(try value.iterated())
        case "reverse":
            if case .string(let string) = value { return .string(String(string.reversed())) }
            return .list(try value.iterated().reversed())
        case "join":
            var items = try value.iterated()
            if let attribute = option(1, "attribute")?.text { items = try items.map { try self.attribute(attribute, of: $0) } }
            return .string(try joining(items.map(\.text), separator: option(0, "d")?.text ?? ""))
        case "default", "d":
            let fallback = option(0, "default_value") ?? .string("")
            let useFalsy = option(1, "boolean")?.isTrue ?? false
            return (useFalsy ? value.isTrue : value.isDefined) ? value : fallback
        case "int":
            if let number = value.number {
                guard let whole = Int(exactly: number.rounded(.towardZero)) else { throw JinjaFailure("int() of \(number) is out of range") }
                return .integer(whole)
            }
            return .integer(Int(value.text.trimmingWhitespace()) ?? option(0, "default")?.integer ?? 0)
        case "float":
            if let number = value.number { return .float(number) }
            return .float(Double(value.text.trimmingWhitespace()) ?? option(0, "default")?.number ?? 0)
        case "abs":
            if case .integer(let number) = value {
                guard number != .min else { throw JinjaFailure("integer overflow in abs()") }
                return .integer(abs(number))
            }
            guard let number = value.number else { throw JinjaFailure("abs() needs a number") }
            return .float(abs(number))
        case "replace":
            guard let old = option(0, "old")?.text, let new = option(1, "new")?.text else {
                throw JinjaFailure("replace needs two arguments")
            }
            return .string(try replacing(value.text, old, with: new))
        case "tojson":
            return .string(try value.json(indent: try option(0, "indent")?.integer.map { try indentWidth($0, "tojson indent") }))
        case "items":
            guard case .dictionary(let dictionary) = value else {
                if !value.isDefined { return .list([]) }
                throw JinjaFailure("items needs a dict")
            }
            return .list(dictionary.pairs.map { .tuple([.string($0.key), $0.value]) })
        case "selectattr", "rejectattr":
            guard let attribute = arguments.first?.text else { throw JinjaFailure("\(name) needs an attribute name") }
            let testName = arguments.count > 1 ? arguments[1].text : nil
            let testArguments = Array(arguments.dropFirst(2))
            return .list(try value.iterated().filter { item in
                let field = try self.attribute(attribute, of: item)
                let passed = try testName.map { try test($0, field, testArguments) } ?? field.isTrue
                return passed == (name == "selectattr")
            })
        case "map":
            if let attribute = keyword["attribute"]?.text {
                return .list(try value.iterated().map {
                    let field = try self.attribute(attribute, of: $0)
                    return field.isDefined ? field : keyword["default"] ?? .undefined
                })
            }
            guard let filterName = arguments.first?.text else { throw JinjaFailure("map needs a filter or attribute") }
            return .list(try value.iterated().map { try filter(filterName, $0, Array(arguments.dropFirst()), [:]) })
        case "indent":
            let width = try indentWidth(option(0, "width")?.integer ?? 4, "indent width")
            let indentFirst = option(1, "first")?.isTrue ?? false
            let padding = String(repeating: " ", count: width)
            let lines = value.text.split(separator: "\n", omittingEmptySubsequences: false)
            try checkSize(value.text.utf8.count + lines.count * width, "indent")
            return .string(lines.enumerated().map { position, line in
                (position == 0 && !indentFirst) || line.isEmpty ? String(line) : padding + line
            }.joined(separator: "\n"))
        default:
            throw JinjaFailure("filter `\(name)`", unsupported: true)
        }
    }

    // MARK: tests

    static func test(_ name: String, _ value: JinjaValue, _ arguments: [JinjaValue]) throws -> Bool {
        let other = arguments.first ?? .undefined
        switch name {
        case "defined": return value.isDefined
        case "undefined": return !value.isDefined
        case "none": return value.isNone
        case "true": if case .boolean(true) = value { return true } else { return false }
        case "false": if case .boolean(false) = value { return true } else { return false }
        case "boolean": if case .boolean = value { return true } else { return false }
        case "integer": if case .integer = value { return true } else { return false }
        case "float": if case .float = value { return true } else { return false }
        case "number": if case .integer = value { return true } else if case .float = value { return true } else { return false }
        case "string": if case .string = value { return true } else { return false }
        case "mapping": if case .dictionary = value { return true } else { return false }
        case "sequence", "iterable":
            switch value {
            case .list, .tuple, .string, .dictionary: return true
            default: return false
            }
        case "callable": if case .function = value { return true } else { return false }
        case "even", "odd":
            guard let number = value.integer else { throw JinjaFailure("\(name) needs an integer") }
            return (number % 2 == 0) == (name == "even")
        case "divisibleby":
            guard let number = value.integer, let divisor = other.integer, divisor != 0 else {
                throw JinjaFailure("divisibleby needs integers")
            }
            return number.remainderReportingOverflow(dividingBy: divisor).partialValue == 0
        case "eq", "equalto", "==": return JinjaValue.equal(value, other)
        case "ne", "!=": return !JinjaValue.equal(value, other)
        case "lt", "<", "le", "<=", "gt", ">", "ge", ">=":
            let symbol = ["lt": "<", "le": "<=", "gt": ">", "ge": ">="][name] ?? name
            return try binary(symbol, value, other).isTrue
        case "in": return try binary("in", value, other).isTrue
        case "lower": return value.text == value.text.lowercased()
        case "upper": return value.text == value.text.uppercased()
        default: throw JinjaFailure("test `\(name)`", unsupported: true)
        }
    }

    // MARK: operators

    static func binary(_ op: String, _ left: JinjaValue, _ right: JinjaValue) throws -> JinjaValue {
        func mismatch() -> JinjaFailure {
            JinjaFailure("unsupported operand types for \(op): '\(left.typeName)' and '\(right.typeName)'")
        }
        switch op {
        case "==": return .boolean(JinjaValue.equal(left, right))
        case "!=": return .boolean(!JinjaValue.equal(left, right))
        case "~": return .string(left.text + right.text)
        case "in":
            switch right {
            case .string(let string):
                guard case .string(let needle) = left else { throw mismatch() }
                return .boolean(needle.isEmpty || string.contains(needle))
            case .list(let items), .tuple(let items): return .boolean(items.contains { JinjaValue.equal($0, left) })
            case .dictionary(let dictionary):
                guard case .string(let key) = left else { return .boolean(false) }
                return .boolean(dictionary[key] != nil)
            case .undefined: return .boolean(false)
            default: throw mismatch()
            }
        case "<", ">", "<=", ">=":
            let order: Int
            if case .string(let a) = left, case .string(let b) = right {
                order = a == b ? 0 : (a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : 1)
            } else if let a = left.number, let b = right.number {
                order = a == b ? 0 : (a < b ? -1 : 1)
            } else {
                throw mismatch()
            }
            let result = switch op {
            case "<": order < 0
            case ">": order > 0
            case "<=": order <= 0
            default: order >= 0
            }
            return .boolean(result)
        case "+":
            switch (left, right) {
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.list(let a), .list(let b)): return .list(a + b)
            case (.tuple(let a), .tuple(let b)): return .tuple(a + b)
            default: return try arithmetic(op, left, right) ?? { throw mismatch() }()
            }
        case "*":
            switch (left, right) {
            case (.string(let string), .integer(let count)), (.integer(let count), .string(let string)):
                guard count <= maximumLength / max(string.utf8.count, 1) else { throw JinjaFailure("string repetition is too long") }
                return .string(String(repeating: string, count: max(count, 0)))
            default: return try arithmetic(op, left, right) ?? { throw mismatch() }()
            }
        default:
            return try arithmetic(op, left, right) ?? { throw mismatch() }()
        }
    }

    /// Numeric `+ - * / // % **` with Python's int/float rules; nil when an operand is not a number.
    private static func arithmetic(_ op: String, _ left: JinjaValue, _ right: JinjaValue) throws -> JinjaValue? {
        if let a = left.integer, let b = right.integer, op != "/" {
            func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
                guard !result.overflow else { throw JinjaFailure("integer overflow in \(op)") }
                return .integer(result.partialValue)
            }
            switch op {
            case "+": return try checked(a.addingReportingOverflow(b))
            case "-": return try checked(a.subtractingReportingOverflow(b))
            case "*": return try checked(a.multipliedReportingOverflow(by: b))
            case "//", "%":
                guard b != 0 else { throw JinjaFailure("integer division or modulo by zero") }
                // Python floors: the quotient rounds down and the remainder takes the divisor's sign.
                let (truncated, overflow) = a.dividedReportingOverflow(by: b)
                guard !overflow else { throw JinjaFailure("integer overflow in \(op)") }
                let remainder = a - truncated * b
                let adjust = remainder != 0 && (remainder < 0) != (b < 0)
                return .integer(op == "//" ? truncated - (adjust ? 1 : 0) : remainder + (adjust ? b : 0))
            case "**":
                guard b >= 0 else { return .float(pow(Double(a), Double(b))) }
                if a == 0 || a == 1 { return .integer(b == 0 ? 1 : a) }
                if a == -1 { return .integer(b % 2 == 0 ? 1 : -1) }
                var result = 1
                for _ in 0..<b {  // |a| >= 2 overflows within 63 steps
                    let (product, overflow) = result.multipliedReportingOverflow(by: a)
                    guard !overflow else { throw JinjaFailure("integer overflow in **") }
                    result = product
                }
                return .integer(result)
            default: return nil
            }
        }
        guard let a = left.number, let b = right.number else { return nil }
        switch op {
        case "+": return .float(a + b)
        case "-": return .float(a - b)
        case "*": return .float(a * b)
        case "/", "//", "%":
            guard b != 0 else { throw JinjaFailure("division by zero") }
            if op == "/" { return .float(a / b) }
            let quotient = (a / b).rounded(.down)
            return .float(op == "//" ? quotient : a - quotient * b)
        case "**": return .float(pow(a, b))
        default: return nil
        }
    }

    /// `base` raised to `exponent` (no libm import needed for the integral case templates use).
    private static func pow(_ base: Double, _ exponent: Double) -> Double {
        guard exponent == exponent.rounded(), abs(exponent) < 1_048_576 else { return .nan }
        var result = 1.0
        for _ in 0..<Int(abs(exponent)) { result *= base }
        return exponent < 0 ? 1 / result : result
    }
}

extension JinjaValue {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
