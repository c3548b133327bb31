import FoundationEssentials
import Testing

@testable import RLModel

/// Broken files written into a temporary folder: each must give its specific error.
@Suite("Safetensors bad input")
struct SafetensorsBadInputTests {
    /// Opens `bytes` as a safetensors file and returns the error.
    private func openError(_ bytes: [UInt8]) throws -> (CheckpointError?, String) {
        let folder = try TemporaryFolder()
        let url = try folder.write("bad.safetensors", bytes)
        return (checkpointError { _ = try SafetensorsFile(contentsOf: url) }, url.path)
    }

    private let good = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#

    @Test("a file shorter than 8 bytes", arguments: [0, 1, 7])
    func tooShort(_ size: Int) throws {
        let (error, path) = try openError(Array(repeating: 0, count: size))
        #expect(error == .fileTooSmall(file: path, size: size))
    }

    @Test("a header cut off: the length prefix points past the end")
    func headerCutOff() throws {
        let whole = safetensorsBytes(header: good, data: Array(repeating: 0, count: 8))
        let (error, path) = try openError(Array(whole.prefix(20)))
        #expect(error == .headerLengthInvalid(file: path, headerLength: UInt64(good.utf8.count), fileSize: 20, limit: 100_000_000))
    }

    @Test("a header length larger than the file or the limit")
    func headerLengthTooLarge() throws {
        var bytes = safetensorsBytes(header: good, data: Array(repeating: 0, count: 8))
        bytes.replaceSubrange(0 ..< 8, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        let (error, path) = try openError(bytes)
        #expect(error == .headerLengthInvalid(file: path, headerLength: .max, fileSize: bytes.count, limit: 100_000_000))
    }

    @Test("data cut off: a tensor ends past the data section")
    func dataCutOff() throws {
        let (error, path) = try openError(safetensorsBytes(header: good, data: [0, 0, 0, 0]))
        #expect(error == .offsetsOutOfBounds(file: path, tensor: "a", begin: 0, end: 8, dataSize: 4))
    }

    @Test("a header that is not JSON, or not an object of entries", arguments: [
        "{not json", "{\"a\": 1}", "{\"a\":{\"dtype\":\"F32\",\"shape\":\"big\",\"data_offsets\":[0,0]}}", "{\"a\":{\"dtype\":\"F32\"}}",
    ])
    func notJSON(_ header: String) throws {
        let (error, _) = try openError(safetensorsBytes(header: header))
        guard case .invalidHeader = error else {
            Issue.record("expected invalidHeader, got \(String(describing: error))")
            return
        }
    }

    @Test("a header that does not start with '{'")
    func notAnObject() throws {
        let (error, path) = try openError(safetensorsBytes(header: "[1, 2]"))
        #expect(error == .invalidHeader(file: path, reason: "does not start with '{'"))
    }

    @Test("__metadata__ that is not a string map")
    func badMetadata() throws {
        let (error, _) = try openError(safetensorsBytes(header: #"{"__metadata__":{"format":1}}"#))
        guard case .invalidMetadata = error else {
            Issue.record("expected invalidMetadata, got \(String(describing: error))")
            return
        }
    }

    @Test("an unknown dtype")
    func unknownDType() throws {
        let (error, path) = try openError(safetensorsBytes(
            header: #"{"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}}"#, data: [0, 0]))
        #expect(error == .unknownDType(file: path, tensor: "a", dtype: "Q4"))
    }

    @Test("a negative or overflowing shape")
    func badShape() throws {
        let (negative, path) = try openError(safetensorsBytes(header: #"{"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}"#))
        #expect(negative == .invalidShape(file: path, tensor: "a", shape: [-1]))
        let huge = Int.max / 2
        let (overflow, path2) = try openError(safetensorsBytes(header: "{\"a\":{\"dtype\":\"F32\",\"shape\":[\(huge),4],\"data_offsets\":[0,0]}}"))
        #expect(overflow == .invalidShape(file: path2, tensor: "a", shape: [huge, 4]))
    }

    @Test("a shape that disagrees with the byte range")
    func shapeDisagrees() throws {
        let (error, path) = try openError(safetensorsBytes(
            header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
        #expect(error == .sizeMismatch(file: path, tensor: "a", expectedBytes: 12, actualBytes: 8))
    }

    @Test("offsets reversed, negative or past the end", arguments: [[8, 0], [-4, 4], [0, 1 << 40]])
    func offsetsOutOfBounds(_ offsets: [Int]) throws {
        let (error, path) = try openError(safetensorsBytes(
            header: "{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[\(offsets[0]),\(offsets[1])]}}",
            data: Array(repeating: 0, count: 8)))
        #expect(error == .offsetsOutOfBounds(file: path, tensor: "a", begin: offsets[0], end: offsets[1], dataSize: 8))
    }

    @Test("overlapping tensors")
    func overlapping() throws {
        let (error, path) = try openError(safetensorsBytes(
            header: #"{"a":{"dtype":"U8","shape":[6],"data_offsets":[0,6]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#,
            data: Array(repeating: 0, count: 8)))
        #expect(error == .overlappingTensors(file: path, first: "a", second: "b"))
    }

    @Test("a hole between tensors, or bytes after the last one")
    func unindexed() throws {
        let (hole, path) = try openError(safetensorsBytes(
            header: #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#,
            data: Array(repeating: 0, count: 8)))
        #expect(hole == .unindexedBytes(file: path, begin: 2, end: 4))
        let (trailing, path2) = try openError(safetensorsBytes(header: good, data: Array(repeating: 0, count: 12)))
        #expect(trailing == .unindexedBytes(file: path2, begin: 8, end: 12))
    }

    @Test("a folder or a missing path instead of a file")
    func notAFile() throws {
        let folder = try TemporaryFolder()
        guard case .unreadable = checkpointError({ _ = try SafetensorsFile(contentsOf: folder.url) }) else {
            Issue.record("expected unreadable for a folder")
            return
        }
        guard case .unreadable = checkpointError({ _ = try SafetensorsFile(contentsOf: folder.file("none.safetensors")) }) else {
            Issue.record("expected unreadable for a missing file")
            return
        }
    }

    @Test("errors name the file in their description")
    func descriptionsNameFile() throws {
        let (error, path) = try openError([1, 2, 3])
        #expect(error?.description.hasPrefix(path) == true)
    }
}

@Suite("Safetensors robustness")
struct SafetensorsRobustnessTests {
    /// A small valid file: an I64 pair, an F32 triple and a BF16 scalar.
    static let valid = safetensorsBytes(
        header: #"{"__metadata__":{"format":"pt"},"i":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"f":{"dtype":"F32","shape":[3],"data_offsets":[16,28]},"b":{"dtype":"BF16","shape":[],"data_offsets":[28,30]}}"#,
        data: Array(0 ..< 30))

    /// Opening either fails with a CheckpointError or yields tensors whose bytes fit their shapes.
    private func openOrReject(_ bytes: [UInt8], in folder: borrowing TemporaryFolder) throws -> Bool {
        let url = try folder.write("case.safetensors", bytes)
        do {
            let file = try SafetensorsFile(contentsOf: url)
            for name in file.tensorNames {
                let tensor = try file.tensor(named: name)
                #expect(tensor.withUnsafeBytes { $0.count } == tensor.elementCount * tensor.dtype.byteSize)
            }
            return true
        } catch {
            return false
        }
    }

    @Test("every truncation of a valid file is rejected")
    func truncations() throws {
        let folder = try TemporaryFolder()
        #expect(try openOrReject(Self.valid, in: folder))
        for length in 0 ..< Self.valid.count {
            #expect(try !openOrReject(Array(Self.valid.prefix(length)), in: folder), "length \(length)")
        }
    }

    @Test("single-byte corruptions of the header never crash and never yield inconsistent tensors")
    func byteFlips() throws {
        let folder = try TemporaryFolder()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var rejected = 0
        let headerEnd = Self.valid.count - 30
        for _ in 0 ..< 400 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            var bytes = Self.valid
            let position = Int(state >> 33) % headerEnd
            bytes[position] = UInt8(truncatingIfNeeded: state >> 13)
            if try !openOrReject(bytes, in: folder) { rejected += 1 }
        }
        // Most random edits of the length prefix or the JSON must be caught.
        #expect(rejected > 200)
    }
}
