import CRLBenchmarkData
import FoundationEssentials

/// One benchmark problem: its question and the gold answers it is scored against.
public struct EvaluationProblem: Sendable, Hashable {
    /// Unique within the task (the file's id column, else `<task>-<line>`).
    public var id: String
    public var problem: String
    /// The gold answer first, then alternative spellings (Minerva's `alt_answers`). A completion
    /// is correct when it matches any of them.
    public var golds: [String]

    public init(id: String, problem: String, golds: [String]) {
        self.id = id
        self.problem = problem
        self.golds = golds
    }
}

/// A benchmark: a JSON Lines file and the columns holding the question and the gold answer.
public struct EvaluationTask: Sendable, Hashable {
    /// Short name, used for the output file `<name>.jsonl`.
    public var name: String
    /// The column name used in the paper's table (e.g. `AIME24`).
    public var displayName: String
    /// The `.jsonl` file name inside the data folder (or among the built-in benchmark files), or an
    /// absolute path.
    public var file: String
    public var idColumn: String
    public var problemColumn: String
    public var answerColumn: String
    /// A column with a list (or one string) of further accepted gold answers.
    public var alternativeAnswersColumn: String?

    public init(name: String, displayName: String? = nil, file: String, idColumn: String = "id",
                problemColumn: String = "problem", answerColumn: String = "answer",
                alternativeAnswersColumn: String? = nil) {
        self.name = name
        self.displayName = displayName ?? name
        self.file = file
        self.idColumn = idColumn
        self.problemColumn = problemColumn
        self.answerColumn = answerColumn
        self.alternativeAnswersColumn = alternativeAnswersColumn
    }

    /// The five benchmarks of the Open-RS paper, in the column order of its Table 2. Their files ship
    /// with the package (`Data/eval`, sources and licenses in `Data/DATA.md`) and are compiled into
    /// every binary that links RLReasoning, so they need no data folder. Every task is scored against its bare `answer` column: for MATH-500 and
    /// Minerva that is the last `\boxed{}` of the `solution` the reference harness extracts, so both
    /// give the same gold; Minerva also accepts its re-annotated `alt_answers`.
    public static let openRS: [EvaluationTask] = [
        EvaluationTask(name: "aime24", displayName: "AIME24", file: "aime24.jsonl"),
        EvaluationTask(name: "math500", displayName: "MATH-500", file: "math500.jsonl"),
        EvaluationTask(name: "amc23", displayName: "AMC23", file: "amc23.jsonl"),
        EvaluationTask(name: "minerva", displayName: "Minerva", file: "minerva_math.jsonl", alternativeAnswersColumn: "alt_answers"),
        EvaluationTask(name: "olympiadbench", displayName: "OlympiadBench", file: "olympiadbench.jsonl"),
    ]

    /// A built-in task by name (`aime24`, `amc23`, `math500`, `minerva`, `olympiadbench`; `math_500`
    /// and `minerva_math` are accepted too).
    public static func named(_ name: String) -> EvaluationTask? {
        let aliases = ["math_500": "math500", "minerva_math": "minerva", "olympiad_bench": "olympiadbench"]
        let key = aliases[name.lowercased()] ?? name.lowercased()
        return openRS.first { $0.name == key }
    }

    /// Where `loadProblems(dataDirectory:)` reads from: a path, or `built-in <file>`.
    public func source(dataDirectory: URL?) -> String {
        if file.hasPrefix("/") { return file }
        if let dataDirectory { return dataDirectory.appendingPathComponent(file).path }
        return "built-in \(file)"
    }

    /// The bytes of a benchmark file compiled into the package (`aime24.jsonl`, `amc23.jsonl`,
    /// `math500.jsonl`, `minerva_math.jsonl`, `olympiadbench.jsonl`: the files of `Data/eval`), or
    /// nil for any other name.
    public static func builtinFile(named name: String) -> [UInt8]? {
        var count = 0
        guard let bytes = rl_benchmark_file(name, &count) else { return nil }
        return Array(UnsafeBufferPointer(start: bytes, count: count))
    }

    /// Reads the problems, in file order, from `dataDirectory` when given (or from `file` when it
    /// is an absolute path), else from the built-in copy of the benchmark files. Rows lacking the
    /// problem or answer column are errors.
    public func loadProblems(dataDirectory: URL? = nil) throws -> [EvaluationProblem] {
        let path = source(dataDirectory: dataDirectory)
        let data: [UInt8]
        if file.hasPrefix("/") || dataDirectory != nil {
            guard let contents = FileManager.default.contents(atPath: path) else { throw EvaluationError.missingFile(path) }
            data = Array(contents)
        } else {
            guard let builtin = Self.builtinFile(named: file) else { throw EvaluationError.missingFile(path) }
            data = builtin
        }
        var problems: [EvaluationProblem] = []
        var seen: Set<String> = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.allSatisfy(\.isWhitespace) { continue }
            let trimmed = line
            let lineNumber = index + 1
            guard case .object(let row)? = try? JSONDecoder().decode(JSONAny.self, from: Data(trimmed.utf8)) else {
                throw EvaluationError.badRow(file: path, line: lineNumber, reason: "not a JSON object")
            }
            guard let problem = row[problemColumn]?.text, !problem.isEmpty else {
                throw EvaluationError.badRow(file: path, line: lineNumber, reason: "no \"\(problemColumn)\" column")
            }
            guard let answer = row[answerColumn]?.text, !answer.isEmpty else {
                throw EvaluationError.badRow(file: path, line: lineNumber, reason: "no \"\(answerColumn)\" column")
            }
            var golds = [answer]
            if let column = alternativeAnswersColumn, let alternatives = row[column] {
                for text in alternatives.texts where !golds.contains(text) && !text.isEmpty { golds.append(text) }
            }
            let id = row[idColumn]?.text ?? "\(name)-\(lineNumber)"
            guard seen.insert(id).inserted else {
                throw EvaluationError.badRow(file: path, line: lineNumber, reason: "duplicate id \"\(id)\"")
            }
            problems.append(EvaluationProblem(id: id, problem: problem, golds: golds))
        }
        // An empty file used to give a summary of nothing with exit 0 (found by the hardening probe).
        guard !problems.isEmpty else { throw EvaluationError.badRow(file: path, line: 1, reason: "the task file holds no problems") }
        return problems
    }
}

/// Errors of the evaluation harness.
public enum EvaluationError: Error, CustomStringConvertible, Sendable {
    case missingFile(String)
    case badRow(file: String, line: Int, reason: String)
    case unknownTask(String)
    case invalidOption(String)
    case backendUnavailable(String)
    case output(String)

    public var description: String {
        switch self {
        case .missingFile(let path): return "\(path): no such file"
        case .badRow(let file, let line, let reason): return "\(file):\(line): \(reason)"
        case .unknownTask(let name):
            return "unknown task \"\(name)\" (known: \(EvaluationTask.openRS.map(\.name).joined(separator: ", ")))"
        case .invalidOption(let message): return message
        case .backendUnavailable(let message): return message
        case .output(let message): return message
        }
    }
}

/// Any JSON value (for reading rows whose columns have mixed types).
enum JSONAny: Decodable, Sendable {
    case string(String), number(Double), bool(Bool), null
    case array([JSONAny]), object([String: JSONAny])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode([JSONAny].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONAny].self)) }
    }

    /// Strings as they are; numbers without a trailing `.0`; nil for null, arrays and objects.
    var text: String? {
        switch self {
        case .string(let value): return value
        case .number(let value):
            return value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): return String(value)
        default: return nil
        }
    }

    /// The texts of an array's elements, or of a single value.
    var texts: [String] {
        if case .array(let values) = self { return values.compactMap(\.text) }
        return text.map { [$0] } ?? []
    }
}
