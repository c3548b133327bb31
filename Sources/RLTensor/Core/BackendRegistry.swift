import Synchronization

/// Finds the backend for a device. The CPU backend is always present; other backends (CUDA)
/// register themselves when they are created.
public enum BackendRegistry {
    private static let registered = Mutex<[Device: any ComputeBackend]>([:])

    /// Makes `backend` the one used for `backend.device`.
    public static func register(_ backend: any ComputeBackend) {
        registered.withLock { $0[backend.device] = backend }
    }

    /// The backend for `device` if one exists (the CPU's always does), else nil.
    public static func registeredBackend(for device: Device) -> (any ComputeBackend)? {
        device == .cpu ? CPUBackend.shared : registered.withLock { $0[device] }
    }

    /// The backend for `device`. Asking for an unregistered device is a programmer error.
    public static func backend(for device: Device) -> any ComputeBackend {
        if device == .cpu { return CPUBackend.shared }
        guard let backend = registered.withLock({ $0[device] }) else {
            preconditionFailure("no backend is registered for \(device); create it (e.g. CUDABackend) first")
        }
        return backend
    }
}
