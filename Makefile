# The README's two commands: `make demo` (the main job, no downloads) and `make test` (what CI runs).
.PHONY: deps demo test bench

deps:
	@bash scripts/ensure-deps

demo: deps
	swift run -c release tiny-grpo

# The test suite (and its few-row product test again with the AVX2 kernels, which AVX-512
# machines would otherwise never run, and the bf16-weight products again without AMX and without
# any bf16 instructions, and with the AVX512_BF16 GEMM forced, which machines with them would otherwise never run); the CUDA kernels
# compiled by NVRTC (installed from PyPI, no GPU needed) and run under a CPU emulation against
# references; then the one-minute demo, which must show a positive accuracy gain.
test: deps
	# ComputeOptionsTests change the process-wide thread count, and results depend on it (how
	# products are split across threads): run them alone, not beside tests comparing two runs.
	swift test --skip ComputeOptionsTests
	swift test --skip-build --filter ComputeOptionsTests
	RL_NO_AVX512=1 swift test --skip-build --filter "fewRowKernels|oneRowParts|TokenSamplerTests|GradientTests|FusedForwardTests|ElementwiseForwardTests|PagedAttentionTests"
	RL_NO_AMX=1 swift test --skip-build --filter "fewRowKernels|oneRowParts|bf16ManyRows|BF16MatmulTests|MatmulPrecisionTests|MatmulPrecisionTrainingTests"
	RL_NO_AMX=1 RL_BF16_DOT_GEMM=1 swift test --skip-build --filter "fewRowKernels|oneRowParts|bf16ManyRows|BF16MatmulTests|MatmulPrecisionTests"
	RL_NO_AVX512_BF16=1 swift test --skip-build --filter "fewRowKernels|oneRowParts|bf16ManyRows|BF16MatmulTests|MatmulPrecisionTests"
	bash scripts/ci-cuda-compile
	swift build -c release --product tiny-grpo
	bash scripts/check-tiny-grpo .build/release/tiny-grpo

bench: deps
	cd Benchmarks && swift run -c release tensor-bench
