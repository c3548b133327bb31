import FoundationEssentials
import RLModel

/// Rows of a JSON Lines dataset (a file or a folder of `.jsonl` files), each a map of column
/// name to text. Numbers and booleans become their text; nulls are left out.
public struct PromptDataset: Sendable {
    /// What to do with a row that is not a JSON object or lacks a required column.
    public enum MalformedRowPolicy: String, Sendable, CaseIterable { case skip, fail }

    /// A row that was skipped, with where it came from.
    public struct Issue: Sendable, CustomStringConvertible {
        public let file: String
        public let line: Int
        public let reason: String
        public var description: String { "\(file):\(line): \(reason)" }
    }

    public let rows: [[String: String]]
    /// Rows skipped under `.skip`, for the caller to report.
    public let issues: [Issue]

    /// Rows held in memory. Throws `TrainingError.emptyDataset` when there are none, and
    /// `TrainingError.datasetRow` naming the row (1-based) that lacks a non-empty
    /// `requiredColumns` value.
    public init(rows: [[String: String]], requiredColumns: [String] = []) throws {
        guard !rows.isEmpty else { throw TrainingError.emptyDataset(file: "the rows given to PromptDataset", reason: "there are none") }
        for (index, row) in rows.enumerated() {
            if let problem = PromptDataset.missingColumn(in: row, requiredColumns: requiredColumns) {
                throw TrainingError.datasetRow(file: "the rows given to PromptDataset", line: index + 1, reason: problem.text)
            }
        }
        self.rows = rows
        issues = []
    }

    /// Reads `url` (a `.jsonl` file or a folder of them, in name order). Every row must be a JSON
    /// object with a non-empty `requiredColumns` value: by default a row that is not throws
    /// `TrainingError.datasetRow` naming its file and line; `.skip` leaves such rows out and lists
    /// them in `issues`. No usable row at all throws `TrainingError.emptyDataset`.
    public init(contentsOf url: URL, requiredColumns: [String], onMalformedRow policy: MalformedRowPolicy = .fail) throws {
        var files: [URL] = []
        var isFolder = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            throw TrainingError.datasetRow(file: url.path, line: 0, reason: "no such file or folder")
        }
        if isFolder {
            let names = try FileManager.default.contentsOfDirectory(atPath: url.path).filter { $0.hasSuffix(".jsonl") }.sorted()
            files = names.map { url.appendingPathComponent($0) }
        } else {
            files = [url]
        }
        var rows: [[String: String]] = []
        var issues: [Issue] = []
        for file in files {
            let data: Data
            do { data = try Data(contentsOf: file) } catch {
                throw TrainingError.datasetRow(file: file.path, line: 0, reason: "cannot read: \(fileErrorText(error))")
            }
            var lineNumber = 0
            for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
                switch PromptDataset.parse(Data(line), requiredColumns: requiredColumns) {
                case .success(let row): rows.append(row)
                case .failure(let reason):
                    if policy == .fail { throw TrainingError.datasetRow(file: file.path, line: lineNumber, reason: reason.text) }
                    issues.append(Issue(file: file.path, line: lineNumber, reason: reason.text))
                }
            }
        }
        if rows.isEmpty {
            let reason: String
            if files.isEmpty {
                reason = "the folder holds no .jsonl files"
            } else if let first = issues.first {
                reason = "all \(issues.count) rows were skipped, e.g. \(first)"
            } else {
                reason = files.count == 1 ? "the file has no rows" : "the \(files.count) .jsonl files have no rows"
            }
            throw TrainingError.emptyDataset(file: url.path, reason: reason)
        }
        self.rows = rows
        self.issues = issues
    }

    struct RowProblem: Error { let text: String }

    static func parse(_ line: Data, requiredColumns: [String]) -> Result<[String: String], RowProblem> {
        guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: line) else {
            return .failure(RowProblem(text: "not a JSON object"))
        }
        var row: [String: String] = [:]
        for (key, value) in object { if let text = value.text { row[key] = text } }
        if let problem = missingColumn(in: row, requiredColumns: requiredColumns) { return .failure(problem) }
        return .success(row)
    }

    /// The first of `requiredColumns` that `row` lacks or holds only whitespace in.
    static func missingColumn(in row: [String: String], requiredColumns: [String]) -> RowProblem? {
        for column in requiredColumns where !(row[column].map { $0.contains { !$0.isWhitespace } } ?? false) {
            return RowProblem(text: "missing or empty column '\(column)'")
        }
        return nil
    }
}

/// A JSON value as text; arrays and objects are kept as their JSON.
enum JSONScalar: Decodable {
    case text(String?)

    var text: String? { if case .text(let t) = self { return t } else { return nil } }

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .text(nil) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else if let i = try? c.decode(Int64.self) { self = .text(String(i)) }
        else if let d = try? c.decode(Double.self) { self = .text(String(d)) }
        else if let b = try? c.decode(Bool.self) { self = .text(b ? "true" : "false") }
        else if let a = try? c.decode([JSONScalar].self) {
            self = .text("[" + a.map { $0.text.map { "\"\($0)\"" } ?? "null" }.joined(separator: ",") + "]")
        } else { self = .text(nil) }
    }
}
