import FoundationEssentials

/// Informative groups kept to stand in for groups whose rewards are all equal (`replay_buffer_size`;
/// TRL's replay-buffer GRPO variant): a batch that comes up short of groups with a learning signal
/// takes stored ones, largest reward spread first, each used once. Saved with every checkpoint, so
/// a resumed run replays what an uninterrupted one would.
struct ReplayBuffer: Codable {
    /// Groups held at most; 0 turns replay off.
    let capacity: Int
    /// One group each, largest reward standard deviation first.
    private(set) var groups: [ScoredGroups] = []
    private var spreads: [Double] = []

    init(capacity: Int) { self.capacity = capacity }

    static let fileName = "replay_buffer.json"

    /// Keeps the informative groups of `batch` (at most `capacity` in all, the widest spreads).
    mutating func add(_ batch: ScoredGroups) {
        guard capacity > 0 else { return }
        for (index, spread) in batch.rewardStandardDeviations.enumerated() where spread > 0 {
            let position = spreads.firstIndex { $0 < spread } ?? spreads.count
            groups.insert(batch.selecting([index]), at: position)
            spreads.insert(spread, at: position)
        }
        if groups.count > capacity {
            groups.removeLast(groups.count - capacity)
            spreads.removeLast(spreads.count - capacity)
        }
    }

    /// `batch` with each group whose rewards are all equal replaced by a stored group while any
    /// remain; returns it and how many groups were replaced.
    mutating func fillUninformative(_ batch: ScoredGroups) -> (groups: ScoredGroups, replaced: Int) {
        guard !groups.isEmpty else { return (batch, 0) }
        var result: ScoredGroups?
        var replaced = 0
        for (index, isInformative) in batch.informative.enumerated() {
            var group = batch.selecting([index])
            if !isInformative, !groups.isEmpty {
                group = groups.removeFirst()
                spreads.removeFirst()
                replaced += 1
            }
            result = result.map { $0.appending(group) } ?? group
        }
        return (result ?? batch, replaced)
    }

    /// Up to `count` stored groups (largest spreads first), removed from the buffer.
    mutating func take(_ count: Int) -> ScoredGroups? {
        let taken = Swift.min(count, groups.count)
        guard taken > 0 else { return nil }
        let chosen = groups.prefix(taken).dropFirst().reduce(groups[0]) { $0.appending($1) }
        groups.removeFirst(taken)
        spreads.removeFirst(taken)
        return chosen
    }

    func save(to folder: URL) throws {
        guard !groups.isEmpty else { return }
        try JSONEncoder().encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }

    /// The buffer saved in `folder`, or an empty one when the checkpoint holds none.
    static func load(from folder: URL, capacity: Int) throws -> ReplayBuffer {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return ReplayBuffer(capacity: capacity) }
        var buffer = try JSONDecoder().decode(ReplayBuffer.self, from: Data(contentsOf: url))
        // The capacity of this run governs; what was kept stays in order.
        if buffer.groups.count > capacity {
            buffer.groups.removeLast(buffer.groups.count - capacity)
            buffer.spreads.removeLast(buffer.spreads.count - capacity)
        }
        return ReplayBuffer(capacity: capacity, groups: buffer.groups, spreads: buffer.spreads)
    }

    private init(capacity: Int, groups: [ScoredGroups], spreads: [Double]) {
        self.capacity = capacity
        self.groups = groups
        self.spreads = spreads
    }
}
