import Yams

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

/// Reads a recipe file with Yams (libyaml): the document must be a mapping of keys to values.
/// Plain scalars are typed as the YAML 1.2 core schema types them (`RecipeValue.plain`: `yes`
/// stays text), quoted and block scalars are text. Malformed YAML is an error naming the line;
/// anchors, aliases and flow collections nested deeper than `maximumDepth` are refused.
enum RecipeYAML {
    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "line \(line): \(reason)" }
    }

    /// The deepest nesting of lists and mappings a recipe may have.
    static let maximumDepth = 32

    /// The most values (scalars, lists, mappings) a recipe may hold. Yams resolves an alias to
    /// the anchored node itself, so a few lines of nested aliases can stand for billions of
    /// values; counting them stops such a file before it exhausts memory.
    static let maximumValues = 100_000

    static func parse(_ source: String) throws -> [(String, RecipeValue)] {
        let text = source.first == "\u{FEFF}" ? String(source.dropFirst()) : source
        try checkFlowDepth(text)
        let document: Node?
        do {
            document = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ParseError(line: line(of: error), reason: reason(of: error))
        }
        guard let document else { return [] }
        guard case .mapping(let mapping) = document else {
            throw ParseError(line: document.mark?.line ?? 1, reason: "a recipe is a mapping of keys to values")
        }
        var budget = maximumValues
        return try mapping.map { key, value in
            guard case .scalar(let name) = key else {
                throw ParseError(line: key.mark?.line ?? 1, reason: "a key must be plain text")
            }
            return (name.string, try convert(value, depth: 1, budget: &budget))
        }
    }

    /// A value given on the command line (`--key value`), read as the same YAML scalar would be.
    static func scalar(_ text: String, line: Int) throws -> RecipeValue {
        guard let value = try parse("value: \(text)\n").first?.1 else { return .null }
        return value
    }

    private static func convert(_ node: Node, depth: Int, budget: inout Int) throws -> RecipeValue {
        let line = node.mark?.line ?? 1
        guard depth <= maximumDepth else { throw ParseError(line: line, reason: "nested more than \(maximumDepth) levels deep") }
        budget -= 1
        guard budget >= 0 else {
            throw ParseError(line: line, reason: "more than \(maximumValues) values (aliases of aliases?); a recipe is a short list of settings")
        }
        switch node {
        case .scalar(let scalar):
            return scalar.style == .plain || scalar.style == .any ? RecipeValue.plain(scalar.string) : .string(scalar.string)
        case .sequence(let sequence):
            return .list(try sequence.map { try convert($0, depth: depth + 1, budget: &budget) })
        case .mapping(let mapping):
            return .mapping(try mapping.map { key, value in
                guard case .scalar(let name) = key else { throw ParseError(line: key.mark?.line ?? line, reason: "a key must be plain text") }
                return (name.string, try convert(value, depth: depth + 1, budget: &budget))
            })
        case .alias:
            throw ParseError(line: line, reason: "aliases (*name) are not supported in recipes")
        }
    }

    /// Refuses flow collections (`[...]`, `{...}`) nested deeper than `maximumDepth` before the
    /// parser sees them, so a hostile file cannot exhaust the stack.
    private static func checkFlowDepth(_ text: String) throws {
        var depth = 0, line = 1
        var quote: Character? = nil
        for character in text {
            switch character {
            // A quote never spans lines here: an apostrophe in plain text ("Don't") must not hide
            // the brackets of later lines from the count.
            case "\n", "\r\n": line += 1; quote = nil
            case "'", "\"": if quote == nil { quote = character } else if quote == character { quote = nil }
            case "[", "{": if quote == nil { depth += 1 }
            case "]", "}": if quote == nil { depth = max(0, depth - 1) }
            default: break
            }
            if depth > maximumDepth { throw ParseError(line: line, reason: "nested more than \(maximumDepth) levels deep") }
        }
    }

    private static func line(of error: YamlError) -> Int {
        switch error {
        // libyaml notices a problem where it stopped (often the next line); the construct it was
        // reading starts at the context mark, which is the line to fix.
        case .scanner(let context, _, let mark, _), .parser(let context, _, let mark, _), .composer(let context, _, let mark, _):
            return context?.mark.line ?? mark.line
        case .reader(_, let offset, _, let yaml):
            return offset.map { yaml.utf8.prefix($0).filter { $0 == UInt8(ascii: "\n") }.count + 1 } ?? 1
        case .duplicatedKeysInMapping(_, let context): return context.mark.line
        default: return 1
        }
    }

    private static func reason(of error: YamlError) -> String {
        switch error {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _), .composer(let context, let problem, _, _):
            // libyaml's own limit (1000 levels), for nesting the bracket scan cannot see.
            if problem.hasPrefix("Maximum nesting level reached") { return "nested too deeply (more than 1000 levels)" }
            return context.map { "\(problem) (\($0.text))" } ?? problem
        case .duplicatedKeysInMapping(let duplicates, _): return "duplicate keys: \(duplicates.joined(separator: ", "))"
        default: return "\(error)"
        }
    }
}
