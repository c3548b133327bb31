# The README's two commands: `make demo` (the main job, no downloads) and `make test` (what CI runs).
.PHONY: deps demo test bench

deps:
	@bash scripts/ensure-deps

demo: deps
	swift run -c release tiny-grpo

# The test suite; the CUDA kernels compiled by NVRTC (installed from PyPI, no GPU needed); then
# the one-minute demo, which must show a positive accuracy gain.
test: deps
	swift test
	bash scripts/ci-cuda-compile
	swift build -c release --product tiny-grpo
	bash scripts/check-tiny-grpo .build/release/tiny-grpo

bench: deps
	cd Benchmarks && swift run -c release tensor-bench
