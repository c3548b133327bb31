/// The GPT-2 byte-level alphabet: every byte 0...255 is shown as one printable Unicode scalar,
/// so that byte strings can be stored as ordinary vocabulary strings.
///
/// Printable Latin-1 bytes (`!`...`~`, `¡`...`¬`, `®`...`ÿ`) stand for themselves; the other 68
/// bytes are numbered in order and shown as U+0100, U+0101, ... (so space is `Ġ`, newline `Ċ`).
enum ByteLevelAlphabet {
    /// `scalars[b]` is the scalar that shows byte `b`.
    static let scalars: [Unicode.Scalar] = {
        var result = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                result[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                result[byte] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return result
    }()

    /// The byte a scalar of the alphabet stands for, or nil for a scalar outside it.
    static func byte(for scalar: Unicode.Scalar) -> UInt8? {
        let value = scalar.value
        if value < 256 {
            let byte = UInt8(value)
            return scalars[Int(byte)] == scalar ? byte : nil
        }
        return inverse[value]
    }

    private static let inverse: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (byte, scalar) in scalars.enumerated() where scalar.value >= 256 {
            map[scalar.value] = UInt8(byte)
        }
        return map
    }()

    /// The vocabulary string for a byte sequence.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var string = ""
        for byte in bytes { string.unicodeScalars.append(scalars[Int(byte)]) }
        return string
    }

    /// The bytes a vocabulary string stands for. A string with a scalar outside the alphabet
    /// (an added token such as `<｜User｜>`) stands for its own UTF-8 bytes, as in Hugging Face's
    /// ByteLevel decoder.
    static func decode(_ token: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.unicodeScalars.count)
        for scalar in token.unicodeScalars {
            guard let byte = byte(for: scalar) else { return Array(token.utf8) }
            bytes.append(byte)
        }
        return bytes
    }
}
