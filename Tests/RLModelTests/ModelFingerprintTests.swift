import FoundationEssentials
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import RLModel

/// SHA-256 against the FIPS 180-4 examples, and the content fingerprint of model folders.
@Suite("Model fingerprint")
struct ModelFingerprintTests {
    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // Fed in uneven pieces, a million 'a's.
        var hasher = SHA256()
        var fed = 0
        var piece = 1
        while fed < 1_000_000 {
            let count = min(piece, 1_000_000 - fed)
            hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: count))
            fed += count
            piece = piece * 3 % 997 + 1
        }
        #expect(hasher.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sameContentSameFingerprintWhateverTheFolderName() throws {
        let folder = try TemporaryFolder()
        let a = folder.file("checkpoint"), b = folder.file("renamed")
        let model = try DecoderModel.load(from: fixturesDirectory.appendingPathComponent("qwen2-tiny"))
        try model.save(to: a)
        try model.save(to: b)
        // Files that do not define the model do not count.
        try Data([1, 2, 3]).write(to: b.appendingPathComponent("optimizer.safetensors"))
        try Data("notes".utf8).write(to: b.appendingPathComponent("README.md"))
        #expect(try ModelFingerprint.of(folder: a) == ModelFingerprint.of(folder: b))
    }

    @Test func oneChangedWeightChangesTheFingerprint() throws {
        let folder = try TemporaryFolder()
        let a = folder.file("a"), b = folder.file("b")
        let model = try DecoderModel.load(from: fixturesDirectory.appendingPathComponent("qwen2-tiny"))
        try model.save(to: a)
        try model.save(to: b)
        // Same names, shapes and size: only one byte of the last tensor differs.
        let weights = b.appendingPathComponent("model.safetensors")
        var bytes = try Data(contentsOf: weights)
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: weights)
        #expect(try ModelFingerprint.of(folder: a) != ModelFingerprint.of(folder: b))
        // The tokenizer and the config count too.
        try model.save(to: b)
        try Data("{}".utf8).write(to: b.appendingPathComponent("tokenizer_config.json"))
        #expect(try ModelFingerprint.of(folder: a) != ModelFingerprint.of(folder: b))
    }

    @Test func piecesAreHashedInOrder() throws {
        // The pieces of a file hash (in parallel) to the digests of its slices, in order.
        let folder = try TemporaryFolder()
        let piece = 4096, count = 5 * piece + 1000
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let url = try folder.write("big.bin", bytes)
        let digests = ModelFingerprint.pieceDigests(try MappedFile(path: url.path), pieceSize: piece)
        let expected = stride(from: 0, to: count, by: piece).map { start in
            var hasher = SHA256()
            hasher.update(bytes[start..<min(start + piece, count)])
            return hasher.finalize()
        }
        #expect(digests == expected)
    }

    @Test func aFolderWithoutModelFilesOrAFIFOIsRefused() throws {
        let folder = try TemporaryFolder()
        #expect(throws: CheckpointError.noCheckpoint(folder: folder.url.path)) { try ModelFingerprint.of(folder: folder.url) }
        // A FIFO named model.safetensors is refused at once instead of blocking in open().
        let fifo = folder.file("model.safetensors")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        #expect(throws: CheckpointError.unreadable(file: fifo.path, reason: "not a regular file")) {
            try ModelFingerprint.of(folder: folder.url)
        }
        #expect(throws: CheckpointError.unreadable(file: fifo.path, reason: "not a regular file")) {
            _ = try CheckpointReader(at: folder.url)
        }
    }
}
