#!/usr/bin/env python3
"""PyTorch CPU peer of model-bench and grpo-bench: the same Qwen2 workloads in torch + transformers.

Models are Qwen2ForCausalLM in float32 with random weights (torch seed 0), see build_model():
  mini   vocabulary 151936, hidden 512, 8 layers, 8 heads, 2 KV heads, FFN 1408, untied
  1.5b   the shapes of DeepSeek-R1-Distill-Qwen-1.5B (hidden 1536, 28 layers, 12/2 heads, FFN 8960)

Suites (--suite, repeatable; all four when none is given):
  gemm   F.linear GFLOP/s on the linear shapes of the 1.5b model (torch's MKL/oneDNN path)
  mini   prefill 6x256 (all logits / last logit); decode at batch 1 and 6: 64-token prompt + 128
         new tokens with HF generate and with a hand-written KV-cache loop (tokens/s overall and
         decode-only); train step on 6x512: per-token log-prob loss + AdamW, split fwd/bwd/opt
  train  (only when named) the mini train step alone, with f32 products and with oneDNN's bf16 products
         (torch.backends.mkldnn.matmul.fp32_precision = "bf16": AMX where the CPU has it)
  grpo   one GRPO step on mini as TRL's GRPOTrainer does it (num_iterations=1): 1 prompt x 6
         samples x 128 new tokens, reference and policy log-probs, k3 KL (beta 0.04), AdamW;
         split generate / ref_logprobs / policy_forward / backward / optimizer
         (--grpo-rollout-dtype bfloat16: generation from a bf16 copy synced from the policy each step;
         --grpo-matmul-precision bf16: scoring and training with oneDNN's bf16 products)
  1.5b   prefill 1x512; decode at batch 1 and 6, 64-token prompt + 32 new tokens; fp32 training
         memory estimate
  lora15b  (only when named; needs peft) one GRPO step with LoRA r 16 on all linear layers over a
         bf16 1.5b base, 1 prompt x 6 samples x 256 new tokens, reference = adapters disabled,
         gradient checkpointing; peak RSS of the steps (grpo-memory-bench's peer)

Every timing has warm-up runs first and reports the median and minimum of the timed runs.
Each suite's result also holds peak_rss_gib (the process's ru_maxrss when the suite ends, so it
includes the suites run before it in the same process), wall_s, foreign_cpu_frac (CPU time that
other processes used while the suite ran, as a fraction of all cores; 0 = the machine was ours)
and meta (versions, threads). The results are printed as JSON on stdout, progress goes to stderr.

    pip install torch --index-url https://download.pytorch.org/whl/cpu; pip install transformers
    python3 Benchmarks/peer/peer_torch.py --suite mini --threads 2 [--reps 5] [--train-reps 3] \\
        [--out results.json]
    python3 Benchmarks/peer/peer_torch.py --suite grpo [--grpo-gen hand] [--grpo-rollout-dtype bfloat16]
    python3 Benchmarks/peer/peer_torch.py --suite 1.5b [--reps-15b 3]     # 7 GiB of weights alone

--out FILE merges the results into FILE, a JSON object keyed by suite (other suites are kept).
"""
import argparse
import inspect
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import Qwen2Config, Qwen2ForCausalLM

VOCAB = 151936
SHAPES = {
    "mini": dict(hidden_size=512, num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=2,
                 intermediate_size=1408),
    "1.5b": dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                 intermediate_size=8960),
}
TEMPERATURE, TOP_P = 0.7, 0.95

# The forward's KV-cache argument and output field: `cache` in recent transformers, `past_key_values` before.
CACHE_KW = "cache" if "cache" in inspect.signature(Qwen2ForCausalLM.forward).parameters else "past_key_values"


# ------------------------------------------------------------------------------------ measuring

def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(label, fn, reps, warmup=1):
    """Runs fn warmup + reps times; returns the median, minimum and list of the timed runs (s)."""
    log(f"  {label}: {warmup} warm-up + {reps} timed")
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return {"median_s": statistics.median(runs), "min_s": min(runs), "runs_s": [round(t, 4) for t in runs]}


def rates(timing, work, key):
    """timing plus `key` (work per median second) and `key`_best (work per fastest second)."""
    return dict(timing, **{key: work / timing["median_s"], f"{key}_best": work / timing["min_s"]})


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux


class ForeignCPU:
    """Context manager: the fraction of all cores' time that other processes used inside the block."""

    @staticmethod
    def _sample():
        with open("/proc/stat") as f:
            jiffies = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
        own = resource.getrusage(resource.RUSAGE_SELF)
        busy = (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")
        return time.time(), busy, own.ru_utime + own.ru_stime

    def __enter__(self):
        self.start = self._sample()
        return self

    def __exit__(self, *exc):
        (w0, busy0, own0), (w1, busy1, own1) = self.start, self._sample()
        foreign = max(0.0, (busy1 - busy0) - (own1 - own0))
        self.fraction = foreign / max(1e-9, (w1 - w0) * os.cpu_count())


# ------------------------------------------------------------------------------------ model

def build_model(name):
    """The benchmark model `name` ("mini" or "1.5b"): random init with torch seed 0, float32, SDPA.
    Returns (model, number of parameters)."""
    config = Qwen2Config(vocab_size=VOCAB, rms_norm_eps=1e-6, tie_word_embeddings=False, hidden_act="silu",
                         max_position_embeddings=4096, use_sliding_window=False, pad_token_id=0,
                         bos_token_id=None, eos_token_id=None,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **SHAPES[name])
    config.rope_theta = 10000.0  # older transformers read this attribute, not rope_parameters
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config).to(torch.float32)
    return model, sum(p.numel() for p in model.parameters())


def forward(model, ids, cache=None, use_cache=False, logits_to_keep=0):
    """Returns (logits, KV cache); logits_to_keep=0 keeps every position's logits."""
    out = model(input_ids=ids, use_cache=use_cache, logits_to_keep=logits_to_keep, **{CACHE_KW: cache})
    return out.logits, getattr(out, CACHE_KW)


def completion_logprobs(model, ids, prompt_len):
    """log p(ids[:, t] | ids[:, :t]) for the completion positions t >= prompt_len: [B, T - prompt_len].
    Computed as gathered logit - logsumexp, without a second [B, T, V] log-softmax tensor."""
    logits, _ = forward(model, ids[:, :-1])
    logits = logits[:, prompt_len - 1:]
    targets = ids[:, prompt_len:].unsqueeze(-1)
    return logits.gather(-1, targets).squeeze(-1) - torch.logsumexp(logits, dim=-1)


# ------------------------------------------------------------------------------------ sampling

def nucleus_sample(logits, generator, bins=2048, bins_per_nat=32.0):
    """Temperature + exact top-p sampling of one token per row of [B, V] logits without sorting the
    vocabulary: a token is kept iff the probability mass of the tokens more probable than it is below
    TOP_P. Tokens are bucketed by log-probability below the row's maximum (1/32 nat per bin); the
    bucket masses locate the bin where the cumulative mass crosses TOP_P, and only that bin's
    tokens are sorted. Returns [B, 1] token ids."""
    z = logits.float() / TEMPERATURE
    z = z - z.max(-1, keepdim=True).values
    probs = torch.softmax(z, -1)
    bucket = (-z * bins_per_nat).clamp_(max=bins - 1).long()          # 0 = the most probable tokens
    cumulative = torch.zeros(probs.shape[0], bins).scatter_add_(1, bucket, probs).cumsum(-1)
    crossing = (cumulative < TOP_P).sum(-1).clamp_(max=bins - 1)
    keep = bucket < crossing[:, None]
    for row, b in enumerate(crossing.tolist()):
        mass_before = cumulative[row, b - 1].item() if b > 0 else 0.0
        members = (bucket[row] == b).nonzero().squeeze(1)
        p, order = probs[row, members].sort(descending=True)
        keep[row, members[order[mass_before + p.cumsum(0) - p < TOP_P]]] = True
    cdf = (probs * keep).cumsum(-1)
    u = torch.rand(probs.shape[0], 1, generator=generator) * cdf[:, -1:]
    return torch.searchsorted(cdf, u).clamp_(max=probs.shape[-1] - 1)


def sorted_nucleus_sample(logits, generator):
    """The same distribution by sorting the whole vocabulary, as HF's TopPLogitsWarper does."""
    probs, ids = torch.softmax(logits / TEMPERATURE, -1).sort(-1, descending=True)
    probs = probs.masked_fill(probs.cumsum(-1) - probs > TOP_P, 0.0)
    return ids.gather(-1, torch.multinomial(probs, 1, generator=generator))


# ------------------------------------------------------------------------------------ generation

def hf_generate(model, prompt, new_tokens):
    """HF generate, sampling exactly new_tokens tokens per row; returns prompt + completion ids."""
    with torch.inference_mode():
        return model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), do_sample=True,
                              temperature=TEMPERATURE, top_p=TOP_P, top_k=0, max_new_tokens=new_tokens,
                              min_new_tokens=new_tokens, pad_token_id=0, eos_token_id=None)


@torch.inference_mode()
def hand_generate(model, prompt, new_tokens, generator, greedy=False):
    """Prefill, then one-token steps with the KV cache. Returns (completion ids [B, new_tokens],
    seconds spent after the first token, i.e. in the new_tokens - 1 decode steps)."""
    def pick(logits):
        return logits.argmax(-1, keepdim=True) if greedy else nucleus_sample(logits, generator)

    logits, cache = forward(model, prompt, use_cache=True, logits_to_keep=1)
    tokens = [pick(logits[:, -1])]
    start = time.perf_counter()
    for _ in range(new_tokens - 1):
        logits, cache = forward(model, tokens[-1], cache=cache, use_cache=True, logits_to_keep=1)
        tokens.append(pick(logits[:, -1]))
    return torch.cat(tokens, 1), time.perf_counter() - start


def bench_decode(model, batch, prompt_len, new_tokens, reps):
    """Sampled generation with HF generate and with hand_generate, greedy hand_generate, and the two
    samplers alone. peer_tokens_per_s is the faster of the two sampled paths."""
    log(f"decode batch={batch} prompt={prompt_len} new={new_tokens}")
    generator = torch.Generator().manual_seed(1)
    prompt = torch.randint(0, VOCAB, (batch, prompt_len), generator=generator)
    generated = batch * new_tokens

    def hf_generate_run():
        assert hf_generate(model, prompt, new_tokens).shape == (batch, prompt_len + new_tokens)

    res = {"hf_generate": rates(timed("hf_generate", hf_generate_run, reps), generated, "gen_tokens_per_s")}
    for label, greedy in (("hand_loop", False), ("hand_loop_greedy", True)):
        decode_s = []

        def hand_loop_run():
            decode_s.append(hand_generate(model, prompt, new_tokens, generator, greedy)[1])

        r = rates(timed(label, hand_loop_run, reps), generated, "gen_tokens_per_s")
        decode = statistics.median(decode_s[1:])  # without the warm-up run
        res[label] = dict(r, decode_only_tokens_per_s=batch * (new_tokens - 1) / decode,
                          decode_only_ms_per_step=1e3 * decode / (new_tokens - 1))
    logits = torch.randn(batch, VOCAB, generator=generator) * 0.5
    samplers = {"binned_top_p(hand loop)": nucleus_sample, "sorted_top_p(HF-like)": sorted_nucleus_sample}
    res["sampler_ms"] = {label: 1e3 * timed(label, lambda: sample(logits, generator), 5)["median_s"]
                         for label, sample in samplers.items()}
    res["peer_path"] = max(("hf_generate", "hand_loop"), key=lambda k: res[k]["gen_tokens_per_s"])
    res["peer_tokens_per_s"] = res[res["peer_path"]]["gen_tokens_per_s"]
    res.update(batch=batch, prompt_len=prompt_len, new_tokens=new_tokens)
    return res


def bench_prefill(model, ids, reps, labels):
    """Forward passes of ids keeping every position's logits (0) or the last one (1); labels maps
    logits_to_keep to the result key."""
    res = {}
    for keep, label in labels.items():
        with torch.inference_mode():
            r = timed(label, lambda: forward(model, ids, logits_to_keep=keep), reps)
        res[label] = rates(r, ids.numel(), "tokens_per_s")
    return res


# ------------------------------------------------------------------------------------ suites

def suite_gemm(args):
    shapes = [("square1024", 1024, 1024, 1024),
              ("mlp_up 512x1536->8960", 512, 1536, 8960),
              ("mlp_down 512x8960->1536", 512, 8960, 1536),
              ("q/o 512x1536->1536", 512, 1536, 1536),
              ("decode6 mlp_up 6x1536->8960", 6, 1536, 8960),
              ("decode1 lm_head 1x1536->151936", 1, 1536, 151936),
              ("decode6 lm_head 6x1536->151936", 6, 1536, 151936)]
    torch.manual_seed(0)
    rows = []
    for name, m, k, n in shapes:
        x, w = torch.randn(m, k), torch.randn(n, k)
        flops = 2 * m * k * n
        with torch.inference_mode():
            r = timed(name, lambda: F.linear(x, w), 10 if m * k * n < 3e9 else 5, warmup=2)
        rows.append(dict(name=name, M=m, K=k, N=n, median_ms=1e3 * r["median_s"], min_ms=1e3 * r["min_s"],
                         gflops_median=flops / r["median_s"] / 1e9, gflops_best=flops / r["min_s"] / 1e9,
                         weight_GBps_best=4 * k * n / r["min_s"] / 1e9))
    return {"F.linear": rows}


def suite_mini(args):
    model, params = build_model("mini")
    model.eval()
    generator = torch.Generator().manual_seed(0)
    res = {"params": params}
    ids = torch.randint(0, VOCAB, (6, 256), generator=generator)
    res.update(bench_prefill(model, ids, args.reps,
                             {0: "prefill_6x256_all_logits", 1: "prefill_6x256_last_logit"}))
    res["decode_b1_p64_n128"] = bench_decode(model, 1, 64, 128, args.reps)
    res["decode_b6_p64_n128"] = bench_decode(model, 6, 64, 128, args.reps)

    res["train_step_6x512"] = bench_train_step(model, generator, args.train_reps)
    return res


def bench_train_step(model, generator, reps, matmul_precision="ieee"):
    """Training step: mean negative log-prob of 6 x 512 tokens (position 0 is the prompt),
    backward, AdamW. matmul_precision is torch.backends.mkldnn.matmul.fp32_precision for the
    step: "ieee" (f32 products) or "bf16" (oneDNN rounds f32 operands to bf16, AMX where the CPU
    has it: the peer of MatmulPrecision.bfloat16)."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.0)
    ids = torch.randint(0, VOCAB, (6, 513), generator=generator)
    split = {"fwd": [], "bwd": [], "opt": []}

    def train_step():
        t0 = time.perf_counter()
        loss = -completion_logprobs(model, ids, 1).mean()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        for key, seconds in zip(split, (t1 - t0, t2 - t1, t3 - t2)):
            split[key].append(seconds)

    previous = torch.backends.mkldnn.matmul.fp32_precision
    torch.backends.mkldnn.matmul.fp32_precision = matmul_precision
    try:
        r = rates(timed(f"train step 6x512 ({matmul_precision} products)", train_step, reps), 6 * 512, "tokens_per_s")
    finally:
        torch.backends.mkldnn.matmul.fp32_precision = previous
    return dict(r, split_median_s={k: statistics.median(v[1:]) for k, v in split.items()},
                optimizer="AdamW(fused=default)", matmul_precision=matmul_precision)


def suite_train(args):
    """The training step alone, with f32 products and with oneDNN's bf16 products."""
    model, params = build_model("mini")
    generator = torch.Generator().manual_seed(0)
    return {"params": params, "train_step_6x512": bench_train_step(model, generator, args.train_reps),
            "train_step_6x512_bf16_products": bench_train_step(model, generator, args.train_reps, "bf16")}


def suite_grpo(args):
    group, prompt_len, new_tokens, beta = 6, 64, 128, 0.04
    policy, params = build_model("mini")
    reference, _ = build_model("mini")  # the same seed: a frozen copy of the initial policy
    reference.eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-6, weight_decay=0.0)
    generator = torch.Generator().manual_seed(2)
    prompts = torch.randint(0, VOCAB, (1, prompt_len), generator=generator).expand(group, prompt_len).contiguous()
    rollout_model = None
    if args.grpo_rollout_dtype == "bfloat16":
        rollout_model, _ = build_model("mini")
        rollout_model.to(torch.bfloat16).eval().requires_grad_(False)
    splits = []

    def grpo_step():
        s, t = {}, time.perf_counter()
        policy.eval()
        sampler = policy
        if rollout_model is not None:
            # TRL + vLLM's weight sync: the current weights copied into the bf16 rollout model.
            rollout_model.load_state_dict(policy.state_dict())
            sampler = rollout_model
        if args.grpo_gen == "hf":
            seqs = hf_generate(sampler, prompts, new_tokens)
        else:
            seqs = torch.cat([prompts, hand_generate(sampler, prompts, new_tokens, generator)[0]], 1)
        seqs = seqs.clone()  # an ordinary tensor (not an inference-mode one) that autograd can save
        s["generate"], t = time.perf_counter() - t, time.perf_counter()

        # Random weights never sample EOS, so every completion token counts; the rewards stand in
        # for the accuracy and format rewards.
        mask = torch.ones(group, new_tokens)
        rewards = torch.rand(group, generator=generator)
        advantages = (rewards - rewards.mean()) / (rewards.std() + 1e-4)
        # Scoring and training at the chosen product precision (grpo-bench --matmul-precision).
        torch.backends.mkldnn.matmul.fp32_precision = args.grpo_matmul_precision
        with torch.no_grad():
            ref_logprobs = completion_logprobs(reference, seqs, prompt_len)
        s["ref_logprobs"], t = time.perf_counter() - t, time.perf_counter()

        policy.train()
        logprobs = completion_logprobs(policy, seqs, prompt_len)
        delta = ref_logprobs - logprobs
        kl = delta.exp() - delta - 1.0  # k3 estimator of KL(policy || reference)
        per_token = -(logprobs - logprobs.detach()).exp() * advantages[:, None] + beta * kl
        loss = ((per_token * mask).sum(1) / mask.sum(1)).mean()
        s["policy_forward"], t = time.perf_counter() - t, time.perf_counter()

        loss.backward()
        torch.backends.mkldnn.matmul.fp32_precision = "ieee"
        s["backward"], t = time.perf_counter() - t, time.perf_counter()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        s["optimizer"] = time.perf_counter() - t
        s["total"] = sum(s.values())
        splits.append(s)

    step = timed("GRPO step", grpo_step, args.train_reps)
    median = {k: statistics.median(s[k] for s in splits[1:]) for k in splits[0]}
    training = sum(median[k] for k in ("ref_logprobs", "policy_forward", "backward", "optimizer"))
    return {"params": params, "group": group, "prompt_len": prompt_len, "new_tokens": new_tokens, "beta": beta,
            "generation_path": args.grpo_gen, "rollout_dtype": args.grpo_rollout_dtype,
            "matmul_precision": args.grpo_matmul_precision, "step": step, "split_median_s": median,
            "generation_share": median["generate"] / median["total"], "training_s": training,
            "completion_tokens_per_s_end_to_end": group * new_tokens / median["total"]}


def suite_lora15b(args):
    """grpo-memory-bench's step with PyTorch + transformers + PEFT: the 1.5b shapes (random init,
    seed 0) held in bfloat16 (Open-RS's torch_dtype), LoRA r 16 / alpha 32 / dropout 0.05 on all
    linear layers, 1 prompt of 64 tokens x 6 samples x 256 new tokens (HF generate, temperature
    0.7, top-p 0.95), reference log-probs with the adapters disabled (as TRL does with PEFT),
    policy log-probs with gradient checkpointing, k3 KL (beta 0.04), backward, AdamW on the
    adapters. Peak RSS is the kernel's VmHWM over the steps (reset after the setup)."""
    from peft import LoraConfig, get_peft_model
    import peft
    group, prompt_len, new_tokens, beta = 6, 64, args.lora_completion, 0.04
    torch.set_default_dtype(torch.bfloat16)  # build the base in bf16 directly (no fp32 copy)
    config = Qwen2Config(vocab_size=VOCAB, rms_norm_eps=1e-6, tie_word_embeddings=False, hidden_act="silu",
                         max_position_embeddings=4096, use_sliding_window=False, pad_token_id=0,
                         bos_token_id=None, eos_token_id=None,
                         rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **SHAPES["1.5b"])
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    base = Qwen2ForCausalLM(config)
    torch.set_default_dtype(torch.float32)
    base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    base.enable_input_require_grads()
    policy = get_peft_model(base, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                             task_type="CAUSAL_LM"))
    trainable = [p for p in policy.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-5, weight_decay=0.0)
    generator = torch.Generator().manual_seed(2)
    prompts = torch.randint(0, VOCAB, (1, prompt_len), generator=generator).expand(group, prompt_len).contiguous()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    splits = []

    def step():
        s, t = {}, time.perf_counter()
        policy.eval()
        with torch.no_grad():
            seqs = policy.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=new_tokens,
                                   min_new_tokens=new_tokens, do_sample=True, temperature=0.7, top_p=0.95)
        seqs = seqs.clone()
        s["generate"], t = time.perf_counter() - t, time.perf_counter()
        mask = torch.ones(group, new_tokens)
        rewards = torch.rand(group, generator=generator)
        advantages = (rewards - rewards.mean()) / (rewards.std() + 1e-4)
        with torch.no_grad(), policy.disable_adapter():
            ref_logprobs = completion_logprobs(policy, seqs, prompt_len).float()
        s["ref_logprobs"], t = time.perf_counter() - t, time.perf_counter()
        policy.train()
        logprobs = completion_logprobs(policy, seqs, prompt_len).float()
        delta = ref_logprobs - logprobs
        kl = delta.exp() - delta - 1.0
        per_token = -(logprobs - logprobs.detach()).exp() * advantages[:, None] + beta * kl
        loss = ((per_token * mask).sum() / mask.sum())
        s["policy_forward"], t = time.perf_counter() - t, time.perf_counter()
        loss.backward()
        s["backward"], t = time.perf_counter() - t, time.perf_counter()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        s["optimizer"] = time.perf_counter() - t
        s["total"] = sum(s.values())
        splits.append(s)
        log(f"  LoRA GRPO step: {s['total']:.1f} s (generate {s['generate']:.1f} s), VmHWM {vm_hwm_gib():.2f} GiB")

    for _ in range(args.train_reps):
        step()
    median = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
    return {"peft": peft.__version__, "group": group, "prompt_len": prompt_len, "new_tokens": new_tokens, "beta": beta,
            "base_dtype": "bfloat16", "lora": {"r": 16, "alpha": 32, "dropout": 0.05, "targets": "all-linear"},
            "trainable_params": sum(p.numel() for p in trainable), "steps": len(splits), "split_median_s": median,
            "step_peak_rss_gib": vm_hwm_gib()}


def vm_hwm_gib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return float("nan")


def suite_15b(args):
    start = time.perf_counter()
    model, params = build_model("1.5b")
    model.eval()
    res = {"params": params, "init_s": time.perf_counter() - start}
    ids = torch.randint(0, VOCAB, (1, 512), generator=torch.Generator().manual_seed(0))
    res.update(bench_prefill(model, ids, args.reps_15b,
                             {1: "prefill_1x512_last_logit", 0: "prefill_1x512_all_logits"}))
    res["decode_b1_p64_n32"] = bench_decode(model, 1, 64, 32, args.reps_15b)
    res["decode_b6_p64_n32"] = bench_decode(model, 6, 64, 32, args.reps_15b)
    gib = params * 4 / 2**30  # one fp32 copy of the parameters
    res["train_mem_estimate_gib"] = {"params": gib, "grads": gib, "adam_m_v": 2 * gib,
                                     "total_excl_activations": 4 * gib, "plus_reference_model_fp32": 5 * gib}
    return res


SUITES = {"gemm": suite_gemm, "mini": suite_mini, "train": suite_train, "grpo": suite_grpo, "1.5b": suite_15b, "lora15b": suite_lora15b}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--suite", action="append", choices=list(SUITES), help="repeatable; default: all")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--reps", type=int, default=5, help="timed runs of prefill and decode (mini)")
    parser.add_argument("--train-reps", type=int, default=3, help="timed train steps (mini) and GRPO steps")
    parser.add_argument("--reps-15b", type=int, default=3, help="timed runs of the 1.5b suite")
    parser.add_argument("--grpo-gen", choices=["hf", "hand"], default="hf",
                        help="GRPO generation with HF generate or the hand-written KV-cache loop")
    parser.add_argument("--grpo-rollout-dtype", choices=["float32", "bfloat16"], default="float32",
                        help="GRPO rollouts from the policy (float32) or a bf16 copy synced each step (grpo-bench --rollout-dtype)")
    parser.add_argument("--grpo-matmul-precision", choices=["ieee", "bf16"], default="ieee",
                        help="torch.backends.mkldnn.matmul.fp32_precision while the grpo suite scores and trains "
                             "(bf16: oneDNN's bf16 products, grpo-bench --matmul-precision bfloat16)")
    parser.add_argument("--lora-completion", type=int, default=256, help="new tokens per sample in lora15b (default 256)")
    parser.add_argument("--out", metavar="FILE", help="merge the results into this JSON file (keyed by suite)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    meta = {"torch": torch.__version__, "transformers": transformers.__version__,
            "threads": torch.get_num_threads(), "dtype": "float32",
            "blas": "MKL" if torch.backends.mkl.is_available() else "other",
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "env_OPENBLAS": {k: v for k, v in os.environ.items() if "OPENBLAS" in k}}
    results = {}
    for name in args.suite or [name for name in SUITES if name not in ("lora15b", "train")]:
        log(f"suite {name}")
        start = time.time()
        with ForeignCPU() as foreign:
            res = SUITES[name](args)
        res.update(peak_rss_gib=peak_rss_gib(), wall_s=time.time() - start,
                   foreign_cpu_frac=round(foreign.fraction, 3), meta=meta)
        log(f"suite {name}: {res['wall_s']:.1f} s, peak RSS {res['peak_rss_gib']:.2f} GiB")
        results[name] = res
        print(json.dumps({name: res}, indent=1), flush=True)

    if args.out:
        merged = {}
        if os.path.exists(args.out):
            with open(args.out) as f:
                merged = json.load(f)
        merged.update(results)
        with open(args.out, "w") as f:
            json.dump(merged, f, indent=1)


if __name__ == "__main__":
    main()
