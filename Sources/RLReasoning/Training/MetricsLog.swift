import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The run's `metrics.jsonl`: one JSON object per optimizer step, appended and flushed as each
/// step finishes.
public struct MetricsLog: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// Every step recorded so far (a torn last line is skipped).
    public func read() -> [StepMetrics] {
        guard let data = try? Data(contentsOf: url) else { return [] }
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = Self.nonFinite.decoding
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(StepMetrics.self, from: Data($0)) }
    }

    /// Non-finite numbers (a skipped step's loss) are written as the strings "nan", "inf" and
    /// "-inf", so the record of the step is never dropped.
    static let nonFinite = (encoding: JSONEncoder.NonConformingFloatEncodingStrategy.convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan"),
                            decoding: JSONDecoder.NonConformingFloatDecodingStrategy.convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan"))

    /// Keeps only steps up to `step` (after resuming from a checkpoint at `step`).
    func truncate(after step: Int) throws {
        try rewrite(read().filter { $0.step <= step })
    }

    func append(_ metrics: StepMetrics) throws {
        try appendLine(try Self.encoder.encode(metrics), to: url)
    }

    private func rewrite(_ entries: [StepMetrics]) throws {
        var data = Data()
        for entry in entries { data.append(try Self.encoder.encode(entry)); data.append(UInt8(ascii: "\n")) }
        try data.write(to: url, options: .atomic)
    }

    /// The encoder of every JSON Lines file a run writes (sorted keys, one line per object).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = nonFinite.encoding
        return encoder
    }()
}

/// Appends `line` and a newline to the JSON Lines file at `url` (created if needed) and flushes
/// it to disk, without rereading the file.
func appendLine(_ line: Data, to url: URL) throws {
    var bytes = line
    bytes.append(UInt8(ascii: "\n"))
    let descriptor = open(url.path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard descriptor >= 0 else { throw TrainingError.checkpoint(path: url.path, reason: "cannot open for appending") }
    defer { close(descriptor) }
    let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    guard written == bytes.count, fsync(descriptor) == 0 else {
        throw TrainingError.checkpoint(path: url.path, reason: "could not append a line")
    }
}
