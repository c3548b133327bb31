import Foundation

/// Locates `shared/` (beside the repository, or `RL_SHARED_DIR`) and reads its JSON Lines files.
enum SharedData {
    static var directory: URL {
        if let override = ProcessInfo.processInfo.environment["RL_SHARED_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        // Tests/RLMathTests/SharedData.swift → up three levels is the repository root.
        let repositoryRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    static func rows<Row: Decodable>(_ relativePath: String, as type: Row.Type) -> [Row] {
        let url = directory.appendingPathComponent(relativePath)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? decoder.decode(Row.self, from: Data($0.utf8)) }
    }
}

/// One labelled case of `data/checker/dev_cases.jsonl`.
struct DevCase: Decodable, Sendable, CustomTestStringConvertible {
    var id: String
    var gold: String
    var answer: String
    var expected: Bool
    var form: String
    var mathverify_openrs: Bool

    var testDescription: String { "\(id) (\(form))" }
}

/// One benchmark problem of `data/eval/*.jsonl` (only the fields the tests use).
struct EvalRow: Decodable, Sendable {
    var id: String
    var answer: String
    var solution: String?
    var alt_answers: [String]?
}

import Testing
