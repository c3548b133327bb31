import FoundationEssentials
import Testing
import RLTestSupport

@testable import RLModel

let deepSeekConfigs = Fixtures.url("model-configs/deepseek-r1-distill-qwen-1.5b")

/// Any JSON value, to compare files key by key without trusting the types under test.
enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let value = try? c.decode(Bool.self) { self = .bool(value) }
        else if let value = try? c.decode(Double.self) { self = .number(value) }
        else if let value = try? c.decode(String.self) { self = .string(value) }
        else if let value = try? c.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    static func parse(_ data: Data) throws -> [String: JSONValue] {
        try JSONDecoder().decode([String: JSONValue].self, from: data)
    }
}

/// `text` with `key`'s value replaced by `value` (JSON), or added when absent. Works on the
/// parsed object so the edit cannot break the rest of the file.
func editedJSON(_ data: Data, _ edits: [String: String?]) throws -> Data {
    var object = try JSONValue.parse(data)
    for (key, value) in edits {
        if let value {
            object[key] = try JSONDecoder().decode(JSONValue.self, from: Data(value.utf8))
        } else {
            object[key] = nil
        }
    }
    return Data(render(.object(object)).utf8)
}

private func render(_ value: JSONValue) -> String {
    switch value {
    case .null: return "null"
    case let .bool(b): return b ? "true" : "false"
    case let .number(n): return n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : "\(n)"
    case let .string(s): return jsonString(s)
    case let .array(items): return "[" + items.map(render).joined(separator: ",") + "]"
    case let .object(fields): return "{" + fields.keys.sorted().map { jsonString($0) + ":" + render(fields[$0]!) }.joined(separator: ",") + "}"
    }
}
