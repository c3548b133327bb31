import FoundationEssentials

/// The Swift examples of a DocC article, for tests that run an article's example as written: the
/// test holds the same lines (only the placeholder paths differ), and `linesMissing` says which
/// of the article's lines it lacks, so the two cannot drift apart.
public enum DocumentationArticle {
    /// The lines of the ```swift blocks of the article at `path` (relative to the repository root).
    public static func codeLines(_ path: String) throws -> [String] {
        let url = Fixtures.repositoryRoot.appendingPathComponent(path)
        guard let bytes = FileManager.default.contents(atPath: url.path) else { throw FixtureError(path: url.path) }
        var lines: [String] = [], inside = false
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            let fence = trimmed(line)
            if fence.hasPrefix("```") { inside = !inside && fence == "```swift"; continue }
            if inside { lines.append(String(line)) }
        }
        return lines
    }

    /// The article's code lines (trimmed, blank ones left out) that do not occur as a trimmed line
    /// of the Swift file `sourceFile`, after replacing each key of `substitutions` by its value
    /// (e.g. `"path/to/model"` by the test's fixture path variable). Empty when the test runs the
    /// article's code as written.
    public static func linesMissing(article: String, from sourceFile: String, substitutions: [String: String] = [:]) throws -> [String] {
        guard let bytes = FileManager.default.contents(atPath: sourceFile) else { throw FixtureError(path: sourceFile) }
        let source = Set(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { trimmed($0) })
        var missing: [String] = []
        for line in try codeLines(article) {
            var text = trimmed(line)
            guard !text.isEmpty else { continue }
            for (placeholder, value) in substitutions { text = text.replacing(placeholder, with: value) }
            if !source.contains(text) { missing.append(text) }
        }
        return missing
    }

    private static func trimmed<Text: StringProtocol>(_ line: Text) -> String {
        String(line.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
