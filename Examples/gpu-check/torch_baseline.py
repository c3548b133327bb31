"""PyTorch/transformers baseline for gpu-check, run on the same card in the same session.

Prints bf16 matmul TFLOP/s at the Qwen2-1.5B shapes and decode tokens/s of a randomly
initialised Qwen2-1.5B-shape model (transformers, bf16, KV cache) at batch 1, 6 and 64.
Not shipped with the library; scripts/gpu-check copies it next to the gpu-check binary.
"""
import sys
import time

import torch


def bench_matmul():
    def run(m, n, k, iters=20):
        a = torch.randn(m, k, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(n, k, device="cuda", dtype=torch.bfloat16) * 0.02
        for _ in range(3):
            a @ w.T
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(iters):
            a @ w.T
        torch.cuda.synchronize()
        s = (time.perf_counter() - t) / iters
        return s, 2 * m * n * k / s / 1e12

    _, peak = run(8192, 8192, 8192, 10)
    print(f"torch matmul bf16 8192x8192x8192: {peak:.1f} TFLOP/s")
    tokens = 6 * 1024
    for label, m, n, k in [("q/o proj", tokens, 1536, 1536), ("k/v proj", tokens, 256, 1536),
                           ("gate/up proj", tokens, 8960, 1536), ("down proj", tokens, 1536, 8960),
                           ("lm head", tokens, 151936, 1536), ("lm head, decode b64", 64, 151936, 1536)]:
        s, tf = run(m, n, k)
        print(f"torch matmul bf16 {label} {m}x{n}x{k}: {s * 1e3:.3f} ms, {tf:.1f} TFLOP/s ({100 * tf / peak:.1f}% of peak)")


def bench_decode(batches=(1, 6, 64), prompt=128, steps=128):
    from transformers import ModelConfig, Qwen2ForCausalLM

    config = ModelConfig(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                         num_key_value_heads=2, vocab_size=151936, max_position_embeddings=4096, rope_theta=10000.0,
                         tie_word_embeddings=False, rms_norm_eps=1e-6)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16).eval()
    for batch in batches:
        ids = torch.randint(0, config.vocab_size, (batch, prompt), device="cuda")
        mask = torch.ones_like(ids)

        def gen(n):
            with torch.inference_mode():
                torch.cuda.synchronize()
                t = time.perf_counter()
                model.generate(ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                               pad_token_id=0, eos_token_id=None)
                torch.cuda.synchronize()
                return time.perf_counter() - t

        gen(4)  # warm-up
        prefill = gen(1)
        total = gen(steps + 1)
        per_step = (total - prefill) / steps
        print(f"transformers decode batch {batch}: {batch / per_step:.1f} tokens/s ({per_step * 1e3:.3f} ms/step), "
              f"peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}")
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what in ("gemm", "all"):
        bench_matmul()
    if what in ("decode", "all"):
        bench_decode()
