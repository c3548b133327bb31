import FoundationEssentials
import Testing

@testable import RLModel

@Suite("Safetensors writing")
struct SafetensorsWriteTests {
    static let fixtureFiles = [
        "qwen2-tiny/model.safetensors",
        "qwen2-tiny/expected.safetensors",
        "qwen2-tiny-bf16/model.safetensors",
        "qwen2-tiny-bf16/expected.safetensors",
        "qwen2-tiny-tied-sharded/expected.safetensors",
        "qwen2-tiny-tied-sharded/model-00002-of-00008.safetensors",
        "grpo/expected.safetensors",
    ]

    @Test("rewriting a fixture reproduces the file safetensors wrote, byte for byte", arguments: fixtureFiles)
    func rewriteIsIdentical(_ path: String) throws {
        let source = fixturesDirectory.appendingPathComponent(path)
        let original = try SafetensorsFile(contentsOf: source)
        let tensors = try original.tensorNames.map { (name: $0, tensor: try original.tensor(named: $0)) }
        let folder = try TemporaryFolder()
        let target = folder.file("copy.safetensors")
        try SafetensorsWriter.write(tensors, metadata: original.metadata, to: target)

        #expect(try Data(contentsOf: target) == Data(contentsOf: source))
        let reread = try SafetensorsFile(contentsOf: target)
        #expect(reread.tensorNames == original.tensorNames)
        #expect(reread.metadata == original.metadata)
        for name in original.tensorNames {
            let before = try original.tensor(named: name), after = try reread.tensor(named: name)
            #expect(after.dtype == before.dtype && after.shape == before.shape && after.bytes == before.bytes, "\(name)")
        }
    }

    @Test("header is padded with spaces to a multiple of 8 and carries format pt")
    func headerLayout() throws {
        let folder = try TemporaryFolder()
        let target = folder.file("one.safetensors")
        try SafetensorsWriter.write([(name: "w\"x", tensor: try SafetensorsTensor(shape: [3], floats: [1, 2, 3]))], to: target)
        let bytes = try [UInt8](Data(contentsOf: target))
        let length = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect(length % 8 == 0)
        let header = String(decoding: bytes[8 ..< 8 + length], as: UTF8.self)
        #expect(header.hasPrefix(#"{"__metadata__":{"format":"pt"},"w\"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}"#))
        let json = header.prefix(while: { $0 != " " })
        #expect(json.hasSuffix("}}"))
        #expect(header.dropFirst(json.count).allSatisfy { $0 == " " })
        #expect(bytes.count == 8 + length + 12)
        let reread = try SafetensorsFile(contentsOf: target)
        #expect(try reread.tensor(named: "w\"x").floats() == [1, 2, 3])
    }

    @Test("writing over an existing file replaces it and leaves no temporary file")
    func atomicReplace() throws {
        let folder = try TemporaryFolder()
        let target = folder.file("model.safetensors")
        try SafetensorsWriter.write([(name: "a", tensor: try SafetensorsTensor(shape: [1], floats: [1]))], to: target)
        let first = try SafetensorsFile(contentsOf: target)
        try SafetensorsWriter.write([(name: "b", tensor: try SafetensorsTensor(shape: [2], floats: [2, 3]))], to: target)
        // The first mapping still sees the old bytes: the new file arrived by rename.
        #expect(try first.tensor(named: "a").floats() == [1])
        #expect(try SafetensorsFile(contentsOf: target).tensorNames == ["b"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["model.safetensors"])
    }

    @Test("a duplicate name or an unwritable folder gives an error and leaves nothing behind")
    func writeErrors() throws {
        let folder = try TemporaryFolder()
        let target = folder.file("dup.safetensors")
        let tensor = try SafetensorsTensor(shape: [1], floats: [0])
        #expect(checkpointError { try SafetensorsWriter.write([(name: "x", tensor: tensor), (name: "x", tensor: tensor)], to: target) }
            == .duplicateTensorName(file: target.path, tensor: "x"))
        let missing = folder.file("no-such-folder/m.safetensors")
        guard case .writeFailed(let file, _) = checkpointError({ try SafetensorsWriter.write([(name: "x", tensor: tensor)], to: missing) }) else {
            Issue.record("expected writeFailed")
            return
        }
        #expect(file == missing.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).isEmpty)
    }
}
