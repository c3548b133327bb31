#!/usr/bin/env bash
# Runs model-bench and the PyTorch peer (Benchmarks/peer/peer_torch.py --suite mini) one after the
# other on the same machine, so their figures and contention can be compared. Needs a Python with
# torch and transformers (CPU wheels: pip install torch --index-url https://download.pytorch.org/whl/cpu;
# pip install transformers), given as PEER_PYTHON (default python3); PEER_SCRIPT overrides the peer.
#
#   Benchmarks/peer/run-side-by-side.sh [OUT_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/Benchmarks/results/run-$(date +%Y%m%d-%H%M%S)}"
python="${PEER_PYTHON:-python3}"
peer="${PEER_SCRIPT:-$root/Benchmarks/peer/peer_torch.py}"
mkdir -p "$out"
swift build -c release --package-path "$root/Benchmarks" --product model-bench
RL_NUM_THREADS=2 "$root/Benchmarks/.build/release/model-bench" --reps "${REPS:-3}" | tee "$out/model-bench.txt"
"$python" "$peer" --suite mini --threads 2 --reps "${PEER_REPS:-3}" --train-reps "${PEER_TRAIN_REPS:-1}" \
    --out "$out/peer-torch.json" > /dev/null 2> "$out/peer-torch.log"
echo "results in $out"
