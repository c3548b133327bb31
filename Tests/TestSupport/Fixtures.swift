import FoundationEssentials

/// Where the test suites find their material: the fixtures in `Tests/Fixtures` (checkpoints and
/// expected outputs written by transformers, the GRPO fixture, tokenizer cases, checker cases;
/// see `Tests/Fixtures/README.md`) and the package's shipped data in `Data/`. Both are located
/// from this file's path inside the clone, so the tests need nothing outside the repository.
public enum Fixtures {
    /// The repository root (this file is `Tests/TestSupport/Fixtures.swift`).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Tests/Fixtures`.
    public static let directory = repositoryRoot.appendingPathComponent("Tests/Fixtures")

    /// `Data/`: the benchmarks and the training prompt set that ship with the package.
    public static let dataDirectory = repositoryRoot.appendingPathComponent("Data")

    /// A path inside `Tests/Fixtures`, e.g. `url("qwen2-tiny")`.
    public static func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }

    /// The non-empty lines of a UTF-8 text file inside `Tests/Fixtures` (or `Data/` with
    /// `inData: true`). Throws when the file cannot be read, so a missing fixture fails loudly.
    public static func lines(_ relativePath: String, inData: Bool = false) throws -> [Substring] {
        let url = (inData ? dataDirectory : directory).appendingPathComponent(relativePath)
        guard let bytes = FileManager.default.contents(atPath: url.path) else {
            throw FixtureError(path: url.path)
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
    }
}

/// A fixture file that could not be read.
public struct FixtureError: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "cannot read fixture \(path)" }
}
