# The README's two commands: `make demo` (the main job, no downloads) and `make test`.
.PHONY: deps demo test bench

deps:
	@bash scripts/ensure-deps

demo: deps
	swift run -c release tensor-demo

test: deps
	swift test

bench: deps
	cd Benchmarks && swift run -c release
