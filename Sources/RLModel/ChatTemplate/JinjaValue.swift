/// A value while a template renders, with Python's semantics for truth, equality and printing.
enum JinjaValue {
    /// A missing variable, attribute or key: prints as "", is false, iterates as empty.
    case undefined
    case none
    case boolean(Bool)
    case integer(Int)
    case float(Double)
    case string(String)
    case list([JinjaValue])
    /// A tuple: `(a, b)` literals and the pairs of `items()`; like a list except for printing and equality.
    case tuple([JinjaValue])
    case dictionary(JinjaDictionary)
    /// The mutable object of `namespace(...)`.
    case namespace(JinjaNamespace)
    /// A global function, macro or bound method: (positional, keyword) -> result.
    case function(([JinjaValue], [String: JinjaValue]) throws -> JinjaValue)

    var isTrue: Bool {
        switch self {
        case .undefined, .none: false
        case .boolean(let value): value
        case .integer(let value): value != 0
        case .float(let value): value != 0
        case .string(let value): !value.isEmpty
        case .list(let value), .tuple(let value): !value.isEmpty
        case .dictionary(let value): !value.isEmpty
        case .namespace, .function: true
        }
    }

    var isDefined: Bool {
        if case .undefined = self { return false }
        return true
    }

    /// The type name Python would show, for error messages.
    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "NoneType"
        case .boolean: "bool"
        case .integer: "int"
        case .float: "float"
        case .string: "str"
        case .list: "list"
        case .tuple: "tuple"
        case .dictionary: "dict"
        case .namespace: "Namespace"
        case .function: "function"
        }
    }

    /// Python `str()`: what `{{ value }}` prints.
    var text: String {
        switch self {
        case .undefined: ""
        case .string(let value): value
        default: representation
        }
    }

    /// Python `repr()`.
    var representation: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .boolean(let value): value ? "True" : "False"
        case .integer(let value): String(value)
        case .float(let value): Self.pythonFloat(value)
        case .string(let value): Self.pythonQuoted(value)
        case .list(let items): "[" + items.map(\.representation).joined(separator: ", ") + "]"
        case .tuple(let items): "(" + items.map(\.representation).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .dictionary(let dictionary):
            "{" + dictionary.pairs.map { Self.pythonQuoted($0.key) + ": " + $0.value.representation }.joined(separator: ", ") + "}"
        case .namespace: "<Namespace>"
        case .function: "<function>"
        }
    }

    static func pythonFloat(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == value.rounded(), abs(value) < 1e16 { return String(Int(value)) + ".0" }
        return String(value)
    }

    private static func pythonQuoted(_ value: String) -> String {
        let quote = value.contains("'") && !value.contains("\"") ? "\"" : "'"
        var result = quote
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if String(scalar) == quote { result += "\\" + quote } else { result.unicodeScalars.append(scalar) }
            }
        }
        return result + quote
    }

    /// JSON text as transformers' `tojson` filter writes it (`json.dumps`, `ensure_ascii=False`).
    func json(indent: Int?, level: Int = 0) throws -> String {
        let newline = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let closing = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let separator = indent == nil ? ", " : ","
        switch self {
        case .undefined, .none: return "null"
        case .boolean(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .float(let value): return Self.pythonFloat(value)
        case .string(let value): return JSONText.quoted(value)
        case .list(let items), .tuple(let items):
            if items.isEmpty { return "[]" }
            let body = try items.map { (newline ?? "") + (try $0.json(indent: indent, level: level + 1)) }
            return "[" + body.joined(separator: separator) + closing + "]"
        case .dictionary(let dictionary):
            if dictionary.isEmpty { return "{}" }
            let body = try dictionary.pairs.map {
                (newline ?? "") + JSONText.quoted($0.key) + ": " + (try $0.value.json(indent: indent, level: level + 1))
            }
            return "{" + body.joined(separator: separator) + closing + "}"
        case .namespace, .function:
            throw JinjaFailure("\(typeName) is not JSON serializable")
        }
    }


    /// Python `==` (numbers compare by value across int, float and bool).
    static func equal(_ left: JinjaValue, _ right: JinjaValue) -> Bool {
        switch (left, right) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.dictionary(let a), .dictionary(let b)):
            return a.count == b.count && a.pairs.allSatisfy { pair in b[pair.key].map { equal(pair.value, $0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let a = left.number, let b = right.number { return a == b }
            return false
        }
    }

    /// The value as a number, for arithmetic and comparison (bool counts as 0 or 1, as in Python).
    var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .float(let value): value
        case .boolean(let value): value ? 1 : 0
        default: nil
        }
    }

    var integer: Int? {
        switch self {
        case .integer(let value): value
        case .boolean(let value): value ? 1 : 0
        default: nil
        }
    }

    /// The items `for` iterates: list items, dictionary keys, string characters; nothing for undefined.
    func iterated() throws -> [JinjaValue] {
        switch self {
        case .undefined: return []
        case .list(let items), .tuple(let items): return items
        case .dictionary(let dictionary): return dictionary.pairs.map { .string($0.key) }
        case .string(let value): return value.map { .string(String($0)) }
        default: throw JinjaFailure("'\(typeName)' object is not iterable")
        }
    }
}

/// A dictionary that keeps insertion order, as Python's does.
struct JinjaDictionary {
    private(set) var pairs: [(key: String, value: JinjaValue)] = []
    private var positions: [String: Int] = [:]

    init(_ pairs: [(String, JinjaValue)] = []) {
        for (key, value) in pairs { self[key] = value }
    }

    var count: Int { pairs.count }
    var isEmpty: Bool { pairs.isEmpty }

    subscript(key: String) -> JinjaValue? {
        get { positions[key].map { pairs[$0].value } }
        set {
            if let position = positions[key] {
                if let newValue { pairs[position].value = newValue }
            } else if let newValue {
                positions[key] = pairs.count
                pairs.append((key, newValue))
            }
        }
    }
}

/// The object `namespace()` makes: attributes that `set ns.name = value` changes from any scope.
final class JinjaNamespace {
    var attributes: JinjaDictionary

    init(_ attributes: JinjaDictionary) {
        self.attributes = attributes
    }
}

/// A rendering error without a line number yet (the interpreter adds it).
struct JinjaFailure: Error {
    var message: String
    var isUnsupported = false

    init(_ message: String, unsupported: Bool = false) {
        self.message = message
        isUnsupported = unsupported
    }
}
