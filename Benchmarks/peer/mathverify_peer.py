#!/usr/bin/env python3
"""Peer measurement: math-verify 0.9.0 on the same data as math-bench (not a test dependency).

Uses the Open-RS accuracy-reward configuration (docs/openrs-reference.md §1.5): gold parsed with the
default LatexExtractionConfig (a bare gold wrapped as \\boxed{gold}), completion parsed with
boxed_match_priority=0, try_extract_without_anchor=False, normalization (nits off, malformed
operators off, basic_latex, boxed="all", units on; equations is deprecated in 0.9.0), first_match.

    pip install math-verify==0.9.0
    python3 Benchmarks/peer/mathverify_peer.py [rounds] [--json]

The data are the repository's: the hand-labelled checker cases Tests/Fixtures/checker/dev_cases.jsonl
and the MATH-500 reference solutions Data/eval/math500.jsonl.
"""
import json, sys, time
from pathlib import Path

from latex2sympy2_extended import NormalizationConfig
from math_verify import LatexExtractionConfig, parse, verify

ROOT = Path(__file__).resolve().parents[2]  # the repository

ANSWER_CONFIG = [LatexExtractionConfig(
    normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
                                             boxed="all", units=True),
    boxed_match_priority=0, try_extract_without_anchor=False)]


def check(gold, completion):
    gold_text = gold if "\\boxed" in gold else "\\boxed{" + gold + "}"
    parsed_gold = parse(gold_text, extraction_mode="first_match", extraction_config=[LatexExtractionConfig()])
    if len(parsed_gold) == 0:
        return True  # Open-RS rewards an unparseable gold with 1.0
    answer = parse(completion, extraction_mode="first_match", extraction_config=ANSWER_CONFIG)
    try:
        return bool(verify(answer, parsed_gold))
    except Exception:
        return False


def load(path):
    with open(ROOT / path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def measure(name, items, rounds):
    right = sum(check(g, c) == e for g, c, e in items)
    latencies = []
    start, cpu_start = time.perf_counter(), time.thread_time()
    max_wall = 0.0
    for _ in range(rounds):
        for g, c, _ in items:
            t, tc = time.perf_counter(), time.thread_time()
            check(g, c)
            latencies.append((time.thread_time() - tc) * 1e6)
            max_wall = max(max_wall, (time.perf_counter() - t) * 1e6)
    total, cpu_total = time.perf_counter() - start, time.thread_time() - cpu_start
    latencies.sort()
    pct = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))]
    print(f"| {name} | {len(items)} | {right} | {len(latencies) / cpu_total:.0f} | {pct(0.5):.1f} | {pct(0.99):.1f} "
          f"| {latencies[-1]:.1f} | {len(latencies) / total:.0f} | {max_wall:.1f} |")
    return {"cases": len(items), "right": right, "per_second_cpu": len(latencies) / cpu_total,
            "per_second_wall": len(latencies) / total, "p99_us": pct(0.99)}


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--json"]
    rounds = int(args[0]) if args else 1
    dev = [(r["gold"], r["answer"], r["expected"]) for r in load("Tests/Fixtures/checker/dev_cases.jsonl")]
    math500 = [(r["answer"], r["solution"], True) for r in load("Data/eval/math500.jsonl")]
    print(f"math-verify 0.9.0 (Open-RS reward config), {rounds} round(s), one thread")
    print("Latencies are thread CPU time; the wall-clock columns include time the OS gave to other processes.")
    print("| dataset | cases | right | verifications/s (CPU) | p50 µs | p99 µs | max µs | verifications/s (wall) | max wall µs |")
    print("|---|---|---|---|---|---|---|---|---|")
    results = {"dev_cases": measure("dev_cases", dev, rounds),
               "MATH-500 solutions": measure("MATH-500 solutions", math500, rounds)}
    if "--json" in sys.argv[1:]:  # one machine-readable line last, for math-bench --peer
        print(json.dumps(results))
