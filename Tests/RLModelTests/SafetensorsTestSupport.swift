import FoundationEssentials
import Testing
import RLTestSupport

@testable import RLModel

/// `Tests/Fixtures` (the transformers-written checkpoints and their expected outputs).
let fixturesDirectory = Fixtures.directory

/// A fresh empty folder under the system temporary directory, removed by `cleanup`.
struct TemporaryFolder: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("rlmodel-tests-\(UInt64.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Writes `bytes` to `name` and returns its URL.
    func write(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let target = file(name)
        try Data(bytes).write(to: target)
        return target
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A safetensors file built by hand: 8-byte little-endian length, `header`, then `data`.
func safetensorsBytes(header: String, data: [UInt8] = []) -> [UInt8] {
    let json = Array(header.utf8)
    let length = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) }
    return length + json + data
}

/// Runs `body` and returns the `CheckpointError` it throws, or nil (recording an issue for
/// any other error).
func checkpointError(_ body: () throws -> Void) -> CheckpointError? {
    do {
        try body()
        return nil
    } catch let error as CheckpointError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}
