/// Unicode Normalization Form C.
///
/// Uses the Swift standard library's own normaliser (the one `String` comparison is built on,
/// exposed as `String._nfcCodeUnits`), so the Unicode data always matches the toolchain's.
/// Text whose scalars are all below U+0300 is already in NFC and is returned unchanged.
enum UnicodeNFC {
    static func normalize(_ text: String) -> String {
        var needsWork = false
        for unit in text.utf8 where unit >= 0xCC {  // 0xCC 0x80 = U+0300, the first scalar that can change
            needsWork = true
            break
        }
        guard needsWork else { return text }
        return String(decoding: text._nfcCodeUnits, as: UTF8.self)
    }
}
