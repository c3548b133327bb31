#!/usr/bin/env bash
# llama.cpp on the "mini" Qwen2 (see setup.sh), 2 threads: decode tg128 and prefill pp256 with
# llama-bench, then 1 and 6 parallel sequences (64-token prompts, 128 new tokens each, as the
# PyTorch peer's decode_b{1,6}_p64_n128) with llama-batched-bench, whose S_TG column is the
# generated tokens per second over all sequences. llama-bench does not sample; our model-bench
# decode figures include sampling (its "step" line shows the parts).
#
#   Benchmarks/peer/llama-cpp/run.sh [WORK_DIR]     (REPS=3, THREADS=2)
set -euo pipefail
work="${1:-/tmp/llama}"
bin="$work/build/bin"
threads="${THREADS:-2}"
reps="${REPS:-3}"
echo "# $("$bin/llama-bench" --version 2>&1 | head -1); threads=$threads reps=$reps; load $(cut -d' ' -f1-3 /proc/loadavg)"
for type in f32 f16; do
    "$bin/llama-bench" -m "$work/mini-$type.gguf" -t "$threads" -p 0 -n 128 -r "$reps"
    "$bin/llama-bench" -m "$work/mini-$type.gguf" -t "$threads" -p 256 -n 0 -r "$reps"
    "$bin/llama-batched-bench" -m "$work/mini-$type.gguf" -t "$threads" -tb "$threads" -c 2048 -b 2048 -ub 512 \
        -npp 64 -ntg 128 -npl 1,6 2>&1 | grep -E '^\|' || true
done
echo "# done; load $(cut -d' ' -f1-3 /proc/loadavg)"
