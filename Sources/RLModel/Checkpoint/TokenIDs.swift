/// A token id field that configs write either as one integer or as a list
/// (`"eos_token_id": 2` or `"eos_token_id": [2, 7]`); the written form is kept.
public enum TokenIDs: Codable, Equatable, Sendable {
    case single(Int)
    case list([Int])

    /// The ids, in order.
    public var ids: [Int] {
        switch self {
        case let .single(id): return [id]
        case let .list(ids): return ids
        }
    }

    /// Token ids are i32 everywhere a model reads them: 0 through `Int32.max`.
    public static let validRange = 0...Int(Int32.max)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let id = try? container.decode(Int.self) {
            self = .single(id)
        } else if let ids = try? container.decode([Int].self) {
            self = .list(ids)
        } else {
            throw DecodingError.typeMismatch(TokenIDs.self, .init(
                codingPath: decoder.codingPath, debugDescription: "expected an integer or a list of integers"))
        }
        if let bad = ids.first(where: { !Self.validRange.contains($0) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "token id \(bad) is not between 0 and \(Int32.max)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .single(id): try container.encode(id)
        case let .list(ids): try container.encode(ids)
        }
    }
}
