// RLTensor: tensors, autograd, ComputeBackend and the OpenBLAS CPU backend. See issue 2.
