/// The JSON of `check-answer --jsonl`, read and written directly on UTF-8 bytes.
///
/// `JSONDecoder`/`JSONEncoder` spent half of the command's time on a line (profiled: 31 % decode,
/// 16 % encode, 36 % checking); this reads only what a case needs — the string fields `gold` and
/// `answer` of one object, every other value skipped after a syntax check — and writes strings
/// with RFC 8259 escapes. Strict where it matters: one object per line, valid UTF-8, valid
/// escapes, nothing after the object but whitespace.
enum JSONLineCodec {
    /// One input line's case.
    struct Case {
        var gold: String
        var answer: String
    }

    /// Why a line is not a case; the message goes into the line's `{"error": …}`.
    struct Malformed: Error {
        var message: String
    }

    /// Nesting allowed inside skipped values (deeper input is refused, never recursed into).
    static let maximumDepth = 512

    /// Reads a case from one line (without its newline).
    static func decodeCase(_ line: UnsafeBufferPointer<UInt8>) throws(Malformed) -> Case {
        var reader = Reader(bytes: line)
        var gold: String?
        var answer: String?
        reader.skipWhitespace()
        try reader.expect(UInt8(ascii: "{"), "a JSON object")
        reader.skipWhitespace()
        if !reader.consume(UInt8(ascii: "}")) {
            while true {
                reader.skipWhitespace()
                let key = try reader.readString()
                reader.skipWhitespace()
                try reader.expect(UInt8(ascii: ":"), "':' after a key")
                reader.skipWhitespace()
                switch key {
                case "gold": gold = try reader.readStringField(key)
                case "answer": answer = try reader.readStringField(key)
                default: try reader.skipValue()
                }
                reader.skipWhitespace()
                if reader.consume(UInt8(ascii: "}")) { break }
                try reader.expect(UInt8(ascii: ","), "',' or '}' in the object")
            }
        }
        reader.skipWhitespace()
        guard reader.atEnd else { throw Malformed(message: "text after the JSON object") }
        guard let gold else { throw Malformed(message: "missing string field gold") }
        guard let answer else { throw Malformed(message: "missing string field answer") }
        return Case(gold: gold, answer: answer)
    }

    /// Appends `value` as a JSON string literal (`null` for nil); `/` and non-ASCII stay as they are.
    static func appendString(_ value: String?, to output: inout [UInt8]) {
        guard let value else {
            output.append(contentsOf: "null".utf8)
            return
        }
        output.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                output.append(contentsOf: "\\u00".utf8)
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0xF)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    /// A cursor over one line.
    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        var atEnd: Bool { position >= bytes.count }

        mutating func skipWhitespace() {
            while position < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[position]) { position += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(Malformed) {
            guard consume(byte) else { throw Malformed(message: "expected \(what) at byte \(position + 1)") }
        }

        /// A string value for `key`, or the error a non-string value deserves.
        mutating func readStringField(_ key: String) throws(Malformed) -> String {
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw Malformed(message: "field \(key) must be a string")
            }
            return try readString()
        }

        /// A string literal; escapes decoded, UTF-8 validated. One pass over the bytes into a
        /// buffer as long as the rest of the line (a decoded string is never longer than its literal).
        mutating func readString() throws(Malformed) -> String {
            try expect(UInt8(ascii: "\""), "a string")
            let output = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(1, bytes.count - position))
            defer { output.deallocate() }
            var count = 0
            while true {
                guard position < bytes.count else { throw Malformed(message: "unterminated string") }
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "\"") { break }
                if byte >= 0x20 && byte != UInt8(ascii: "\\") {
                    output[count] = byte
                    count += 1
                    continue
                }
                guard byte == UInt8(ascii: "\\") else {
                    throw Malformed(message: "control character in a string at byte \(position)")
                }
                guard position < bytes.count else { throw Malformed(message: "unterminated string") }
                let escape = bytes[position]
                position += 1
                let decoded: UInt8
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded = escape
                case UInt8(ascii: "b"): decoded = 0x08
                case UInt8(ascii: "f"): decoded = 0x0C
                case UInt8(ascii: "n"): decoded = 0x0A
                case UInt8(ascii: "r"): decoded = 0x0D
                case UInt8(ascii: "t"): decoded = 0x09
                case UInt8(ascii: "u"):
                    // At most 4 UTF-8 bytes from 6 (or 12) bytes of escape: always fits.
                    UTF8.encode(try readUnicodeEscape()) { output[count] = $0; count += 1 }
                    continue
                default: throw Malformed(message: "invalid escape \\\(Character(Unicode.Scalar(escape))) at byte \(position - 1)")
                }
                output[count] = decoded
                count += 1
            }
            guard let string = String(validating: UnsafeBufferPointer(rebasing: output[..<count]), as: UTF8.self) else {
                throw Malformed(message: "a string is not valid UTF-8")
            }
            return string
        }

        /// The scalar of `\uXXXX` (a surrogate pair when one follows); a lone surrogate is an error.
        private mutating func readUnicodeEscape() throws(Malformed) -> Unicode.Scalar {
            let first = try readHex4()
            if (0xD800..<0xDC00).contains(first) {
                guard consume(UInt8(ascii: "\\")), consume(UInt8(ascii: "u")) else {
                    throw Malformed(message: "unpaired surrogate \\u\(String(first, radix: 16)) in a string")
                }
                let second = try readHex4()
                guard (0xDC00..<0xE000).contains(second) else {
                    throw Malformed(message: "unpaired surrogate \\u\(String(first, radix: 16)) in a string")
                }
                // Always a valid scalar: 0x10000...0x10FFFF.
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(first) else {
                throw Malformed(message: "unpaired surrogate \\u\(String(first, radix: 16)) in a string")
            }
            return scalar
        }

        private mutating func readHex4() throws(Malformed) -> UInt32 {
            guard position + 4 <= bytes.count else { throw Malformed(message: "truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[position]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw Malformed(message: "invalid \\u escape at byte \(position + 1)")
                }
                value = value << 4 | digit
                position += 1
            }
            return value
        }


        /// Skips one value of any type, checking its syntax; open containers are kept on a
        /// bounded stack, never recursed into.
        mutating func skipValue() throws(Malformed) {
            var openObjects: [Bool] = []  // per open container: is it an object?
            repeat {
                skipWhitespace()
                guard position < bytes.count else { throw Malformed(message: "unexpected end of line in a value") }
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    _ = try readString()
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard openObjects.count < JSONLineCodec.maximumDepth else {
                        throw Malformed(message: "values nested deeper than \(JSONLineCodec.maximumDepth)")
                    }
                    let isObject = bytes[position] == UInt8(ascii: "{")
                    position += 1
                    skipWhitespace()
                    if consume(isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) { break }  // empty
                    openObjects.append(isObject)
                    if isObject { try readKey() }
                    continue
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try skipNumber()
                default:
                    guard consumeLiteral("true") || consumeLiteral("false") || consumeLiteral("null") else {
                        throw Malformed(message: "invalid value at byte \(position + 1)")
                    }
                }
                // After a complete value inside containers: ',' continues, the matching bracket closes.
                while let isObject = openObjects.last {
                    skipWhitespace()
                    if consume(UInt8(ascii: ",")) {
                        if isObject { try readKey() }
                        break
                    }
                    try expect(isObject ? UInt8(ascii: "}") : UInt8(ascii: "]"), "',' or a closing bracket")
                    openObjects.removeLast()
                }
            } while !openObjects.isEmpty
        }

        private mutating func readKey() throws(Malformed) {
            skipWhitespace()
            _ = try readString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after a key")
        }

        private mutating func consumeLiteral(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard position + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[position + offset] != literal.utf8Start[offset] { return false }
            position += count
            return true
        }

        private mutating func skipNumber() throws(Malformed) {
            let start = position
            _ = consume(UInt8(ascii: "-"))
            func digits() -> Int {
                let from = position
                while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
                return position - from
            }
            guard digits() > 0 else { throw Malformed(message: "invalid number at byte \(start + 1)") }
            if consume(UInt8(ascii: ".")), digits() == 0 { throw Malformed(message: "invalid number at byte \(start + 1)") }
            if consume(UInt8(ascii: "e")) || consume(UInt8(ascii: "E")) {
                if !consume(UInt8(ascii: "+")) { _ = consume(UInt8(ascii: "-")) }
                guard digits() > 0 else { throw Malformed(message: "invalid number at byte \(start + 1)") }
            }
        }
    }
}
