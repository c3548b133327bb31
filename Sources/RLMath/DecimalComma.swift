/// Decimal commas (`1000,99`, `2,74 \$`, `0,111`): the reading of an answer with its one comma as
/// a decimal point, tried only where the comma reading cannot be meant.
///
/// A comma between digits is a decimal comma candidate when it is the text's only comma, has no
/// space after it, is not a thousands separator (1–3 leading digits not starting with 0, then
/// exactly 3 digits), and the text holds no brackets (so `(1,22)` stays a tuple). The verifier
/// uses the reading only when the list reading (`1000, 99`) is not equal to the other side.
enum DecimalComma {
    /// The text with its decimal comma replaced by a point, or nil when there is none.
    static func reading(of text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count <= 256 else { return nil }
        var commaIndex: Int?
        for (index, byte) in bytes.enumerated() {
            switch byte {
            case UInt8(ascii: ","):
                guard commaIndex == nil else { return nil }
                commaIndex = index
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"), UInt8(ascii: "}"),
                 UInt8(ascii: ";"), UInt8(ascii: "."):
                // Brackets (tuples, intervals, sets, \frac{}{}), groups, or a decimal point already.
                return nil
            default:
                continue
            }
        }
        guard let comma = commaIndex, comma > 0, comma + 1 < bytes.count,
              bytes[comma - 1].isASCIIDigit, bytes[comma + 1].isASCIIDigit else { return nil }
        var integerStart = comma
        while integerStart > 0, bytes[integerStart - 1].isASCIIDigit { integerStart -= 1 }
        var fractionEnd = comma + 1
        while fractionEnd < bytes.count, bytes[fractionEnd].isASCIIDigit { fractionEnd += 1 }
        let integerDigits = comma - integerStart, fractionDigits = fractionEnd - comma - 1
        let thousands = integerDigits <= 3 && bytes[integerStart] != UInt8(ascii: "0") && fractionDigits == 3
        guard !thousands else { return nil }
        var result = bytes
        result[comma] = UInt8(ascii: ".")
        return String(decoding: result, as: UTF8.self)
    }
}
