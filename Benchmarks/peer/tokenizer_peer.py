#!/usr/bin/env python3
"""Peer for tokenizer-bench: Hugging Face `tokenizers` on the same text, same configuration.

    pip install tokenizers        # 0.23.x was used for shared/data/tokenizer/qwen2/encode_cases.jsonl
    python3 Benchmarks/peer/tokenizer_peer.py [--shared DIR] [--runs N] [--save DIR] [--tokenizer DIR]

The tokenizer is the DeepSeek-R1-Distill-Qwen-1.5B one, configured as in
shared/tools/make_tokenizer_cases.py (NFC, Qwen2 Split regex + ByteLevel, BPE from
shared/data/tokenizer/qwen2, the 22 added tokens, BOS post-processor). Each problem of
shared/data/eval/*.jsonl is encoded with add_special_tokens=False, one call per problem on one
thread (as tokenizer-bench does), and also with encode_batch (all of the machine's threads).
--save DIR writes the tokenizer.json, which `tokenizer-bench --tokenizer DIR` can load;
--tokenizer DIR measures the tokenizer.json in DIR instead (e.g. one `tokenizer-bench --save DIR` wrote).
"""
import argparse
import json
import os
import statistics
import time

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

QWEN2_PAT = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
BOS = "<｜begin▁of▁sentence｜>"
ADDED = [
    (151643, "<｜end▁of▁sentence｜>", True), (151644, "<｜User｜>", False), (151645, "<｜Assistant｜>", False),
    (151646, BOS, True), (151647, "<|EOT|>", False), (151648, "<think>", False), (151649, "</think>", False),
    (151650, "<|quad_start|>", True), (151651, "<|quad_end|>", True), (151652, "<|vision_start|>", True),
    (151653, "<|vision_end|>", True), (151654, "<|vision_pad|>", True), (151655, "<|image_pad|>", True),
    (151656, "<|video_pad|>", True), (151657, "<tool_call>", False), (151658, "</tool_call>", False),
    (151659, "<|fim_prefix|>", False), (151660, "<|fim_middle|>", False), (151661, "<|fim_suffix|>", False),
    (151662, "<|fim_pad|>", False), (151663, "<|repo_name|>", False), (151664, "<|file_sep|>", False),
]


def build(shared):
    tokdir = os.path.join(shared, "data", "tokenizer", "qwen2")
    vocab = json.load(open(os.path.join(tokdir, "vocab.json"), encoding="utf-8"))
    merges = []
    with open(os.path.join(tokdir, "merges.txt"), encoding="utf-8") as f:
        for i, line in enumerate(f):
            line = line.rstrip("\n")
            if line and not (i == 0 and line.startswith("#version")):
                a, b = line.split(" ")
                merges.append((a, b))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False, ignore_merges=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PAT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    for tid, content, special in ADDED:
        token = AddedToken(content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=special)
        (tok.add_special_tokens if special else tok.add_tokens)([token])
        assert tok.token_to_id(content) == tid
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, 151646)])
    return tok


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=os.environ.get("RL_SHARED_DIR", os.path.join(here, "..", "..", "..", "shared")))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--save")
    parser.add_argument("--tokenizer")
    args = parser.parse_args()

    import tokenizers
    start = time.perf_counter()
    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json")) if args.tokenizer else build(args.shared)
    load_ms = (time.perf_counter() - start) * 1000
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        tok.save(os.path.join(args.save, "tokenizer.json"))

    evaldir = os.path.join(args.shared, "data", "eval")
    files = []
    for name in sorted(n for n in os.listdir(evaldir) if n.endswith(".jsonl")):
        with open(os.path.join(evaldir, name), encoding="utf-8") as f:
            files.append((name, [json.loads(line)["problem"] for line in f if line.strip()]))
    files.append(("all", [t for _, texts in files for t in texts]))

    print(f"tokenizer_peer: tokenizers {tokenizers.__version__} encode (add_special_tokens=False), median of {args.runs} runs")
    print(f"tokenizer build: {load_ms:.0f} ms")
    print()
    print("| text | problems | MB | tokens | first run MB/s | median MB/s | median Mtokens/s | encode_batch MB/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, texts in files:
        nbytes = sum(len(t.encode("utf-8")) for t in texts)
        times, batch_times, ntokens = [], [], 0
        for run in range(args.runs + 1):
            t0 = time.perf_counter()
            count = 0
            for text in texts:
                count += len(tok.encode(text, add_special_tokens=False).ids)
            times.append(time.perf_counter() - t0)
            if run == 0:
                ntokens = count
            t0 = time.perf_counter()
            tok.encode_batch(texts, add_special_tokens=False)
            batch_times.append(time.perf_counter() - t0)
        mb = nbytes / 1e6
        med = statistics.median(times[1:])
        print(f"| {name:<20} | {len(texts)} | {mb:.3f} | {ntokens} | {mb / times[0]:.2f} | {mb / med:.2f} | "
              f"{ntokens / med / 1e6:.3f} | {mb / statistics.median(batch_times[1:]):.2f} |")


if __name__ == "__main__":
    main()
