/// Writes JSON text with keys in the order given, as Hugging Face tools write their files.
enum JSONText {
    /// A JSON string literal (UTF-8 kept as is, control characters escaped).
    static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// An object from key-value pairs whose values are already JSON text.
    static func object(_ members: [(String, String)], indent: String = "") -> String {
        if members.isEmpty { return "{}" }
        let inner = indent + "  "
        let body = members.map { inner + quoted($0.0) + ": " + $0.1 }.joined(separator: ",\n")
        return "{\n" + body + "\n" + indent + "}"
    }

    /// An array of values that are already JSON text.
    static func array(_ elements: [String], indent: String = "") -> String {
        if elements.isEmpty { return "[]" }
        let inner = indent + "  "
        return "[\n" + elements.map { inner + $0 }.joined(separator: ",\n") + "\n" + indent + "]"
    }

    static func bool(_ value: Bool) -> String { value ? "true" : "false" }
}
