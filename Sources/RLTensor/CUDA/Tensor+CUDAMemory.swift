extension Tensor {
    /// Where this tensor's elements live on a CUDA device, for handing them to another CUDA
    /// library (NCCL): the device address of its first element and the backend's stream (work on
    /// that stream is ordered with RLTensor's kernels). nil unless the tensor is packed and on a
    /// CUDA device. The address is valid while the tensor (its storage) is alive.
    public var cudaMemory: (address: UInt64, stream: OpaquePointer?)? {
        guard isContiguous, let backend = storage.backend as? CUDABackend else { return nil }
        return (ref.cudaAddress(dtype), backend.stream)
    }
}
