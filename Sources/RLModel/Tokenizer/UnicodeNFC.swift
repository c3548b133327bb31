/// Unicode Normalization Form C.
///
/// Uses the Swift standard library's own normaliser (the one `String` comparison is built on,
/// exposed as `String._nfcCodeUnits`), so the Unicode data always matches the toolchain's.
enum UnicodeNFC {
    /// Whether NFC can change this UTF-8 text: false when every scalar is below U+0300 (lead bytes
    /// below 0xCC), since no such scalar decomposes or combines with a neighbour.
    static func mayChange(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        utf8.contains { $0 >= 0xCC }
    }

    static func normalize(_ text: String) -> String {
        String(decoding: text._nfcCodeUnits, as: UTF8.self)
    }
}
