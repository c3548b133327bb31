import Foundation
import RLTestSupport

/// Reads the JSON Lines fixtures and data files the RLMath suites use (`Tests/Fixtures`, `Data/`).
enum TestData {
    /// The rows of a JSON Lines file; an unreadable file or a row that does not decode is an error.
    static func rows<Row: Decodable>(_ relativePath: String, inData: Bool = false, as type: Row.Type) throws -> [Row] {
        let decoder = JSONDecoder()
        return try Fixtures.lines(relativePath, inData: inData).map { try decoder.decode(Row.self, from: Data($0.utf8)) }
    }
}

/// One labelled case of `Tests/Fixtures/checker/dev_cases.jsonl`.
struct DevCase: Decodable, Sendable, CustomTestStringConvertible {
    var id: String
    var gold: String
    var answer: String
    var expected: Bool
    var form: String
    var mathverify_openrs: Bool

    var testDescription: String { "\(id) (\(form))" }
}

/// One benchmark problem of `Data/eval/*.jsonl` (only the fields the tests use).
struct EvalRow: Decodable, Sendable {
    var id: String
    var answer: String
    var solution: String?
    var alt_answers: [String]?
}

import Testing
