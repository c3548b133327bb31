/// Another rank failed at a step every rank takes together; this rank stops too.
public struct RankFailure: Error, CustomStringConvertible, Sendable {
    /// The first rank that failed.
    public let rank: Int
    public let operation: String
    /// That rank's error, as text.
    public let reason: String

    public var description: String { "rank \(rank) failed while \(operation): \(reason)" }
}

extension Collective {
    /// Runs `body` on every rank; when it throws on any rank, it throws on every rank (the
    /// failing ranks their own error, the others a `RankFailure` quoting the first failing
    /// rank's), so that the ranks never part ways and wait on each other forever.
    public func together<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        let outcome: Result<T, any Error>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        guard worldSize > 1 else { return try outcome.get() }
        var failure: [UInt8] = []
        if case .failure(let error) = outcome { failure = Array("\(error)".utf8) }
        let failures = try allGather(bytes: failure, label: operation)
        if let rank = failures.firstIndex(where: { !$0.isEmpty }) {
            if case .failure(let error) = outcome { throw error }
            throw RankFailure(rank: rank, operation: operation, reason: String(decoding: failures[rank], as: UTF8.self))
        }
        return try outcome.get()
    }
}
