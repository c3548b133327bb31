#!/usr/bin/env bash
# llama.cpp on a Qwen2 made by setup.sh (MODEL=mini or 1.5b), 2 threads: decode of NEW_TOKENS
# tokens (128; the PyTorch peer uses 32 for 1.5b) and prefill of PREFILL tokens (256) with
# llama-bench, then 1 and 6 parallel sequences (64-token prompts, NEW_TOKENS new tokens each, as
# the peer's decode_b{1,6}_p64_n*) with llama-batched-bench, whose S_TG column is the generated
# tokens per second over all sequences. llama-bench does not sample; our model-bench decode
# figures include sampling (its "step" line shows the parts).
#
#   [MODEL=1.5b NEW_TOKENS=32 PREFILL=512] Benchmarks/peer/llama-cpp/run.sh [WORK_DIR]     (REPS=3, THREADS=2)
set -euo pipefail
work="${1:-/tmp/llama}"
bin="$work/build/bin"
threads="${THREADS:-2}"
reps="${REPS:-3}"
model="${MODEL:-mini}"
new_tokens="${NEW_TOKENS:-128}"
prefill="${PREFILL:-256}"
echo "# $("$bin/llama-bench" --version 2>&1 | head -1); threads=$threads reps=$reps; load $(cut -d' ' -f1-3 /proc/loadavg)"
for type in f32 f16; do
    "$bin/llama-bench" -m "$work/$model-$type.gguf" -t "$threads" -p 0 -n "$new_tokens" -r "$reps"
    "$bin/llama-bench" -m "$work/$model-$type.gguf" -t "$threads" -p "$prefill" -n 0 -r "$reps"
    "$bin/llama-batched-bench" -m "$work/$model-$type.gguf" -t "$threads" -tb "$threads" -c 2048 -b 2048 -ub 512 \
        -npp 64 -ntg "$new_tokens" -npl 1,6 2>&1 | grep -E '^\|' || true
done
echo "# done; load $(cut -d' ' -f1-3 /proc/loadavg)"
