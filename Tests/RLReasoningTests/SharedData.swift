import FoundationEssentials

/// The shared data folder: `RL_SHARED_DIR`, else `shared/` beside the repository root.
let sharedDirectory: URL = {
    if let path = ProcessInfo.processInfo.environment["RL_SHARED_DIR"], !path.isEmpty {
        return URL(fileURLWithPath: path)
    }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return root.deletingLastPathComponent().appendingPathComponent("shared")
}()
