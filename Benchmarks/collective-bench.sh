#!/usr/bin/env bash
# The MPI path's cost on this machine, in one run (issue 15): all-reduce bus bandwidth of 2 ranks
# against memcpy, and a GRPO step of 2 ranks × batch B against 1 rank × batch 2B (the same global
# batch; each rank gets RL_NUM_THREADS = cores / ranks, so both use every core). Writes the
# figures, with lscpu, the OpenBLAS core and library versions, to OUT (default
# Benchmarks/results/distributed-run.md).
#
#   Benchmarks/collective-bench.sh [OUT]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/Benchmarks/results/distributed-run.md}"  # raw figures; results/distributed.md explains them
batch="${BATCH:-4}" steps="${STEPS:-5}"
cores="$(nproc)"
swift build -c release --package-path "$root/Benchmarks" --product collective-bench >&2
bench="$root/Benchmarks/.build/release/collective-bench"
mpi=(mpirun --allow-run-as-root --oversubscribe)
{
    echo "# collective-bench ($(date -u +%Y-%m-%d), commit $(git -C "$root" rev-parse --short HEAD))"
    echo
    echo '```'
    lscpu | grep -E '^(Model name|Vendor ID|CPU\(s\)|Thread|Flags)' | sed -E 's/^(Flags:).*/\1 '"$(grep -o -w -E 'avx2|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ')"'/'
    mpirun --version | head -1
    swift --version 2>&1 | head -1
    dpkg-query -W -f='${Package} ${Version}\n' libopenblas0-pthread 2>/dev/null || true
    echo '```'
    echo
    echo "## All-reduce, 2 ranks (one thread each)"
    echo
    RL_NUM_THREADS=1 "${mpi[@]}" -np 2 -x RL_NUM_THREADS "$bench" allreduce
    echo
    echo "## GRPO step: 1 rank × batch $((2 * batch)) vs 2 ranks × batch $batch"
    echo
    echo '```'
    one="$(RL_NUM_THREADS="$cores" "${mpi[@]}" -np 1 -x RL_NUM_THREADS "$bench" grpo --batch $((2 * batch)) --steps "$steps")"
    two="$(RL_NUM_THREADS="$(( cores / 2 > 0 ? cores / 2 : 1 ))" "${mpi[@]}" -np 2 -x RL_NUM_THREADS "$bench" grpo --batch "$batch" --steps "$steps")"
    echo "$one"
    echo "$two"
    echo '```'
    t1="$(echo "$one" | sed -n 's/^median step s: //p')"
    t2="$(echo "$two" | sed -n 's/^median step s: //p')"
    echo
    echo "2-rank step / 1-rank step: $(awk -v a="$t2" -v b="$t1" 'BEGIN { printf "%.3f", a / b }')"
} | tee "$out"
