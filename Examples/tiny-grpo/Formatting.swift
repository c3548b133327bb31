#if canImport(Glibc)
import Glibc
#endif

func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

extension String {
    init(format: String, _ value: Double) {
        var buffer = [CChar](repeating: 0, count: 64)
        _ = withVaList([value]) { vsnprintf(&buffer, 64, format, $0) }
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    init(format2 value: Float) { self.init(format: "%.4f", Double(value)) }
}
