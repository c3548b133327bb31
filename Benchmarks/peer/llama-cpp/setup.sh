#!/usr/bin/env bash
# Builds llama.cpp (from the llama-cpp-python source distribution on PyPI, CPU only) and a Qwen2
# of Benchmarks/peer/peer_torch.py ("mini", or MODEL=1.5b for the DeepSeek-R1-Distill-Qwen-1.5B
# shapes, random weights) as GGUF (f32 and f16), for run.sh.
#
#   PEER_PYTHON=/path/to/venv/bin/python [MODEL=1.5b] Benchmarks/peer/llama-cpp/setup.sh [WORK_DIR]
#
# Needs a Python with torch and transformers (PEER_PYTHON), cmake and a C++ compiler
# (apt-get install -y cmake build-essential). About 5 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
work="${1:-/tmp/llama}"
python="${PEER_PYTHON:-python3}"
version="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"   # vendors ggml-org/llama.cpp@0c1e57098
model="${MODEL:-mini}"
mkdir -p "$work"
cd "$work"
if [ ! -d "llama_cpp_python-$version" ]; then
    "$python" -m pip download --no-binary :all: --no-deps "llama-cpp-python==$version" -d "$work"
    tar xzf "llama_cpp_python-$version.tar.gz"
fi
src="$work/llama_cpp_python-$version/vendor/llama.cpp"
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF \
    -DLLAMA_BUILD_COMMIT=0c1e57098 > "$work/cmake-config.log"
cmake --build "$work/build" -j2 --target llama-bench llama-batched-bench > "$work/build.log"
"$python" -m pip install -q "$src/gguf-py" sentencepiece
# The model exactly as the PyTorch peer builds it (seed 0, f32), with the tokenizer of the
# repository's tokenizer cases (tools/fixtures/make_tokenizer_cases.py, Tests/Fixtures).
"$python" - "$root" "$work/$model-hf" "$model" <<'PY'
import shutil, sys
root, out, name = sys.argv[1:4]
sys.path[:0] = [f"{root}/Benchmarks/peer", f"{root}/tools/fixtures"]
from peer_torch import build_model
from make_tokenizer_cases import assemble_tokenizer
model, params = build_model(name)
model.save_pretrained(out, safe_serialization=True)
assemble_tokenizer().save(f"{out}/tokenizer.json")
for file in ["vocab.json", "merges.txt"]:
    shutil.copy(f"{root}/Tests/Fixtures/tokenizer/qwen2/{file}", out)
shutil.copy(f"{root}/Tests/Fixtures/model-configs/deepseek-r1-distill-qwen-1.5b/tokenizer_config.json", out)
print(name, "model:", params, "parameters")
PY
for type in f32 f16; do
    "$python" "$src/convert_hf_to_gguf.py" "$work/$model-hf" --outtype "$type" --outfile "$work/$model-$type.gguf" \
        > "$work/convert-$model-$type.log" 2>&1
done
rm -rf "$work/$model-hf"
echo "llama.cpp and the $model GGUFs are in $work; run [MODEL=$model] Benchmarks/peer/llama-cpp/run.sh $work"
