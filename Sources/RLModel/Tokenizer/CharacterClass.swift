/// The classes of scalars that the pre-tokenizer regexes distinguish.
enum CharacterClass: UInt8, Sendable {
    /// General category L (Lu, Ll, Lt, Lm, Lo): `\p{L}`.
    case letter
    /// General category N (Nd, Nl, No): `\p{N}`.
    case number
    /// `\r` or `\n`.
    case newline
    /// Other White_Space scalars: `\s` less `\r\n`.
    case space
    /// Everything else.
    case other

    /// The class of a scalar value; a table lookup for the Basic Multilingual Plane.
    @inline(__always)
    static func of(_ value: UInt32) -> CharacterClass {
        if value < 0x10000 { return CharacterClass(rawValue: basicPlane[Int(value)])! }
        return compute(value)
    }

    private static let basicPlane: [UInt8] = (0..<0x10000).map { compute(UInt32($0)).rawValue }

    private static func compute(_ value: UInt32) -> CharacterClass {
        if value == 0x0A || value == 0x0D { return .newline }
        guard let scalar = Unicode.Scalar(value) else { return .other }  // surrogate code points
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return properties.isWhitespace ? .space : .other
        }
    }
}
