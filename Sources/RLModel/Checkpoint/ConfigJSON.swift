import FoundationEssentials

/// Reading and writing the JSON config files of a model folder, with errors that name the
/// file and the key.
enum ConfigJSON {
    /// Decodes `T` from the file at `url`.
    static func load<T: Decodable>(_ type: T.Type, from url: URL) throws(CheckpointError) -> T {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: url.path, reason: fileErrorText(error)) }
        return try decode(type, from: data, file: url.path)
    }

    /// Decodes `T` from `data`; `file` names the source in errors.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(CheckpointError) -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw map(error, file: file)
        } catch {
            throw .invalidConfig(file: file, key: "", reason: "\(error)")
        }
    }

    /// `value` as pretty JSON with sorted keys and a final newline.
    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain numbers, strings and arrays cannot fail.
        var data = try! encoder.encode(value)
        data.append(UInt8(ascii: "\n"))
        return data
    }

    /// Writes `data` to `url` atomically.
    static func write(_ data: Data, to url: URL) throws(CheckpointError) {
        let file = try AtomicFileWriter(destination: url)
        try file.append(Array(data))
        try file.commit()
    }

    private static func map(_ error: DecodingError, file: String) -> CheckpointError {
        /// `rope_parameters.rope_theta`, `eos_token_id[1]` style.
        func key(_ path: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            var text = ""
            for component in path + (last.map { [$0] } ?? []) {
                if let index = component.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + component.stringValue
                }
            }
            return text
        }
        switch error {
        case let .typeMismatch(_, context):
            return .invalidConfig(file: file, key: key(context.codingPath), reason: "wrong type: \(context.debugDescription)")
        case let .valueNotFound(_, context):
            return .invalidConfig(file: file, key: key(context.codingPath), reason: "is null but a value is required")
        case let .keyNotFound(missing, context):
            return .invalidConfig(file: file, key: key(context.codingPath, missing), reason: "required key is missing")
        case let .dataCorrupted(context):
            let reason = context.codingPath.isEmpty ? "not valid JSON: \(context.debugDescription)" : context.debugDescription
            return .invalidConfig(file: file, key: key(context.codingPath), reason: reason)
        @unknown default:
            return .invalidConfig(file: file, key: "", reason: "\(error)")
        }
    }
}
