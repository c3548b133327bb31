#!/usr/bin/env python3
"""Peer for tokenizer-bench: Hugging Face `tokenizers` on the same text, same configuration.

    pip install tokenizers transformers   # tokenizers 0.23.x made Tests/Fixtures/tokenizer/qwen2/encode_cases.jsonl
    python3 Benchmarks/peer/tokenizer_peer.py [--runs N] [--save DIR] [--tokenizer DIR] [--eval-dir DIR]

The tokenizer is the DeepSeek-R1-Distill-Qwen-1.5B one, assembled by assemble_tokenizer() of
tools/fixtures/make_tokenizer_cases.py (NFC, Qwen2 Split regex + ByteLevel, BPE from
Tests/Fixtures/tokenizer/qwen2, the 22 added tokens, BOS post-processor), the one the encode
cases were made with. Each problem of Data/eval/*.jsonl (--eval-dir) is encoded with
add_special_tokens=False, one call per problem on one thread (as tokenizer-bench does), and also
with encode_batch (all of the machine's threads).
--save DIR writes the tokenizer.json, which `tokenizer-bench --tokenizer DIR` can load;
--tokenizer DIR measures the tokenizer.json in DIR instead (e.g. one `tokenizer-bench --save DIR` wrote).
"""
import argparse
import json
import os
import statistics
import sys
import time

import tokenizers

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repository
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
from make_tokenizer_cases import assemble_tokenizer  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval-dir", default=os.path.join(ROOT, "Data", "eval"),
                        help="folder of the benchmark *.jsonl files (default: the repository's Data/eval)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--save")
    parser.add_argument("--tokenizer")
    args = parser.parse_args()

    start = time.perf_counter()
    if args.tokenizer:
        tok = tokenizers.Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    else:
        tok = assemble_tokenizer()
    load_ms = (time.perf_counter() - start) * 1000
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        tok.save(os.path.join(args.save, "tokenizer.json"))

    files = []
    for name in sorted(n for n in os.listdir(args.eval_dir) if n.endswith(".jsonl")):
        with open(os.path.join(args.eval_dir, name), encoding="utf-8") as f:
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
