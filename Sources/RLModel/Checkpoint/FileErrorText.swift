import FoundationEssentials
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system error as the few words a person needs ("No such file or directory",
/// "Permission denied", ...): the operating system's text for the underlying `errno` where
/// Foundation kept one, instead of a `CocoaError(...)` dump. Other errors are described as usual.
public func fileErrorText(_ error: any Error) -> String {
    if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
    if let decoding = error as? DecodingError { return decodingErrorText(decoding) }
    guard let cocoa = error as? CocoaError else { return "\(error)" }
    if let posix = cocoa.underlying as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
    switch cocoa.code {
    case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
    case .fileReadNoPermission, .fileWriteNoPermission: return String(cString: strerror(EACCES))
    case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
    case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
    case .fileWriteFileExists: return String(cString: strerror(EEXIST))
    case .fileReadInapplicableStringEncoding, .fileReadCorruptFile: return "not valid UTF-8 text"
    case .fileReadTooLarge: return "the file is too large"
    default: return "file error \(cocoa.code.rawValue)"
    }
}

/// A JSON decoding error as one short line saying what is wrong and where
/// (`global_step: expected Int`, `not valid JSON`) instead of a `DecodingError.dataCorrupted(...)` dump.
public func decodingErrorText(_ error: DecodingError) -> String {
    func path(_ context: DecodingError.Context) -> String {
        let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
        return keys.isEmpty ? "" : keys.joined(separator: ".") + ": "
    }
    switch error {
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "not valid JSON" : path(context) + context.debugDescription
    case .keyNotFound(let key, let context): return path(context) + "missing key '\(key.stringValue)'"
    case .typeMismatch(let type, let context): return path(context) + "expected \(type)"
    case .valueNotFound(let type, let context): return path(context) + "expected \(type), found null"
    @unknown default: return "not valid JSON"
    }
}
