import FoundationEssentials

/// One tensor's dtype, shape and little-endian bytes: either a view into a mapped safetensors
/// file (no copy until asked) or bytes owned in memory.
public struct SafetensorsTensor: Sendable {
    public let dtype: SafetensorsDType
    public let shape: [Int]
    private let storage: Storage

    private enum Storage: Sendable {
        case mapped(MappedFile, Range<Int>)
        case owned(Data)
    }

    /// A tensor owning `bytes`, which must hold exactly `shape` elements of `dtype`, little-endian;
    /// otherwise throws `LanguageModelError.invalidArgument`.
    public init(dtype: SafetensorsDType, shape: [Int], bytes: Data) throws {
        guard let count = checkedElementCount(shape) else { throw LanguageModelError.invalidArgument("shape", "\(shape) is not a valid shape") }
        guard count * dtype.byteSize == bytes.count else {
            throw LanguageModelError.invalidArgument("bytes", "\(bytes.count) bytes for shape \(shape) of \(dtype.rawValue) "
                + "(\(count * dtype.byteSize) expected)")
        }
        self.dtype = dtype
        self.shape = shape
        storage = .owned(bytes)
    }

    /// An F32 tensor holding `values` in row-major order (as many as `shape` has elements, else
    /// throws `LanguageModelError.invalidArgument`).
    public init(shape: [Int], floats values: [Float]) throws {
        let bytes = values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        try self.init(dtype: .float32, shape: shape, bytes: bytes)
    }

    /// A view of `range` (absolute offsets) inside a mapped file; the header has been validated.
    init(mapped file: MappedFile, range: Range<Int>, dtype: SafetensorsDType, shape: [Int]) {
        self.dtype = dtype
        self.shape = shape
        storage = .mapped(file, range)
    }

    /// Number of elements (1 for a scalar of shape `[]`).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Size of the data in bytes.
    public var byteCount: Int { elementCount * dtype.byteSize }

    /// Calls `body` with the tensor's bytes, without copying them. The pointer is valid only
    /// inside `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        switch storage {
        case let .mapped(file, range):
            defer { withExtendedLifetime(file) {} }
            return try body(UnsafeRawBufferPointer(rebasing: file.bytes[range]))
        case let .owned(data):
            return try data.withUnsafeBytes { raw in Result { () throws(E) in try body(raw) } }.get()
        }
    }

    /// A copy of the tensor's bytes.
    public var bytes: Data {
        switch storage {
        case let .mapped(file, range): return Data(UnsafeRawBufferPointer(rebasing: file.bytes[range]))
        case let .owned(data): return data
        }
    }
}

extension SafetensorsTensor {
    /// The values as `Float`, decoded from F32, BF16 (exact) or F16 (exact).
    /// `name` only labels the error when the dtype is not one of those.
    public func floats(name: String = "") throws(CheckpointError) -> [Float] {
        switch dtype {
        case .float32: return decode { Float(bitPattern: $0.loadUnaligned(fromByteOffset: $1 * 4, as: UInt32.self).littleEndian) }
        case .bfloat16: return decode { Float(bitPattern: UInt32($0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self).littleEndian) << 16) }
        case .float16: return decode { floatFromHalfBits($0.loadUnaligned(fromByteOffset: $1 * 2, as: UInt16.self).littleEndian) }
        default: throw .unsupportedConversion(tensor: name, dtype: dtype, target: "Float")
        }
    }

    /// The values as `Int64`, widened from any integer dtype (BOOL gives 0 or 1).
    public func int64s(name: String = "") throws(CheckpointError) -> [Int64] {
        switch dtype {
        case .int64: return decode { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 8, as: Int64.self)) }
        case .int32: return decode { Int64(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 4, as: Int32.self))) }
        case .int16: return decode { Int64(Int16(littleEndian: $0.loadUnaligned(fromByteOffset: $1 * 2, as: Int16.self))) }
        case .int8: return decode { Int64($0.load(fromByteOffset: $1, as: Int8.self)) }
        case .uint8: return decode { Int64($0[$1]) }
        case .bool: return decode { $0[$1] == 0 ? 0 : 1 }
        default: throw .unsupportedConversion(tensor: name, dtype: dtype, target: "Int64")
        }
    }

    /// The values as `Int32`, from any integer dtype; I64 values must fit in 32 bits.
    public func int32s(name: String = "") throws(CheckpointError) -> [Int32] {
        let wide = try int64s(name: name)
        var result = [Int32]()
        result.reserveCapacity(wide.count)
        for value in wide {
            guard let narrow = Int32(exactly: value) else {
                throw .valueOutOfRange(tensor: name, value: value, target: "Int32")
            }
            result.append(narrow)
        }
        return result
    }

    private func decode<T>(_ element: (UnsafeRawBufferPointer, Int) -> T) -> [T] {
        withUnsafeBytes { raw in
            (0 ..< elementCount).map { element(raw, $0) }
        }
    }
}

/// Converts IEEE 754 binary16 bits to `Float` (exact for every value, NaN payloads kept).
func floatFromHalfBits(_ half: UInt16) -> Float {
    let sign = UInt32(half & 0x8000) << 16
    let exponent = UInt32(half >> 10) & 0x1F
    let mantissa = UInt32(half & 0x3FF)
    switch exponent {
    case 0:
        // Zero or subnormal: mantissa × 2^-24.
        let magnitude = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    case 0x1F:
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
