/// Element types a safetensors file can hold, spelled as in the header.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case float64 = "F64"
    case float32 = "F32"
    case bfloat16 = "BF16"
    case float16 = "F16"
    case int64 = "I64"
    case int32 = "I32"
    case int16 = "I16"
    case int8 = "I8"
    case uint8 = "U8"
    case bool = "BOOL"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .bfloat16, .float16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// Position in the on-disk order: writers place higher ranks first so that every tensor
    /// starts at a multiple of its element size (the order the reference writer uses).
    var layoutRank: Int {
        switch self {
        case .bool: return 0
        case .uint8: return 1
        case .int8: return 2
        case .int16: return 3
        case .float16: return 4
        case .bfloat16: return 5
        case .int32: return 6
        case .float32: return 7
        case .float64: return 8
        case .int64: return 9
        }
    }
}
