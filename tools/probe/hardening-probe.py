#!/usr/bin/env python3
"""Hardening probe for the five executables (issue 17).

Runs the release builds of grpo-train, evaluate, lm, check-answer and tiny-grpo against several
hundred hostile inputs (corrupt model folders, recipes, chat templates, datasets, task files, CLI
values, concurrent and killed runs) made from the tiny fixtures in Tests/Fixtures, and classifies
every outcome:

  refusal      non-zero exit, a short clear message, no signal, no runtime trap text, no raw dump
  success      exit 0 where success is right, the output checked to be sane (finite weights, ...)
  TRAP         killed by a signal, or Swift runtime trap text (Fatal error, precondition, ...)
  HANG         still running after the timeout (killed)
  SILENT LOSS  exit 0 with a broken, NaN or empty result, or exit 0 where an error was due
  UNCLEAR      non-zero exit with a raw dump (CocoaError, EncodingError, ...) or a multi-screen message

Usage (from the package root):
    python3 tools/probe/hardening-probe.py [--bin-dir .build/release] [--no-build]
        [--report Benchmarks/results/hardening-probe.md] [--only SUBSTRING] [--timeout 60]

Python 3 standard library only. It is a tool, not a test dependency.
"""

import argparse
import array
import datetime
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURE = os.path.join(ROOT, "Tests", "Fixtures", "qwen2-tiny")
OPENRS = os.path.join(ROOT, "recipes", "openrs-grpo.yaml")

REFUSAL, SUCCESS, TRAP, HANG, SILENT, UNCLEAR = "refusal", "success", "TRAP", "HANG", "SILENT LOSS", "UNCLEAR"
CLASSES = [REFUSAL, SUCCESS, TRAP, HANG, SILENT, UNCLEAR]
EITHER = (REFUSAL, SUCCESS)

TRAP_TEXT = re.compile(r"Fatal error|[Pp]recondition failed|Assertion failed|Swift/\w+\.swift:\d+|Stack dump|"
                       r"Current stack trace|Segmentation fault|Illegal instruction|\*\*\* Signal \d|"
                       r"^\s*\d+\s+0x[0-9a-f]{6,}|Unexpectedly found nil|Aborted \(core|💣|Program crashed")
DUMP_TEXT = re.compile(r"CocoaError|NSCocoaErrorDomain|NSUnderlyingError|EncodingError|DecodingError|userInfo:|"
                       r"Swift\.\w*Error\(|Optional\(|NSError|_GenericObjCError")

BINARIES = ["grpo-train", "evaluate", "lm", "check-answer", "tiny-grpo"]


# ---------------------------------------------------------------------------------------------
# Material: the tiny model folder, tokenizer, dataset, recipe
# ---------------------------------------------------------------------------------------------

def byte_level_alphabet():
    result, following = [], 256
    for b in range(256):
        printable = 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF
        if printable:
            result.append(chr(b))
        else:
            result.append(chr(following))
            following += 1
    return result


QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                 r"\s*[\r\n]+|\s+(?!\S)|\s+")
ADDED = ["<|end|>", "<|user|>", "<|assistant|>", "<think>", "</think>"]
TEMPLATE = ("{% for m in messages %}{% if m['role'] == 'user' %}<|user|>{{ m['content'] }}{% endif %}{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|><think>\n{% endif %}")


def tokenizer_files(template=TEMPLATE, extra_added=()):
    """tokenizer.json and tokenizer_config.json like the tests' fixtureTokenizer()."""
    added = [(256 + i, t, i == 0) for i, t in enumerate(ADDED)] + list(extra_added)
    flags = lambda t, s: {"content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": s}
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tok = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [dict(id=i, **flags(t, s)) for i, t, s in added],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            byte_level]},
        "post_processor": byte_level, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(byte_level_alphabet())}, "merges": []},
    }
    config = {"added_tokens_decoder": {str(i): flags(t, s) for i, t, s in added},
              "clean_up_tokenization_spaces": False, "eos_token": "<|end|>", "pad_token": "<|end|>",
              "tokenizer_class": "PreTrainedTokenizerFast"}
    if template is not None:
        config["chat_template"] = template
    return json.dumps(tok, indent=2, ensure_ascii=False), json.dumps(config, indent=2, ensure_ascii=False)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    return header, data[8 + n:]


def write_safetensors(path, tensors):
    """tensors: {name: (dtype, shape, bytes)}"""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load_tensors(path):
    header, body = read_safetensors(path)
    return {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items() if k != "__metadata__"}


def nonfinite_in_safetensors(path):
    """The name of the first tensor holding a non-finite value, or None."""
    header, body = read_safetensors(path)
    for name, v in header.items():
        if name == "__metadata__":
            continue
        blob = body[v["data_offsets"][0]:v["data_offsets"][1]]
        if v["dtype"] == "F32":
            values = array.array("I")
            values.frombytes(blob[: len(blob) // 4 * 4])
            if any((x & 0x7F800000) == 0x7F800000 for x in values):
                return name
        elif v["dtype"] in ("BF16", "F16"):
            mask = 0x7F80 if v["dtype"] == "BF16" else 0x7C00
            values = array.array("H")
            values.frombytes(blob[: len(blob) // 2 * 2])
            if any((x & mask) == mask for x in values):
                return name
    return None


class Material:
    def __init__(self, root):
        self.root = root
        self.model = self.make_model("model")
        self.train = os.path.join(root, "train.jsonl")
        write_lines(self.train, [json.dumps({"problem": f"What is {i} + 2?", "answer": str(i + 2)}) for i in range(12)])
        self.train2 = os.path.join(root, "train2.jsonl")
        write_lines(self.train2, [json.dumps({"problem": f"What is {i} * 3?", "answer": str(i * 3)}) for i in range(12)])
        self.task = os.path.join(root, "task.jsonl")
        write_lines(self.task, [json.dumps({"id": str(i), "problem": f"What is {i} + 1?", "answer": str(i + 1)})
                                for i in range(3)])
        with open(OPENRS) as f:
            self.openrs = f.read()
        self.recipe_text = recipe(self.openrs, {})
        self.recipe = os.path.join(root, "recipe.yaml")
        write(self.recipe, self.recipe_text)
        self.counter = 0

    def fresh(self, name):
        self.counter += 1
        path = os.path.join(self.root, f"p{self.counter:04d}-{re.sub(r'[^A-Za-z0-9]+', '-', name)[:40]}")
        os.makedirs(path)
        return path

    def make_model(self, name, config=None, generation=None, template=TEMPLATE, extra_added=(),
                   tokenizer_json=None, tokenizer_config=None, weights=None, omit=()):
        folder = os.path.join(self.root, name) if not os.path.isabs(name) else name
        os.makedirs(folder, exist_ok=True)
        cfg = json.load(open(os.path.join(FIXTURE, "config.json")))
        if config:
            cfg.update(config)
        gen = json.load(open(os.path.join(FIXTURE, "generation_config.json")))
        if generation:
            gen.update(generation)
        tok, tok_config = tokenizer_files(template, extra_added)
        files = {"config.json": config_text(cfg), "generation_config.json": config_text(gen),
                 "tokenizer.json": tokenizer_json if tokenizer_json is not None else tok,
                 "tokenizer_config.json": tokenizer_config if tokenizer_config is not None else tok_config}
        for file, text in files.items():
            if file not in omit:
                write(os.path.join(folder, file), text)
        if "model.safetensors" not in omit:
            target = os.path.join(folder, "model.safetensors")
            if weights is None:
                shutil.copyfile(os.path.join(FIXTURE, "model.safetensors"), target)
            elif isinstance(weights, bytes):
                with open(target, "wb") as f:
                    f.write(weights)
            else:
                write_safetensors(target, weights)
        return folder


def config_text(cfg):
    # Python writes NaN/Infinity for float("nan")/inf: that is the point for some probes.
    return json.dumps(cfg, indent=2)


def write(path, text):
    with open(path, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)


def write_lines(path, lines):
    write(path, "\n".join(lines) + "\n")


TINY = {"max_steps": "2", "num_generations": "2", "per_device_train_batch_size": "2",
        "per_device_eval_batch_size": "2", "gradient_accumulation_steps": "1", "max_prompt_length": "48",
        "max_completion_length": "6", "save_steps": "2", "learning_rate": "1.0e-3", "system_prompt": "null",
        "seed": "7", "warmup_ratio": "0.25", "overwrite_output_dir": "false"}


def recipe(base, changes):
    """The Open-RS recipe made tiny (TINY), then `changes` applied (key -> YAML text, None deletes)."""
    merged = dict(TINY)
    merged.update(changes)
    lines, done, skipping = [], set(), False
    for line in base.splitlines():
        if skipping and (line.startswith("-") or line.startswith(" ")):
            continue  # the block value of a replaced key
        skipping = False
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", line)
        if m and m.group(1) in merged:
            key = m.group(1)
            done.add(key)
            skipping = True
            if merged[key] is not None:
                lines.append(f"{key}: {merged[key]}")
            continue
        lines.append(line)
    for key, value in merged.items():
        if key not in done and value is not None:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Running and classifying
# ---------------------------------------------------------------------------------------------

class Result:
    def __init__(self, rc, out, err, seconds, timed_out):
        self.rc, self.out, self.err, self.seconds, self.timed_out = rc, out, err, seconds, timed_out


def limit_memory():
    os.setsid()
    gib = 8 << 30
    resource.setrlimit(resource.RLIMIT_AS, (gib, gib))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def execute(cmd, timeout, stdin=None, cwd=None, env=None):
    started = time.time()
    stdin_arg = subprocess.DEVNULL
    if isinstance(stdin, int):
        stdin_arg = stdin
    elif stdin is not None:
        stdin_arg = subprocess.PIPE
    process = subprocess.Popen(cmd, stdin=stdin_arg, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd,
                               env=env, preexec_fn=limit_memory)
    timed_out = False
    try:
        out, err = process.communicate(input=stdin if isinstance(stdin, bytes) else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = process.communicate()
    return Result(process.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                  time.time() - started, timed_out)


def message_of(err):
    lines = [l.strip() for l in re.split(r"[\r\n]+", err) if l.strip()]
    for line in lines:
        if line.startswith("Error:") or line.startswith("error:"):
            return line
    return lines[-1] if lines else ""


def classify(result, check=None):
    """(class, detail)"""
    if result.timed_out:
        return HANG, f"still running after {result.seconds:.0f} s"
    if result.rc < 0:
        return TRAP, f"killed by {signal.Signals(-result.rc).name}: " + excerpt(result.err)
    text = result.err + "\n" + result.out
    m = TRAP_TEXT.search(text)
    if m:
        return TRAP, excerpt(text[max(0, m.start() - 100):])
    if result.rc == 0:
        problem = check(result) if check else None
        if problem:
            return SILENT, problem
        return SUCCESS, ""
    message = message_of(result.err) or message_of(result.out)
    if DUMP_TEXT.search(result.err):
        return UNCLEAR, "raw dump: " + excerpt(DUMP_TEXT.search(result.err).string[DUMP_TEXT.search(result.err).start() - 80:])
    if not message:
        return UNCLEAR, f"exit {result.rc} with no message"
    if len(message) > 600:
        return UNCLEAR, f"a {len(message)}-character message: " + excerpt(message)
    error_lines = [l for l in result.err.splitlines() if l.strip()]
    if result.rc != 0 and len(result.err) > 12000 and not result.err.rstrip().endswith(message):
        return UNCLEAR, f"{len(error_lines)} lines on stderr"
    return REFUSAL, message


def excerpt(text, n=220):
    text = " ".join(text.split())
    return text[:n] + ("…" if len(text) > n else "")


class Probe:
    def __init__(self, group, name, cmd, expected, check=None, stdin=None, timeout=None, prepare=None,
                 custom=None, needle=None, long_ok=False):
        self.group, self.name, self.cmd, self.expected = group, name, cmd, expected
        self.check, self.stdin, self.timeout, self.prepare, self.custom = check, stdin, timeout, prepare, custom
        self.needle = needle  # text the refusal must contain (case-insensitive), when given
        # A value that legitimately asks for a very long run (max_steps 2^63-1): a timeout with
        # progress on the way counts as success.
        self.long_ok = long_ok
        self.observed, self.detail, self.seconds, self.command_text = None, "", 0.0, ""


def short_command(cmd, material):
    text = " ".join(quote(c) for c in cmd)
    text = text.replace(material.root + "/", "$T/").replace(ROOT + "/", "")
    return text if len(text) < 260 else text[:257] + "…"


def quote(c):
    return c if re.fullmatch(r"[A-Za-z0-9_./:=,+@-]+", c) else "'" + c.replace("'", "'\\''")[:80] + ("…'" if len(c) > 80 else "'")


# ---------------------------------------------------------------------------------------------
# Output checks (what a success must look like)
# ---------------------------------------------------------------------------------------------

def metrics_steps(output):
    path = os.path.join(output, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    steps = []
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.strip():
            try:
                steps.append(json.loads(line).get("step"))
            except ValueError:
                return "bad"
    return steps


def checkpoints(output):
    names = [n for n in os.listdir(output) if re.fullmatch(r"checkpoint-\d+", n)] if os.path.isdir(output) else []
    return sorted(names, key=lambda n: int(n.split("-")[1]))


def training_check(output, steps=None):
    def check(result):
        found = metrics_steps(output)
        if found is None or found == [] or found == "bad":
            return f"exit 0 but metrics.jsonl is {'missing' if found is None else 'empty' if found == [] else 'unreadable'}"
        if steps is not None and len(found) < steps:
            return f"exit 0 but metrics.jsonl has {len(found)} of {steps} steps"
        rows = [json.loads(l) for l in open(os.path.join(output, "metrics.jsonl")) if l.strip()]
        if rows and all(r.get("skipped") for r in rows):
            return f"exit 0 but every step ({len(rows)}) was skipped (non-finite loss or gradient): nothing was trained"
        names = checkpoints(output)
        if not names:
            return "exit 0 but no checkpoint"
        for name in names:
            folder = os.path.join(output, name)
            weights = [f for f in os.listdir(folder) if f.endswith(".safetensors") and "optimizer" not in f]
            if not weights:
                return f"exit 0 but {name} has no weights"
            for w in weights:
                bad = nonfinite_in_safetensors(os.path.join(folder, w))
                if bad:
                    return f"exit 0 but {name}/{w} holds non-finite values ({bad})"
        return None
    return check


def plan_check(result):
    if not result.out.strip():
        return "exit 0 with no plan printed"
    if re.search(r"\bnan\b|\binf\b|-\d+(\.\d+)? ?[GMK]i?B", result.out, re.I):
        return "the plan shows nan/inf/negative sizes: " + excerpt(result.out)
    return None


def lm_json_check(result):
    try:
        value = json.loads(result.out)
    except ValueError:
        return "exit 0 but the --json output does not parse: " + excerpt(result.out)
    text = json.dumps(value)
    if "NaN" in text or "Infinity" in text or "\\u0000" in text:
        return "exit 0 with NaN/Infinity/NUL in the output: " + excerpt(text)
    return None


def lm_text_check(result):
    if "\x00" in result.out:
        return "exit 0 with NUL bytes in the output"
    if re.search(r"\bnan\b|\binf\b", result.out, re.I):
        return "exit 0 with nan/inf in the output: " + excerpt(result.out)
    return None


def evaluate_check(output):
    def check(result):
        path = os.path.join(output, "summary.json")
        if not os.path.exists(path):
            return "exit 0 but no summary.json"
        text = open(path, encoding="utf-8", errors="replace").read()
        if re.search(r"\bNaN\b|\bnan\b|Infinity", text):
            return "exit 0 but summary.json holds NaN: " + excerpt(text)
        records = [f for f in os.listdir(output) if f.endswith(".jsonl")]
        if not records:
            return "exit 0 but no completion records"
        for f in records:
            data = open(os.path.join(output, f), "rb").read()
            if not data.strip():
                return f"exit 0 but {f} is empty"
            if b"\\u0000" in data or b"\x00" in data:
                return f"exit 0 but {f} holds NUL characters"
        return None
    return check


def check_answer_check(expect_correct=None):
    def check(result):
        if not result.out.strip():
            return "exit 0 with no output"
        if expect_correct is not None and f"correct: {str(expect_correct).lower()}" not in result.out:
            return f"verdict is not correct={expect_correct}: " + excerpt(result.out)
        return None
    return check


def jsonl_verdicts_check(count):
    def check(result):
        lines = [l for l in result.out.splitlines() if l.strip()]
        if len(lines) != count:
            return f"exit 0 with {len(lines)} verdict lines for {count} inputs"
        return None
    return check


def tiny_grpo_check(output):
    def check(result):
        path = os.path.join(output, "summary.json")
        if not os.path.exists(path):
            return "exit 0 but no summary.json"
        text = open(path).read()
        if re.search(r"\bNaN\b|\bnan\b|Infinity", text):
            return "exit 0 but summary.json holds NaN"
        for dirpath, _, files in os.walk(output):
            for f in files:
                if f.endswith(".safetensors") and "optimizer" not in f:
                    bad = nonfinite_in_safetensors(os.path.join(dirpath, f))
                    if bad:
                        return f"exit 0 but {os.path.relpath(os.path.join(dirpath, f), output)} holds non-finite values ({bad})"
        return None
    return check


# ---------------------------------------------------------------------------------------------
# The probes
# ---------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, material, bins, rng):
        self.m, self.bins, self.rng = material, bins, rng
        self.probes = []

    def add(self, *args, **kwargs):
        self.probes.append(Probe(*args, **kwargs))

    # --- command helpers -------------------------------------------------------------------

    def train(self, group, name, expected, changes=None, model=None, dataset=None, extra=(), output=None,
              recipe_text=None, steps=2, needle=None, timeout=None, prepare=None, long_ok=False):
        folder = self.m.fresh(name)
        recipe_path = os.path.join(folder, "recipe.yaml")
        write(recipe_path, recipe_text if recipe_text is not None else recipe(self.m.openrs, changes or {}))
        out = output or os.path.join(folder, "out")
        cmd = [self.bins["grpo-train"], "--recipe", recipe_path, "--model", model or self.m.model,
               "--dataset", dataset or self.m.train, "--output", out] + list(extra)
        self.add(group, name, cmd, expected, check=training_check(out, steps), needle=needle, timeout=timeout,
                 prepare=prepare, long_ok=long_ok)

    def lm(self, group, name, expected, model, sub="generate", extra=None, check=None, needle=None, stdin=None):
        if extra is None:
            extra = {"generate": ["--prompt", "What is 1 + 1?", "--max-new-tokens", "4", "--greedy", "--json"],
                     "score": ["--ids", "1,2,3,4"], "tokenize": ["--text", "hello 12"]}[sub]
        if check is None and sub == "generate" and "--json" in extra:
            check = lm_json_check
        elif check is None:
            check = lm_text_check
        self.add(group, name, [self.bins["lm"], sub, "--model", model] + list(extra), expected, check=check,
                 needle=needle, stdin=stdin)

    def evaluate(self, group, name, expected, model=None, tasks=None, extra=(), output=None, needle=None):
        folder = self.m.fresh(name)
        out = output or os.path.join(folder, "out")
        cmd = [self.bins["evaluate"], "--model", model or self.m.model, "--tasks", tasks or self.m.task,
               "--limit", "2", "--max-new-tokens", "4", "--weight-type", "f32", "--temperature", "0",
               "--batch-size", "2", "--prompt", "raw", "--output", out] + list(extra)
        self.add(group, name, cmd, expected, check=evaluate_check(out), needle=needle)

    def tiny(self, group, name, expected, extra, needle=None, timeout=None, long_ok=False):
        folder = self.m.fresh(name)
        out = os.path.join(folder, "out")
        cmd = [self.bins["tiny-grpo"], "--output", out] + list(extra)
        self.add(group, name, cmd, expected, check=tiny_grpo_check(out), needle=needle, timeout=timeout, long_ok=long_ok)

    def model_variant(self, name, **kwargs):
        return self.m.make_model(self.m.fresh(name), **kwargs)

    # --- the repros, item by item ------------------------------------------------------

    def item1(self):
        g = "1 weights destroyed"
        for key, value in [("adam_epsilon", "0"), ("adam_beta1", "1"), ("adam_beta2", "1"), ("learning_rate", "1.0e+38"),
                           ("cosine_max_len", "0")]:
            self.train(g, f"recipe {key}: {value}", (REFUSAL,), {key: value}, needle=key)
        # Values that pass validation but can blow the weights up: a clean stop or finite weights.
        for value in ["1.0e+10", "1.0e+20", "1.0e+30"]:
            self.train(g, f"recipe learning_rate: {value} (large, valid)", EITHER, {"learning_rate": value})
        self.train(g, "recipe adam_beta2 0.9999999 adam_epsilon 1e-30", EITHER,
                   {"adam_beta2": "0.9999999", "adam_epsilon": "1.0e-30"})
        tensors = load_tensors(os.path.join(FIXTURE, "model.safetensors"))
        nan_weights = {k: (d, s, struct.pack("<f", math.nan) * (len(b) // 4) if d == "F32" else b)
                       for k, (d, s, b) in tensors.items()}
        nan_model = self.model_variant("nan-model", weights=nan_weights)
        self.train(g, "NaN model from the start (grpo-train)", (REFUSAL,), model=nan_model)
        self.lm(g, "NaN model from the start (lm generate)", (REFUSAL,), nan_model)
        self.lm(g, "NaN model from the start (lm score)", (REFUSAL,), nan_model, sub="score")
        self.evaluate(g, "NaN model from the start (evaluate)", (REFUSAL,), model=nan_model)
        one_nan = dict(tensors)
        d, s, b = one_nan["model.norm.weight"]
        one_nan["model.norm.weight"] = (d, s, struct.pack("<f", math.inf) + b[4:])
        inf_model = self.model_variant("inf-model", weights=one_nan)
        self.train(g, "one Inf weight (grpo-train)", (REFUSAL,), model=inf_model)
        self.lm(g, "one Inf weight (lm generate)", (REFUSAL,), inf_model)

    def item2(self):
        g = "2 one writer"
        base = self.m.fresh("concurrent")
        out = os.path.join(base, "out")
        cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
               "--output", out, "--max_steps", "4"]
        self.add(g, "two concurrent grpo-train runs on one --output", cmd, (REFUSAL,), custom=self.concurrent(out))
        used = self.m.fresh("used")
        used_out = os.path.join(used, "out")
        cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
               "--output", used_out]
        self.add(g, "a new run into a used --output", cmd, (REFUSAL,), prepare=self.trained_into(used_out),
                 needle="overwrite_output_dir")
        used2 = os.path.join(self.m.fresh("used-overwrite"), "out")
        self.add(g, "a new run into a used --output with --overwrite_output_dir true",
                 cmd[:-1] + [used2, "--overwrite_output_dir", "true"], (SUCCESS,), prepare=self.trained_into(used2, steps=4),
                 check=self.overwrite_check(used2))
        # A folder that is a file, an unwritable place.
        afile = os.path.join(self.m.root, "a-file")
        write(afile, "x")
        self.train(g, "--output under a regular file", (REFUSAL,), output=os.path.join(afile, "out"))
        self.train(g, "--output is a regular file", (REFUSAL,), output=afile)
        self.train(g, "--output in /proc", (REFUSAL,), output="/proc/self/probe-out")
        self.train(g, "--output is /dev/null", (REFUSAL,), output="/dev/null")

    def overwrite_check(self, out):
        training = training_check(out, 2)

        def check(result):
            problem = training(result)
            if problem:
                return problem
            names = checkpoints(out)
            if "checkpoint-4" in names:
                return "the old run's checkpoint-4 survived an overwrite (a later --resume would pick it up)"
            return None
        return check

    def trained_into(self, out, steps=2, model=None, dataset=None):
        def prepare():
            r = execute([self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", model or self.m.model,
                         "--dataset", dataset or self.m.train, "--output", out, "--max_steps", str(steps)], 180)
            if r.rc != 0:
                raise RuntimeError("preparing a trained folder failed: " + excerpt(r.err, 400))
        return prepare

    def concurrent(self, out):
        def run(probe):
            env = None
            procs = []
            for _ in range(2):
                procs.append(subprocess.Popen(probe.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              preexec_fn=limit_memory, env=env))
            results = []
            for p in procs:
                try:
                    o, e = p.communicate(timeout=probe.timeout)
                    results.append(Result(p.returncode, o.decode(errors="replace"), e.decode(errors="replace"), 0, False))
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    o, e = p.communicate()
                    results.append(Result(p.returncode, o.decode(errors="replace"), e.decode(errors="replace"), 0, True))
            classes = [classify(r, training_check(out, 4)) for r in results]
            kinds = sorted(c for c, _ in classes)
            if kinds == [REFUSAL, SUCCESS]:
                refusal = [d for c, d in classes if c == REFUSAL][0]
                return REFUSAL, refusal
            bad = [(c, d) for c, d in classes if c not in (REFUSAL, SUCCESS)]
            if bad:
                return bad[0]
            return SILENT, f"both runs ended {kinds} on one folder"
        return run

    def item3(self):
        g = "3 resume"
        tensors = load_tensors(os.path.join(FIXTURE, "model.safetensors"))
        cfg = json.load(open(os.path.join(FIXTURE, "config.json")))
        more = dict(tensors)
        for k, v in tensors.items():
            if k.startswith("model.layers.1."):
                more[k.replace("model.layers.1.", "model.layers.2.")] = v
        more_model = self.model_variant("three-layers", weights=more,
                                        config={"num_hidden_layers": 3, "layer_types": ["full_attention"] * 3})
        fewer = {k: v for k, v in tensors.items() if not k.startswith("model.layers.1.")}
        fewer_model = self.model_variant("one-layer", weights=fewer,
                                         config={"num_hidden_layers": 1, "layer_types": ["full_attention"]})
        flipped = dict(tensors)
        d, s, b = flipped["lm_head.weight"]
        flipped["lm_head.weight"] = (d, s, bytes(x ^ 0x80 if i % 4 == 3 else x for i, x in enumerate(b)))
        other_model = self.model_variant("other-weights", weights=flipped)
        cases = [("a model with more layers", ["--model", more_model], "model"),
                 ("a model with fewer layers", ["--model", fewer_model], "model"),
                 ("a model with other weights, same shapes", ["--model", other_model], "model"),
                 ("a changed learning rate", ["--learning_rate", "0.5"], "learning_rate"),
                 ("a changed num_generations", ["--num_generations", "3", "--per_device_train_batch_size", "3"], "num_generations"),
                 ("a changed dataset", ["--dataset", self.m.train2], "dataset"),
                 ("a changed seed", ["--seed", "8"], "seed"),
                 ("a changed beta", ["--beta", "0.5"], "beta"),
                 ("a changed loss_type", ["--loss_type", "dr_grpo"], "loss_type"),
                 ("a changed reward_funcs", ["--reward_funcs", "format"], "reward")]
        for label, args, needle in cases:
            out = os.path.join(self.m.fresh("resume"), "out")
            cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                   "--output", out, "--max_steps", "4", "--resume"]
            cmd = override(cmd, args)
            self.add(g, f"--resume with {label}", cmd, (REFUSAL,), prepare=self.trained_into(out), needle=needle)
        out = os.path.join(self.m.fresh("resume-allow"), "out")
        cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
               "--output", out, "--max_steps", "4", "--resume", "--learning_rate", "2.0e-3",
               "--resume-allow-changes", "learning_rate,max_steps"]
        self.add(g, "--resume with a changed learning rate and --resume-allow-changes", cmd, (SUCCESS,),
                 prepare=self.trained_into(out), check=training_check(out, 4))
        out = os.path.join(self.m.fresh("resume-same"), "out")
        cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
               "--output", out, "--max_steps", "4", "--resume", "--resume-allow-changes", "max_steps"]
        self.add(g, "--resume with nothing changed (max_steps allowed)", cmd, (SUCCESS,), prepare=self.trained_into(out),
                 check=training_check(out, 4))
        out = os.path.join(self.m.fresh("resume-empty"), "out")
        self.add(g, "--resume into an empty folder", [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model",
                 self.m.model, "--dataset", self.m.train, "--output", out, "--resume"], EITHER, check=training_check(out, 2))
        out = os.path.join(self.m.fresh("resume-weightless"), "out")
        self.add(g, "--resume with the newest checkpoint's weights deleted",
                 [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                  "--output", out, "--max_steps", "4", "--resume", "--resume-allow-changes", "max_steps"],
                 EITHER, prepare=self.trained_weightless(out), check=self.weightless_check(out))
        out = os.path.join(self.m.fresh("resume-bad-state"), "out")
        self.add(g, "--resume with a garbage trainer_state.json",
                 [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                  "--output", out, "--max_steps", "4", "--resume", "--resume-allow-changes", "max_steps"],
                 EITHER, prepare=self.trained_then(out, "trainer_state.json", b"{\"global_step\": 1e400"),
                 check=training_check(out, 4))
        out = os.path.join(self.m.fresh("resume-bad-opt"), "out")
        self.add(g, "--resume with a truncated optimizer.safetensors",
                 [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                  "--output", out, "--max_steps", "4", "--resume", "--resume-allow-changes", "max_steps"],
                 (REFUSAL,), prepare=self.trained_then(out, "optimizer.safetensors", None))
        out = os.path.join(self.m.fresh("resume-bad-manifest"), "out")
        self.add(g, "--resume with a garbage run manifest",
                 [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                  "--output", out, "--max_steps", "4", "--resume", "--resume-allow-changes", "max_steps"],
                 (REFUSAL,), prepare=self.trained_then(out, "run_manifest.json", b"[[[["))
        # evaluate: another checkpoint under the same folder name must not reuse the first one's completions.
        a = self.m.make_model(os.path.join(self.m.fresh("eval-a"), "ckpt"))
        b = self.m.make_model(os.path.join(self.m.fresh("eval-b"), "ckpt"), weights=flipped)
        shared = os.path.join(self.m.fresh("eval-shared"), "out")
        fresh_b = os.path.join(self.m.fresh("eval-fresh-b"), "out")
        base = [self.bins["evaluate"], "--tasks", self.m.task, "--limit", "2", "--max-new-tokens", "6",
                "--weight-type", "f32", "--temperature", "0", "--batch-size", "2", "--prompt", "raw"]
        # Refused (the records carry the model's fingerprint), or redone: never the first model's completions reused.
        self.add(g, "evaluate resume with another checkpoint under the same folder name",
                 base + ["--model", b, "--output", shared], EITHER,
                 prepare=self.evaluate_first(base + ["--model", a, "--output", shared], base + ["--model", b, "--output", fresh_b]),
                 check=self.same_records(shared, fresh_b), needle="fingerprint")
        torn = os.path.join(self.m.fresh("eval-torn"), "out")
        self.add(g, "evaluate resume after a torn last line", base + ["--model", a, "--output", torn], (SUCCESS,),
                 prepare=self.evaluate_torn(base + ["--model", a, "--output", torn], torn), check=evaluate_check(torn))
        garbage = os.path.join(self.m.fresh("eval-garbage"), "out")
        self.add(g, "evaluate resume with a garbage line in the middle of its records",
                 base + ["--model", a, "--output", garbage], EITHER,
                 prepare=self.evaluate_garbage(base + ["--model", a, "--output", garbage], garbage),
                 check=evaluate_check(garbage))

    def trained_weightless(self, out):
        first = self.trained_into(out, steps=2)

        def prepare():
            first()
            newest = checkpoints(out)[-1]
            for f in os.listdir(os.path.join(out, newest)):
                if f.endswith(".safetensors") and "optimizer" not in f:
                    os.remove(os.path.join(out, newest, f))
        return prepare

    def weightless_check(self, out):
        base = training_check(out, 4)
        return base

    def trained_then(self, out, file, content):
        first = self.trained_into(out, steps=2)

        def prepare():
            first()
            newest = os.path.join(out, checkpoints(out)[-1])
            path = os.path.join(newest, file)
            if content is None:
                data = open(path, "rb").read()
                write(path, data[: len(data) // 2])
            elif os.path.exists(path) or file != "run_manifest.json":
                write(path, content)
            else:
                for f in os.listdir(newest):
                    if "manifest" in f:
                        write(os.path.join(newest, f), content)
        return prepare

    def evaluate_first(self, first, fresh):
        def prepare():
            for cmd in (first, fresh):
                r = execute(cmd, 120)
                if r.rc != 0:
                    raise RuntimeError("preparing an evaluate run failed: " + excerpt(r.err, 300))
        return prepare

    def same_records(self, shared, fresh):
        def check(result):
            def completions(folder):
                rows = []
                for f in sorted(os.listdir(folder)):
                    if f.endswith(".jsonl"):
                        for line in open(os.path.join(folder, f)):
                            if line.strip():
                                row = json.loads(line)
                                rows.append(json.dumps({k: row.get(k) for k in ("id", "sample", "completion")}, sort_keys=True))
                return sorted(set(rows))
            a, b = completions(shared), completions(fresh)
            if not b:
                return "the fresh run wrote no completions"
            if not set(b) <= set(a):
                return "the second checkpoint's results hold the first one's completions (resume keyed on the folder name)"
            return None
        return check

    def evaluate_torn(self, cmd, out):
        def prepare():
            r = execute(cmd, 120)
            if r.rc != 0:
                raise RuntimeError(excerpt(r.err, 300))
            for f in os.listdir(out):
                if f.endswith(".jsonl"):
                    data = open(os.path.join(out, f), "rb").read()
                    write(os.path.join(out, f), data[:-7])
        return prepare

    def evaluate_garbage(self, cmd, out):
        def prepare():
            r = execute(cmd, 120)
            if r.rc != 0:
                raise RuntimeError(excerpt(r.err, 300))
            for f in os.listdir(out):
                if f.endswith(".jsonl"):
                    lines = open(os.path.join(out, f), "rb").read().splitlines(keepends=True)
                    write(os.path.join(out, f), lines[0] + b"\xff\xfe garbage {\n" + b"".join(lines[1:]))
        return prepare

    def item4(self):
        g = "4 chat templates"
        for label, template in TEMPLATES:
            model = self.model_variant("tpl-" + label, template=template)
            self.lm(g, f"template {label} (lm generate --chat)", (REFUSAL,), model,
                    extra=["--chat", "hi", "--max-new-tokens", "2", "--greedy"], needle="template")
        for label, template in TEMPLATES[:6]:
            model = self.model_variant("tpl-eval-" + label, template=template)
            self.evaluate(g, f"template {label} (evaluate)", (REFUSAL,), model=model)
            self.train(g, f"template {label} (grpo-train)", (REFUSAL,), model=model)
        for label, template in SAFE_TEMPLATES:
            model = self.model_variant("tpl-ok-" + label, template=template)
            self.lm(g, f"template {label} (lm generate --chat)", EITHER, model,
                    extra=["--chat", "hi", "--max-new-tokens", "2", "--greedy"])

    def item5(self):
        g = "5 traps"
        for key, value in [("eos_token_id", 2 ** 40), ("eos_token_id", -1), ("eos_token_id", [2, 2 ** 40]),
                           ("bos_token_id", 2 ** 40), ("pad_token_id", 2 ** 40), ("eos_token_id", 9999)]:
            for where in ("config", "generation"):
                model = self.model_variant(f"{where}-{key}", **{where: {key: value}})
                self.lm(g, f"{where}.json {key}: {json.dumps(value)} (lm generate)", EITHER if value == 9999 or key != "eos_token_id" else (REFUSAL,), model)
                if value == 2 ** 40 and key == "eos_token_id":
                    self.evaluate(g, f"{where}.json {key}: 2^40 (evaluate)", (REFUSAL,), model=model)
                    self.train(g, f"{where}.json {key}: 2^40 (grpo-train)", (REFUSAL,) if where == "config" else EITHER, model=model)
        for value in ["9223372036854775807", "-9223372036854775808", "1048577"]:
            self.lm(g, f"lm --max-new-tokens {value}", (REFUSAL,), self.m.model,
                    extra=["--prompt", "hi", "--max-new-tokens", value, "--greedy"])
            self.evaluate(g, f"evaluate --max-new-tokens {value}", (REFUSAL,), extra=["--max-new-tokens", value])
        self.evaluate(g, "evaluate --samples 100000000", (REFUSAL,), extra=["--samples", "100000000"])
        beyond = self.model_variant("ids-beyond-vocab", extra_added=[(600, "<|beyond|>", True)],
                                    template=TEMPLATE.replace("<|assistant|>", "<|assistant|><|beyond|>"))
        self.lm(g, "tokenizer id 600 >= vocab 512 (lm generate --chat)", (REFUSAL,), beyond,
                extra=["--chat", "hi", "--max-new-tokens", "2", "--greedy"])
        self.lm(g, "tokenizer id 600 >= vocab 512 (lm score)", (REFUSAL,), beyond, sub="score", extra=["--ids", "1,600"])
        self.lm(g, "lm score with an id beyond the vocabulary", (REFUSAL,), self.m.model, sub="score", extra=["--ids", "1,512"])
        self.lm(g, "lm score with a negative id", (REFUSAL,), self.m.model, sub="score", extra=["--ids", "1,-1"])
        self.lm(g, "lm score with an id of 2^40", (REFUSAL,), self.m.model, sub="score", extra=["--ids", "1,1099511627776"])
        self.lm(g, "lm generate --prompt-ids beyond the vocabulary", (REFUSAL,), self.m.model,
                extra=["--prompt-ids", "1,4096", "--max-new-tokens", "2"])
        self.evaluate(g, "tokenizer id 600 >= vocab 512 (evaluate)", (REFUSAL,), model=beyond)
        self.train(g, "tokenizer id 600 >= vocab 512 (grpo-train)", (REFUSAL,), model=beyond)
        empty = self.model_variant("empty-template", template="{% if false %}x{% endif %}")
        self.lm(g, "a template that renders empty (lm --chat)", (REFUSAL,), empty, extra=["--chat", "hi", "--max-new-tokens", "2"])
        self.evaluate(g, "a template that renders empty (evaluate)", (REFUSAL,), model=empty)
        self.train(g, "a template that renders empty (grpo-train)", (REFUSAL,), model=empty)
        for depth in (200, 20000, 200000):
            text = recipe(self.m.openrs, {}) + "reward_weights: " + "[" * depth + "]" * depth + "\n"
            self.train(g, f"a {depth}-deep YAML flow list", (REFUSAL,), recipe_text=text)
        text = recipe(self.m.openrs, {}) + "lr_scheduler_kwargs: " + "{a: " * 20000 + "1" + "}" * 20000 + "\n"
        self.train(g, "a 20000-deep YAML flow mapping", (REFUSAL,), recipe_text=text)
        text = recipe(self.m.openrs, {}) + "".join("  " * i + f"k{i}:\n" for i in range(3000)) + "  " * 3000 + "v: 1\n"
        self.train(g, "a 3000-deep YAML block mapping", (REFUSAL,), recipe_text=text)
        aliases = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"a{i}: &a{i} [*a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}, *a{i-1}]\n" for i in range(1, 12))
        self.train(g, "YAML alias bomb (billion laughs)", (REFUSAL,), recipe_text=recipe(self.m.openrs, {}) + aliases)
        self.train(g, "recipe repetition_max_penalty: 1", (REFUSAL,), {"reward_funcs": "[format, repetition_penalty]",
                   "reward_weights": "[1.0, 1.0]", "repetition_max_penalty": "1"}, needle="repetition_max_penalty")
        self.train(g, "recipe repetition_max_penalty: 0.5", (REFUSAL,), {"reward_funcs": "[format, repetition_penalty]",
                   "reward_weights": "[1.0, 1.0]", "repetition_max_penalty": "0.5"}, needle="repetition_max_penalty")
        self.tiny(g, "tiny-grpo --operations 0", (REFUSAL,), ["--operations", "0"], needle="--operations", timeout=10)
        self.train(g, "recipe max_completion_length: 1e10", (REFUSAL,), {"max_completion_length": "10000000000"})
        self.train(g, "recipe num_generations: 1e9", (REFUSAL,), {"num_generations": "1000000000"})
        self.train(g, "recipe per_device_train_batch_size: 1e9", (REFUSAL,), {"per_device_train_batch_size": "1000000000",
                                                                              "num_generations": "2"})
        for key, value in [("num_hidden_layers", 1000000000), ("hidden_size", 1 << 40), ("intermediate_size", 1 << 40),
                           ("vocab_size", 1 << 40), ("max_position_embeddings", 1 << 62), ("num_attention_heads", 1 << 30)]:
            model = self.model_variant(f"huge-{key}", config={key: value})
            self.lm(g, f"config.json {key}: {value} (lm)", EITHER if key == "max_position_embeddings" else (REFUSAL,), model)
            self.add(g, f"config.json {key}: {value} (grpo-train --plan)", [self.bins["grpo-train"], "--recipe", self.m.recipe,
                     "--model", model, "--plan"], EITHER, check=plan_check)
        fifo = self.model_variant("fifo", omit=("model.safetensors",))
        os.mkfifo(os.path.join(fifo, "model.safetensors"))
        self.lm(g, "a FIFO named model.safetensors (lm)", (REFUSAL,), fifo)
        self.evaluate(g, "a FIFO named model.safetensors (evaluate)", (REFUSAL,), model=fifo)
        self.train(g, "a FIFO named model.safetensors (grpo-train)", (REFUSAL,), model=fifo)
        for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
            f = self.model_variant("fifo-" + name, omit=(name,))
            os.mkfifo(os.path.join(f, name))
            self.lm(g, f"a FIFO named {name} (lm)", (REFUSAL,), f)
        fifo_recipe = os.path.join(self.m.fresh("fifo-recipe"), "recipe.yaml")
        os.mkfifo(fifo_recipe)
        self.add(g, "a FIFO as --recipe", [self.bins["grpo-train"], "--recipe", fifo_recipe, "--model", self.m.model,
                 "--dataset", self.m.train, "--output", os.path.join(self.m.root, "fifo-recipe-out")], (REFUSAL,))
        fifo_data = os.path.join(self.m.fresh("fifo-data"), "train.jsonl")
        os.mkfifo(fifo_data)
        self.train(g, "a FIFO as --dataset", (REFUSAL,), dataset=fifo_data)
        fifo_task = os.path.join(self.m.fresh("fifo-task"), "task.jsonl")
        os.mkfifo(fifo_task)
        self.evaluate(g, "a FIFO as an evaluate task file", (REFUSAL,), tasks=fifo_task)
        self.lm(g, "--model /dev/zero", (REFUSAL,), "/dev/zero")
        devzero = self.model_variant("devzero", omit=("model.safetensors",))
        os.symlink("/dev/zero", os.path.join(devzero, "model.safetensors"))
        self.lm(g, "model.safetensors -> /dev/zero", (REFUSAL,), devzero)

    def item6(self):
        g = "6 range checks"
        for key, value in [("top_p", "5"), ("top_p", "-1"), ("top_p", "0"), ("top_k", "-3"), ("min_p", "2"),
                           ("repetition_penalty", "0"), ("repetition_penalty", "-1"), ("beta", "-1"), ("warmup_ratio", "5"),
                           ("warmup_ratio", "-1"), ("max_grad_norm", "0"), ("max_grad_norm", "-1"), ("save_total_limit", "0"),
                           ("save_total_limit", "-1"), ("per_device_train_batch_size", "0"), ("temperature", "-1"),
                           ("max_prompt_length", "0"), ("max_completion_length", "0"), ("num_generations", "1"),
                           ("gradient_accumulation_steps", "0"), ("max_steps", "-5"), ("save_steps", "0"),
                           ("epsilon", "-0.2"), ("weight_decay", "-1")]:
            self.train(g, f"recipe {key}: {value}", (REFUSAL,), {key: value}, needle=key)
        self.train(g, "recipe max_prompt_length + max_completion_length > max_position_embeddings", (REFUSAL,),
                   {"max_completion_length": "300"}, needle="max_position_embeddings")
        # Refused, or (as evaluate does) noted and each completion capped at the model's positions.
        self.evaluate(g, "evaluate prompt + --max-new-tokens > max_position_embeddings", EITHER,
                      extra=["--max-new-tokens", "1000"], needle="max_position_embeddings")
        self.lm(g, "lm prompt + --max-new-tokens > max_position_embeddings", (REFUSAL,), self.m.model,
                extra=["--prompt", "hi", "--max-new-tokens", "1000"])
        for flag, value in [("--steps", "0"), ("--steps", "-1"), ("--learning-rate", "nan"), ("--learning-rate", "inf"),
                            ("--learning-rate", "-1"), ("--learning-rate", "0"), ("--direct-fraction", "2"),
                            ("--direct-fraction", "nan"), ("--lora-rank", "0"), ("--warm-start-steps", "-1"),
                            ("--epsilon_high", "nan"), ("--eval-every", "0"), ("--operations", "-1"),
                            ("--operations", "1000000")]:
            # Must refuse before the 25 s warm start.
            self.tiny(g, f"tiny-grpo {flag} {value} (refused within 10 s)", (REFUSAL,), [flag, value], timeout=10)

    def item7(self):
        g = "7 unclear or silent"
        missing = self.model_variant("no-config", omit=("config.json",))
        self.lm(g, "model folder without config.json", (REFUSAL,), missing)
        for omit in ("model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
            model = self.model_variant("no-" + omit, omit=(omit,))
            expected = EITHER if omit in ("generation_config.json", "tokenizer_config.json") else (REFUSAL,)
            self.lm(g, f"model folder without {omit} (lm generate)", expected, model)
            self.evaluate(g, f"model folder without {omit} (evaluate)", EITHER if omit == "generation_config.json" else (REFUSAL,),
                          model=model)
        self.lm(g, "--model that does not exist", (REFUSAL,), os.path.join(self.m.root, "nowhere"))
        self.lm(g, "--model is a file", (REFUSAL,), self.m.train)
        dir_config = self.model_variant("config-is-dir", omit=("config.json",))
        os.mkdir(os.path.join(dir_config, "config.json"))
        self.lm(g, "config.json is a folder (unreadable)", (REFUSAL,), dir_config)
        dir_weights = self.model_variant("weights-is-dir", omit=("model.safetensors",))
        os.mkdir(os.path.join(dir_weights, "model.safetensors"))
        self.lm(g, "model.safetensors is a folder", (REFUSAL,), dir_weights)
        dangling = self.model_variant("dangling", omit=("config.json",))
        os.symlink(os.path.join(self.m.root, "nowhere.json"), os.path.join(dangling, "config.json"))
        self.lm(g, "config.json is a dangling symlink", (REFUSAL,), dangling)
        self.add(g, "grpo-train --recipe that does not exist", [self.bins["grpo-train"], "--recipe",
                 os.path.join(self.m.root, "nowhere.yaml"), "--model", self.m.model, "--dataset", self.m.train,
                 "--output", os.path.join(self.m.fresh("no-recipe"), "out")], (REFUSAL,))
        self.add(g, "grpo-train --recipe is a folder", [self.bins["grpo-train"], "--recipe", self.m.root, "--model",
                 self.m.model, "--dataset", self.m.train, "--output", os.path.join(self.m.fresh("dir-recipe"), "out")], (REFUSAL,))
        self.train(g, "grpo-train --dataset that does not exist", (REFUSAL,), dataset=os.path.join(self.m.root, "nowhere.jsonl"))
        self.train(g, "grpo-train --model that does not exist", (REFUSAL,), model=os.path.join(self.m.root, "nowhere"))
        self.evaluate(g, "evaluate --output under a regular file", (REFUSAL,), output=os.path.join(self.m.train, "out"))
        self.evaluate(g, "evaluate --output in /proc", (REFUSAL,), output="/proc/self/eval-out")
        self.evaluate(g, "evaluate --tasks that does not exist", (REFUSAL,), tasks=os.path.join(self.m.root, "nowhere.jsonl"))
        self.evaluate(g, "evaluate --tasks unknown-name", (REFUSAL,), tasks="no-such-task")
        # Datasets.
        for label, lines, expected, extra in DATASETS:
            path = os.path.join(self.m.fresh("data-" + label), "train.jsonl")
            write(path, lines if isinstance(lines, bytes) else "\n".join(lines) + "\n")
            self.train(g, f"dataset: {label}", expected, dataset=path, extra=extra)
        # Task files.
        for label, lines, expected in TASKS:
            path = os.path.join(self.m.fresh("task-" + label), "task.jsonl")
            write(path, lines if isinstance(lines, bytes) else "\n".join(lines) + "\n")
            self.evaluate(g, f"evaluate task: {label}", expected, tasks=path)
        # check-answer.
        ca = self.bins["check-answer"]
        folder = self.m.fresh("stdin-dir")
        self.add(g, "check-answer --jsonl with stdin a folder (read error)", [ca, "--jsonl"], (REFUSAL,),
                 custom=self.stdin_folder(folder))
        self.add(g, "check-answer --jsonl with stdin closed", [ca, "--jsonl"], EITHER, custom=self.stdin_closed(),
                 check=jsonl_verdicts_check(0))
        ones = "+".join(["1"] * 3000)
        self.add(g, "check-answer eval mode: \\boxed{1+1+...+1} (3000 terms) vs 1", [ca, "--mode", "eval", "--gold", "1",
                 "--answer", "\\boxed{" + ones + "}"], EITHER, check=check_answer_check(False))
        self.add(g, "check-answer: 1/10^{10^{10}} vs 0", [ca, "--gold", "0", "--answer", "\\boxed{1/10^{10^{10}}}"],
                 EITHER, check=check_answer_check(False))
        for label, gold, answer, correct in CHECKS:
            self.add(g, f"check-answer: {label}", [ca, "--gold", gold, "--answer", answer], EITHER,
                     check=check_answer_check(correct), timeout=30)
        for label, data, count in JSONL_INPUTS:
            self.add(g, f"check-answer --jsonl: {label}", [ca, "--jsonl", "--threads", "2"], EITHER, stdin=data,
                     check=jsonl_verdicts_check(count), timeout=30)
        self.add(g, "check-answer --jsonl: a line over --max-line-bytes", [ca, "--jsonl", "--max-line-bytes", "64"], EITHER,
                 stdin=b'{"gold": "1", "answer": "' + b"1" * 500 + b'"}\n{"gold": "1", "answer": "1"}\n',
                 check=jsonl_verdicts_check(2))
        # unparseable_gold: reference with golds that do not parse must not score 1.0 silently.
        path = os.path.join(self.m.fresh("data-unparseable"), "train.jsonl")
        write_lines(path, [json.dumps({"problem": f"Say {i}", "answer": "\\frac{{{"}) for i in range(12)])
        self.train(g, "dataset: every gold unparseable, unparseable_gold reference", EITHER,
                   {"unparseable_gold": "reference", "reward_funcs": "[accuracy]", "reward_weights": "[1.0]"}, dataset=path,
                   needle="gold")
        # kill -9 in the middle of training, then --resume; compared with an uninterrupted run.
        for i, after in enumerate([1, 2, 3, 4, 5]):
            out = os.path.join(self.m.fresh(f"kill-{after}"), "out")
            straight = os.path.join(self.m.fresh(f"straight-{after}"), "out")
            cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                   "--output", out, "--max_steps", "8", "--save_steps", "1" if i % 2 else "2",
                   "--max_completion_length", "64", "--num_generations", "4", "--per_device_train_batch_size", "8"]
            self.add(g, f"kill -9 after step {after} (save_steps {1 if i % 2 else 2}), then --resume vs an uninterrupted run",
                     cmd + ["--resume"], (SUCCESS,), custom=self.kill_resume(cmd, out, straight, after))
        # Kills at random moments (during loading, generation, a checkpoint save or pruning).
        for i in range(15):
            delay = round(self.rng.uniform(0.05, 0.9), 2)
            out = os.path.join(self.m.fresh(f"kill-t{i}"), "out")
            straight = os.path.join(self.m.fresh(f"straight-t{i}"), "out")
            cmd = [self.bins["grpo-train"], "--recipe", self.m.recipe, "--model", self.m.model, "--dataset", self.m.train,
                   "--output", out, "--max_steps", "8", "--save_steps", "1", "--save_total_limit", "2",
                   "--max_completion_length", "64", "--num_generations", "4", "--per_device_train_batch_size", "8"]
            self.add(g, f"kill -9 at {delay:.0%} of the run's time (save_steps 1, save_total_limit 2), then --resume vs an uninterrupted run",
                     cmd + ["--resume"], (SUCCESS,), custom=self.kill_resume(cmd, out, straight, 0, delay=delay))
        out = os.path.join(self.m.fresh("kill-eval"), "out")
        cmd = [self.bins["evaluate"], "--model", self.m.model, "--tasks", self.m.task, "--limit", "3", "--samples", "4",
               "--max-new-tokens", "32", "--weight-type", "f32", "--batch-size", "1", "--prompt", "raw", "--output", out]
        self.add(g, "kill -9 during evaluate, then rerun", cmd, (SUCCESS,), custom=self.kill_evaluate(cmd, out))

    def stdin_folder(self, folder):
        def run(probe):
            fd = os.open(folder, os.O_RDONLY)
            try:
                r = execute(probe.cmd, probe.timeout, stdin=fd)
            finally:
                os.close(fd)
            c, d = classify(r, lambda res: "exit 0 on a read error of stdin")
            return c, d
        return run

    def stdin_closed(self):
        def run(probe):
            r = execute(probe.cmd, probe.timeout, stdin=b"")
            return classify(r, probe.check)
        return run

    def kill_resume(self, cmd, out, straight, after, delay=None):
        def run(probe):
            straight_cmd = list(cmd)
            straight_cmd[straight_cmd.index("--output") + 1] = straight
            r = execute(straight_cmd, 180)
            if r.rc != 0:
                return classify(r)[0], "the uninterrupted run failed: " + excerpt(r.err)
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit_memory)
            # delay: a fraction of the uninterrupted run's time.
            deadline = time.time() + (delay * r.seconds if delay is not None else 120)
            while p.poll() is None and time.time() < deadline:
                if delay is not None:
                    time.sleep(0.001)
                    continue
                steps = metrics_steps(out)
                if isinstance(steps, list) and steps and steps[-1] is not None and steps[-1] >= after:
                    break
                time.sleep(0.005)
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            killed_at = metrics_steps(out)
            killed_at = killed_at[-1] if isinstance(killed_at, list) and killed_at else 0
            if p.returncode != -signal.SIGKILL or (delay is None and not after <= killed_at < 8):
                return UNCLEAR, f"the kill did not land mid-run (exit {p.returncode}, step {killed_at}); the probe needs a slower run"
            # Every checkpoint-N left must be complete.
            for name in checkpoints(out):
                files = os.listdir(os.path.join(out, name))
                if not any(f.endswith(".safetensors") and "optimizer" not in f for f in files):
                    return SILENT, f"after the kill {name} has no weights but looks complete"
            r = execute(probe.cmd, 180)
            c, d = classify(r, training_check(out, 8))
            if c != SUCCESS:
                return c, d
            last_a, last_b = checkpoints(straight)[-1], checkpoints(out)[-1]
            if last_a != last_b:
                return SILENT, f"newest checkpoint {last_b} vs {last_a}"
            for f in sorted(os.listdir(os.path.join(straight, last_a))):
                if f.endswith(".safetensors"):
                    a = open(os.path.join(straight, last_a, f), "rb").read()
                    b = open(os.path.join(out, last_b, f), "rb").read()
                    if a != b:
                        return SILENT, f"{last_b}/{f} differs from the uninterrupted run's"

            def strip(output):
                rows = []
                for line in open(os.path.join(output, "metrics.jsonl")):
                    row = json.loads(line)
                    rows.append({k: v for k, v in row.items() if not re.search(r"time|second|per_s|elapsed|memory|rss|throughput|tokens_per", k)})
                return rows
            if strip(out) != strip(straight):
                return SILENT, "metrics.jsonl differs from the uninterrupted run's"
            return SUCCESS, f"killed after step {killed_at}; resumed run identical to the uninterrupted one"
        return run

    def kill_evaluate(self, cmd, out):
        def run(probe):
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=limit_memory)
            deadline = time.time() + 60
            while p.poll() is None and time.time() < deadline:
                written = [f for f in os.listdir(out) if f.endswith(".jsonl")] if os.path.isdir(out) else []
                if written and os.path.getsize(os.path.join(out, written[0])) > 0:
                    break
                time.sleep(0.002)
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            if p.returncode != -signal.SIGKILL:
                return UNCLEAR, f"the kill did not land mid-run (exit {p.returncode}); the probe needs a slower run"
            r = execute(cmd, probe.timeout)
            return classify(r, evaluate_check(out))
        return run

    # --- generated variations ------------------------------------------------------------------

    def recipe_values(self):
        g = "gen recipe values"
        values = ["0", "-1", ".nan", ".inf", "1.0e+308", "abc", "9223372036854775808"]
        for key in NUMERIC_RECIPE_KEYS:
            for value in values:
                changes = {key: value}
                if key.startswith("lora_"):
                    changes["use_peft"] = "true"
                if key.startswith("cosine_"):
                    changes["reward_funcs"] = "[format, cosine]"
                if key.startswith("repetition_"):
                    changes["reward_funcs"] = "[format, repetition_penalty]"
                    changes["reward_weights"] = "[1.0, 1.0]"
                if key in ("overlong_buffer_len", "overlong_penalty_factor"):
                    changes.setdefault("overlong_buffer_len", "2")
                if key == "min_lr_rate":
                    changes = {"lr_scheduler_kwargs": "{min_lr_rate: %s}" % value}
                self.train(g, f"recipe {key}: {value}", EITHER, changes, timeout=None)

    def cli_values(self):
        g = "gen CLI values"
        values = ["0", "-1", "nan", "inf", "1e308", "abc", "9223372036854775807", "18446744073709551616", ""]
        for flag in ["--samples", "--max-new-tokens", "--temperature", "--top-p", "--seed", "--limit", "--batch-size",
                     "--pass-k"]:
            for v in values:
                self.evaluate(g, f"evaluate {flag} {v!r}", EITHER, extra=[flag, v])
        for flag in ["--max-new-tokens", "--temperature", "--top-p", "--seed"]:
            for v in values:
                self.lm(g, f"lm generate {flag} {v!r}", EITHER, self.m.model,
                        extra=["--prompt", "What is", "--max-new-tokens", "3", flag, v, "--json"])
        for v in values + ["1,2", "1,,2", ",", "1,99999999999999999999"]:
            self.lm(g, f"lm score --ids {v!r}", EITHER, self.m.model, sub="score", extra=["--ids", v])
            self.lm(g, f"lm generate --prompt-ids {v!r}", EITHER, self.m.model,
                    extra=["--prompt-ids", v, "--max-new-tokens", "2", "--json"])
        for flag in ["--threads", "--max-line-bytes"]:
            for v in values:
                self.add(g, f"check-answer --jsonl {flag} {v!r}", [self.bins["check-answer"], "--jsonl", flag, v], EITHER,
                         stdin=b'{"gold": "2", "answer": "\\\\boxed{2}"}\n', check=jsonl_verdicts_check(1))
        for flag in ["--max-steps", "--max_steps", "--num_generations", "--learning_rate", "--seed", "--save_steps"]:
            for v in values:
                long_run = v == "9223372036854775807" and flag in ("--max-steps", "--max_steps")
                self.train(g, f"grpo-train {flag} {v!r}", EITHER, extra=[flag, v], steps=None, long_ok=long_run,
                           timeout=15 if long_run else None)
        for flag in ["--seed", "--steps", "--operations", "--direct-fraction", "--learning-rate", "--lora-rank",
                     "--warm-start-steps", "--epsilon_high", "--eval-every"]:
            for v in values:
                # Quick settings so that an accepted value finishes fast.
                long_run = v == "9223372036854775807" and flag in ("--steps", "--warm-start-steps")
                self.tiny(g, f"tiny-grpo {flag} {v!r}", EITHER,
                          override(["--quick", "--steps", "1", "--warm-start-steps", "1"], [flag, v]),
                          timeout=15 if long_run else 90, long_ok=long_run)

    def config_values(self):
        g = "gen config.json values"
        values = [0, -1, 1.5, float("nan"), float("inf"), 1e308, 2 ** 63, "abc", None, [], {}]
        for key in ["hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "num_hidden_layers",
                    "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta", "bos_token_id", "eos_token_id",
                    "head_dim", "tie_word_embeddings", "model_type", "architectures", "torch_dtype"]:
            for v in values:
                model = self.model_variant(f"cfg-{key}", config={key: v})
                self.lm(g, f"config.json {key}: {json.dumps(v)}", EITHER, model, sub="score")
        rope = [{"rope_type": "yarn", "factor": 0}, {"rope_type": "linear", "factor": -1}, {"rope_type": "nope"},
                {"rope_theta": 0}, {"rope_theta": -1}, {"rope_type": "llama3", "factor": 8}]
        for v in rope:
            model = self.model_variant("cfg-rope", config={"rope_parameters": v, "rope_scaling": v})
            self.lm(g, f"config.json rope_parameters: {json.dumps(v)}", EITHER, model, sub="score")
        for v in [{"temperature": -1}, {"top_p": 5}, {"top_k": -3}, {"max_new_tokens": -1}, {"eos_token_id": "x"},
                  {"temperature": float("nan")}, {"repetition_penalty": 0}]:
            model = self.model_variant("gen-cfg", generation=v)
            self.lm(g, f"generation_config.json {json.dumps(v)}", EITHER, model)

    def byte_flips(self):
        g = "gen byte flips"
        base_config = open(os.path.join(self.m.model, "config.json"), "rb").read()
        base_tok = open(os.path.join(self.m.model, "tokenizer.json"), "rb").read()
        base_tok_cfg = open(os.path.join(self.m.model, "tokenizer_config.json"), "rb").read()
        weights = open(os.path.join(FIXTURE, "model.safetensors"), "rb").read()
        (header_len,) = struct.unpack("<Q", weights[:8])

        def flipped(data, limit, n):
            data = bytearray(data)
            for _ in range(n):
                i = self.rng.randrange(limit)
                data[i] = self.rng.choice([data[i] ^ (1 << self.rng.randrange(8)), self.rng.randrange(256),
                                           ord(self.rng.choice('{}[]",:0123456789-e.'))])
            return bytes(data)
        for i in range(40):
            model = self.model_variant("flip-config")
            write(os.path.join(model, "config.json"), flipped(base_config, len(base_config), 1 + i % 3))
            self.lm(g, f"config.json byte flips #{i}", EITHER, model, sub="score")
        for i in range(40):
            model = self.model_variant("flip-tok")
            write(os.path.join(model, "tokenizer.json"), flipped(base_tok, len(base_tok), 1 + i % 3))
            self.lm(g, f"tokenizer.json byte flips #{i}", EITHER, model, sub="tokenize")
        for i in range(15):
            model = self.model_variant("flip-tokcfg")
            write(os.path.join(model, "tokenizer_config.json"), flipped(base_tok_cfg, len(base_tok_cfg), 1 + i % 3))
            self.lm(g, f"tokenizer_config.json byte flips #{i}", EITHER, model,
                    extra=["--chat", "hi", "--max-new-tokens", "2", "--greedy"], check=lm_text_check)
        for i in range(50):
            model = self.model_variant("flip-st")
            write(os.path.join(model, "model.safetensors"), flipped(weights, 8 + header_len, 1 + i % 3))
            self.lm(g, f"safetensors header byte flips #{i}", EITHER, model, sub="score")
        # Structural damage to the weights.
        for label, data in [("empty", b""), ("7 bytes", weights[:7]), ("header length 2^63", struct.pack("<Q", 1 << 63) + weights[8:]),
                            ("header length 0", struct.pack("<Q", 0) + weights[8:]),
                            ("header length past the end", struct.pack("<Q", len(weights)) + weights[8:]),
                            ("truncated to half", weights[: len(weights) // 2]),
                            ("truncated by one byte", weights[:-1]), ("one byte extra", weights + b"\0"),
                            ("garbage", bytes(self.rng.randrange(256) for _ in range(4096))),
                            ("header not JSON", struct.pack("<Q", 8) + b"xxxxxxxx" + weights[8 + header_len:]),
                            ("header a JSON array", struct.pack("<Q", 8) + b"[]      " + weights[8 + header_len:])]:
            model = self.model_variant("st-" + label, weights=data)
            self.lm(g, f"model.safetensors {label}", (REFUSAL,), model, sub="score")
        tensors = load_tensors(os.path.join(FIXTURE, "model.safetensors"))
        name = "model.layers.0.self_attn.q_proj.weight"
        for label, change in [("wrong shape", lambda d, s, b: (d, [s[1], s[0] + 1], b)),
                              ("unknown dtype", lambda d, s, b: ("F8_E9", s, b)),
                              ("negative dim", lambda d, s, b: (d, [-1, s[1]], b)),
                              ("huge dims", lambda d, s, b: (d, [1 << 40, 1 << 40], b)),
                              ("I64 dtype", lambda d, s, b: ("I64", [s[0], s[1] // 2], b)),
                              ("missing", None)]:
            t = dict(tensors)
            if change is None:
                del t[name]
            else:
                t[name] = change(*t[name])
            model = self.model_variant("st-" + label, weights=t)
            self.lm(g, f"model.safetensors {name}: {label}", (REFUSAL,), model, sub="score")
        header, body = read_safetensors(os.path.join(FIXTURE, "model.safetensors"))
        for label, edit in [("overlapping offsets", lambda h: h[name].update(data_offsets=[0, h[name]["data_offsets"][1] - h[name]["data_offsets"][0]])),
                            ("offsets past the end", lambda h: h[name].update(data_offsets=[len(body), len(body) + 4])),
                            ("reversed offsets", lambda h: h[name].update(data_offsets=h[name]["data_offsets"][::-1])),
                            ("offset 2^64", lambda h: h[name].update(data_offsets=[2 ** 64, 2 ** 64 + 4]))]:
            h = json.loads(json.dumps(header))
            edit(h)
            text = json.dumps(h).encode()
            model = self.model_variant("st-" + label, weights=struct.pack("<Q", len(text)) + text + body)
            self.lm(g, f"model.safetensors header: {label}", (REFUSAL,), model, sub="score")

    def jinja_generated(self):
        g = "gen chat templates"
        for label, template in GENERATED_TEMPLATES:
            model = self.model_variant("gtpl", template=template)
            self.lm(g, f"template {label}", EITHER, model, extra=["--chat", "hi", "--max-new-tokens", "2", "--greedy"],
                    check=lm_text_check)

    def build(self):
        self.item1()
        self.item2()
        self.item3()
        self.item4()
        self.item5()
        self.item6()
        self.item7()
        self.recipe_values()
        self.cli_values()
        self.config_values()
        self.byte_flips()
        self.jinja_generated()
        return self.probes


def override(cmd, args):
    """cmd with each --flag in args replaced (or appended) by its value."""
    cmd = list(cmd)
    i = 0
    while i < len(args):
        flag = args[i]
        value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None
        if flag in cmd:
            j = cmd.index(flag)
            if value is not None:
                cmd[j + 1] = value
        else:
            cmd += [flag] + ([value] if value is not None else [])
        i += 2 if value is not None else 1
    return cmd


NUMERIC_RECIPE_KEYS = [
    "learning_rate", "adam_beta1", "adam_beta2", "adam_epsilon", "weight_decay", "max_grad_norm", "warmup_ratio",
    "max_steps", "gradient_accumulation_steps", "per_device_train_batch_size", "num_generations", "max_prompt_length",
    "max_completion_length", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "beta", "epsilon",
    "epsilon_high", "delta", "sapo_temperature_pos", "sapo_temperature_neg", "top_entropy_quantile",
    "max_dynamic_sampling_rounds", "replay_buffer_size", "overlong_buffer_len", "overlong_penalty_factor",
    "num_iterations", "steps_per_generation", "cosine_min_value_wrong", "cosine_max_value_wrong",
    "cosine_min_value_correct", "cosine_max_value_correct", "cosine_max_len", "repetition_n_grams",
    "repetition_max_penalty", "seed", "save_steps", "save_total_limit", "memory_limit_gib", "logits_chunk_bytes",
    "lora_r", "lora_alpha", "lora_dropout", "logging_steps", "min_lr_rate", "reward_weights",
]

# The hostile templates: each must be refused with a clear line (no trap, no hang, no OOM).
TEMPLATES = [
    ("1e300|int", "{{ 1e300|int }}"),
    ("Int.min // -1", "{{ (-9223372036854775807 - 1) // -1 }}"),
    ("Int.min % -1", "{{ (-9223372036854775807 - 1) % -1 }}"),
    ("abs(Int.min)", "{{ (-9223372036854775807 - 1)|abs }}"),
    ("negative indent", "{{ 'a\nb'|indent(-5) }}"),
    ("tojson negative indent", "{{ messages|tojson(indent=-3) }}"),
    ("30k-term expression", "{{ " + "+".join(["1"] * 30000) + " }}"),
    ("100k chained unary filters", "{{ 'a'" + "|lower" * 100000 + " }}"),
    ("100k unary minus", "{{ " + "-" * 100000 + "1 }}"),
    ("100k nested parentheses", "{{ " + "(" * 100000 + "1" + ")" * 100000 + " }}"),
    ("huge indent", "{{ 'a\nb'|indent(10**12) }}"),
    ("string doubling", "{% set s = 'ab' %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}{{ s }}"),
    ("string times 10**12", "{{ 'ab' * 10**12 }}"),
    ("nested range(10**7)", "{% for i in range(10**7) %}{% for j in range(10**7) %}{% endfor %}{% endfor %}"),
    ("range(10**18)", "{% for i in range(10**18) %}x{% endfor %}"),
    ("list doubling", "{% set l = [1] %}{% for i in range(64) %}{% set l = l + l %}{% endfor %}{{ l|length }}"),
    ("10**10**10", "{{ 10**10**10 }}"),
    ("2**64 overflow", "{{ 2**64 }}"),
    ("Int.max + 1", "{{ 9223372036854775807 + 1 }}"),
    ("Int.max * 2", "{{ 9223372036854775807 * 2 }}"),
    ("division by zero", "{{ 1 // 0 }}"),
    ("modulo by zero", "{{ 1 % 0 }}"),
    ("float division by zero", "{{ 1 / 0 }}"),
    ("recursive macro", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
    ("10k nested ifs", "{% if true %}" * 10000 + "x" + "{% endif %}" * 10000),
    ("10k nested for", "{% for a in [1] %}" * 10000 + "x" + "{% endfor %}" * 10000),
    ("raise_exception", "{{ raise_exception('no system message allowed') }}"),
    ("unclosed tag", "{% for m in messages %}{{ m.content }}"),
    ("unknown filter", "{{ 'a'|no_such_filter }}"),
    ("lexer garbage", "{{ \x00\x01\x02 }}"),
    ("unterminated string", "{{ 'abc }}"),
    ("slice step 0", "{{ messages[::0] }}"),
    ("center huge", "{{ 'a'|center(10**12) }}"),
    ("join of a huge range", "{{ range(10**9)|join(',') }}"),
    ("replace explosion", "{% set s = 'a' * 1000 %}{{ s|replace('a', s)|replace('a', s)|replace('a', s) }}"),
]
SAFE_TEMPLATES = [
    ("renders fine with arithmetic", "{{ 2**10 }}<|user|>{{ messages[0]['content'] }}<|assistant|>"),
    ("loop.index and filters", "{% for m in messages %}{{ loop.index }}{{ m.content|upper|trim }}{% endfor %}<|assistant|>"),
    ("Int.min literal printed", "{{ -9223372036854775807 - 1 }}<|assistant|>"),
    ("namespace", "{% set ns = namespace(x=0) %}{% for m in messages %}{% set ns.x = ns.x + 1 %}{% endfor %}{{ ns.x }}<|assistant|>"),
]

def _generated_templates():
    rng = random.Random(17)
    pieces = ["1", "-1", "9223372036854775807", "(-9223372036854775807-1)", "1e308", "1e300", "0", "0.0", "'a'", "[]",
              "{}", "none", "true", "messages", "range(3)", "'x'*3", "10**18", "2**63", "-0.0", "nan"]
    ops = ["+", "-", "*", "/", "//", "%", "**", "~", "==", "<", "and", "or", " in "]
    filters = ["int", "float", "abs", "length", "string", "tojson", "round", "first", "last", "list", "reverse", "sum",
               "max", "min", "indent(4)", "trim", "upper", "join(',')", "unique", "sort", "items", "batch(0)", "batch(-1)",
               "indent(-1)", "truncate(-5)", "wordwrap(0)", "format(1)", "replace('', 'x')"]
    out = []
    for i in range(70):
        terms = []
        for _ in range(rng.randrange(1, 5)):
            t = rng.choice(pieces)
            for _ in range(rng.randrange(0, 3)):
                t = f"({t})|{rng.choice(filters)}"
            terms.append(t)
        expr = terms[0]
        for t in terms[1:]:
            expr = f"{expr} {rng.choice(ops)} {t}"
        out.append((f"random expression #{i}: {expr[:60]}", "{{ " + expr + " }}<|assistant|>"))
    return out


GENERATED_TEMPLATES = _generated_templates()

DATASETS = [
    ("empty file", b"", (REFUSAL,), []),
    ("only blank lines", ["", "  ", ""], (REFUSAL,), []),
    ("not JSON", ["not json"] * 12, (REFUSAL,), []),
    ("JSON arrays", ["[1, 2]"] * 12, (REFUSAL,), []),
    ("missing problem column", [json.dumps({"question": "q", "answer": "1"})] * 12, (REFUSAL,), []),
    ("missing gold column", [json.dumps({"problem": f"What is {i}?"}) for i in range(12)], (REFUSAL,), []),
    ("null golds", [json.dumps({"problem": f"What is {i}?", "answer": None}) for i in range(12)], (REFUSAL,), []),
    ("numeric problem", [json.dumps({"problem": 5, "answer": "1"})] * 12, EITHER, []),
    ("one bad row among good (skip)", [json.dumps({"problem": f"What is {i}?", "answer": str(i)}) for i in range(11)] + ["{"],
     (SUCCESS,), []),
    ("one bad row among good (--on-bad-row fail)", [json.dumps({"problem": f"What is {i}?", "answer": str(i)}) for i in range(11)] + ["{"],
     (REFUSAL,), ["--on-bad-row", "fail"]),
    ("invalid UTF-8 line", b"\xff\xfe\xfd\n" + "\n".join(json.dumps({"problem": f"What is {i}?", "answer": str(i)}) for i in range(12)).encode() + b"\n",
     EITHER, []),
    ("NUL bytes", b"\0" * 100, (REFUSAL,), []),
    ("a 1 MB problem", [json.dumps({"problem": "x " * 500000, "answer": "1"})] * 2, EITHER, []),
    ("deeply nested JSON row", ["[" * 100000 + "]" * 100000] * 2, (REFUSAL,), []),
    ("deeply nested JSON value", [json.dumps({"problem": "p", "answer": "1", "x": 0})[:-1] + ', "y": ' + "[" * 100000 + "]" * 100000 + "}"] * 2, EITHER, []),
    ("one row only", [json.dumps({"problem": "What is 1?", "answer": "1"})], EITHER, []),
    ("empty problem strings", [json.dumps({"problem": "", "answer": "1"})] * 12, EITHER, []),
    ("a number in 1e400 form as the gold", [json.dumps({"problem": f"What is {i}?", "answer": 1})[:-2] + "1e400}" for i in range(12)], EITHER, []),
]

TASKS = [
    ("empty file", b"", (REFUSAL,)),
    ("undecodable line in the middle", [json.dumps({"id": "1", "problem": "What is 1?", "answer": "1"}), "{not json",
                                        json.dumps({"id": "2", "problem": "What is 2?", "answer": "2"})], (REFUSAL,)),
    ("invalid UTF-8 line in the middle", b'{"id": "1", "problem": "What is 1?", "answer": "1"}\n\xff\xfe\n{"id": "2", "problem": "What is 2?", "answer": "2"}\n', (REFUSAL,)),
    ("missing answer column", [json.dumps({"id": str(i), "problem": "What is 1?"}) for i in range(3)], (REFUSAL,)),
    ("missing problem column", [json.dumps({"id": str(i), "answer": "1"}) for i in range(3)], (REFUSAL,)),
    ("duplicate ids", [json.dumps({"id": "1", "problem": "What is 1?", "answer": "1"})] * 3, EITHER),
    ("numeric answers", [json.dumps({"id": str(i), "problem": "What is 1?", "answer": 1}) for i in range(3)], EITHER),
    ("JSON array lines", ["[]"] * 3, (REFUSAL,)),
    ("NUL bytes", b"\0\0\0\n", (REFUSAL,)),
    ("deeply nested line", ["[" * 100000 + "]" * 100000], (REFUSAL,)),
    ("torn last line", [json.dumps({"id": "1", "problem": "What is 1?", "answer": "1"}), '{"id": "2", "prob'], (REFUSAL,)),
]

CHECKS = [
    ("plain equal", "2", "\\boxed{2}", True),
    ("fraction", "\\frac{1}{2}", "\\boxed{0.5}", True),
    ("huge power", "1", "\\boxed{10^{10^{10^{10}}}}", False),
    ("huge factorial", "1", "\\boxed{100000!}", False),
    ("deep nesting", "1", "\\boxed{" + "(" * 20000 + "1" + ")" * 20000 + "}", None),
    ("deep fractions", "1", "\\boxed{" + "\\frac{1}{" * 5000 + "1" + "}" * 5000 + "}", None),
    ("unbalanced braces", "1", "\\boxed{{{{{", False),
    ("100k digits", "1", "\\boxed{" + "9" * 100000 + "}", False),
    ("Int.min", "-9223372036854775808", "\\boxed{-9223372036854775808}", True),
    ("NaN text", "nan", "\\boxed{nan}", None),
    ("invalid UTF-8 via arg", "1", "\\boxed{\udcff}", None),
    ("sqrt of negative", "1", "\\boxed{\\sqrt{-1}}", False),
    ("matrix", "1", "\\boxed{\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}}", False),
    ("interval", "(0,1)", "\\boxed{(0,1)}", True),
    ("many boxes", "1", "\\boxed{1}" * 10000, None),
]

JSONL_INPUTS = [
    ("3 good lines", b'{"gold": "1", "answer": "\\\\boxed{1}"}\n' * 3, 3),
    ("a garbage line", b'{"gold": "1", "answer": "1"}\nnot json\n{"gold": "1", "answer": "1"}\n', 3),
    ("invalid UTF-8", b'{"gold": "1", "answer": "\xff\xfe"}\n', 1),
    ("no trailing newline", b'{"gold": "1", "answer": "1"}', 1),
    ("blank lines", b"\n\n\n", 3),
    ("NUL bytes", b"\0\0\0\n", 1),
    ("deep JSON", b"[" * 100000 + b"]" * 100000 + b"\n", 1),
    ("missing answer", b'{"gold": "1"}\n', 1),
    ("numbers instead of strings", b'{"gold": 1, "answer": 2}\n', 1),
    ("a 10 MB line", b'{"gold": "1", "answer": "' + b"1" * 10_000_000 + b'"}\n', 1),
    ("1000 lines", b'{"gold": "1/2", "answer": "\\\\boxed{0.5}"}\n' * 1000, 1000),
]


def jsonl_fix():
    global JSONL_INPUTS
    fixed = []
    for label, data, count in JSONL_INPUTS:
        fixed.append((label, data, count if count is not None else 0))
    JSONL_INPUTS = fixed


jsonl_fix()


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def run_probe(probe, material, default_timeout):
    probe.timeout = probe.timeout or default_timeout
    probe.command_text = short_command(probe.cmd, material)
    started = time.time()
    try:
        if probe.prepare:
            probe.prepare()
        if probe.custom:
            probe.observed, probe.detail = probe.custom(probe)
        else:
            # Line-buffered stdout where it can be had, so a long run killed at the timeout still shows its progress.
            prefix = ["stdbuf", "-oL"] if probe.long_ok and shutil.which("stdbuf") else []
            r = execute(prefix + probe.cmd, probe.timeout, stdin=probe.stdin)
            probe.observed, probe.detail = classify(r, probe.check)
            if probe.observed == HANG and probe.long_ok and re.search(r"step \d+|warm", r.out + r.err, re.I):
                probe.observed, probe.detail = SUCCESS, "a legitimately long run, making progress, stopped at the timeout"
            if probe.observed == SUCCESS and SUCCESS not in probe.expected:
                probe.observed, probe.detail = SILENT, "exit 0 where a refusal was due: " + excerpt(r.err or r.out)
            if probe.observed == REFUSAL and probe.needle and probe.needle.lower() not in probe.detail.lower():
                probe.detail += f"  [note: does not name {probe.needle}]"
    except Exception as error:  # a broken probe must not stop the run
        probe.observed, probe.detail = UNCLEAR, f"probe setup failed: {error}"
    probe.seconds = time.time() - started


def shell(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    except OSError:
        return ""


def report(probes, path, total_seconds, material):
    counts = {c: 0 for c in CLASSES}
    for p in probes:
        counts[p.observed] += 1
    flagged = [p for p in probes if p.observed not in (REFUSAL, SUCCESS) or p.observed not in p.expected]
    lines = ["# Hardening probe (issue 17)", "",
             "`tools/probe/hardening-probe.py` ran every executable (grpo-train, evaluate, lm, check-answer, tiny-grpo; "
             "release build) against hostile inputs made from `Tests/Fixtures/qwen2-tiny` and `recipes/openrs-grpo.yaml`.",
             "", f"- Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- Commit: `{shell('git rev-parse --short HEAD')}`{' (with uncommitted changes)' if shell('git status --porcelain -- Sources Examples') else ''}",
             f"- Probes: {len(probes)}, in {total_seconds / 60:.1f} min", "", "Machine (`lscpu | head`):", "", "```",
             shell("lscpu | head"), "```", "", "## Totals", "", "| class | probes |", "|---|---:|"]
    for c in CLASSES:
        lines.append(f"| {c} | {counts[c]} |")
    groups = {}
    for p in probes:
        groups.setdefault(p.group, {c: 0 for c in CLASSES})[p.observed] += 1
    lines += ["", "## By group", "", "| group | " + " | ".join(CLASSES) + " |", "|---|" + "---:|" * len(CLASSES)]
    for group, c in groups.items():
        lines.append(f"| {group} | " + " | ".join(str(c[k]) for k in CLASSES) + " |")
    lines += ["", "## Probes that are not a clean refusal or a correct success", ""]
    if not flagged:
        lines.append("None.")
    else:
        lines += ["| probe | command | observed | stderr excerpt |", "|---|---|---|---|"]
        for p in flagged:
            lines.append(f"| {md(p.name)} | `{md(p.command_text)}` | {p.observed} | {md(excerpt(p.detail, 300))} |")
    notes = [p for p in probes if "[note:" in p.detail]
    if notes:
        lines += ["", "## Refusals whose message does not name the setting", ""]
        for p in notes:
            lines.append(f"- {md(p.name)}: {md(excerpt(p.detail, 200))}")
    lines += ["", "## Slowest probes", ""]
    for p in sorted(probes, key=lambda p: -p.seconds)[:10]:
        lines.append(f"- {md(p.name)}: {p.seconds:.1f} s ({p.observed})")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    write(path, "\n".join(lines) + "\n")
    return counts, flagged


def md(text):
    return text.replace("|", "\\|").replace("\n", " ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", default=os.path.join(ROOT, ".build", "release"))
    for b in BINARIES:
        parser.add_argument("--" + b, dest=b.replace("-", "_"), help=f"path of {b} (default: <bin-dir>/{b})")
    parser.add_argument("--no-build", action="store_true", help="do not run `swift build -c release` first")
    parser.add_argument("--report", default=os.path.join(ROOT, "Benchmarks", "results", "hardening-probe.md"))
    parser.add_argument("--json", help="also write every probe's result as JSON here")
    parser.add_argument("--only", help="run only probes whose group or name contains this text")
    parser.add_argument("--timeout", type=float, default=60, help="seconds before a probe counts as a HANG")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--list", action="store_true", help="list the probes and exit")
    args = parser.parse_args()
    if not args.no_build and not args.list:
        print("swift build -c release …", flush=True)
        subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, check=True)
    bins = {b: getattr(args, b.replace("-", "_")) or os.path.join(args.bin_dir, b) for b in BINARIES}
    missing = [p for p in bins.values() if not os.access(p, os.X_OK)]
    if missing and not args.list:
        sys.exit(f"hardening-probe: not built: {', '.join(missing)}")
    root = tempfile.mkdtemp(prefix="hardening-probe-")
    material = Material(root)
    probes = Builder(material, bins, random.Random(args.seed)).build()
    if args.only:
        probes = [p for p in probes if args.only.lower() in (p.group + " " + p.name).lower()]
    if args.list:
        for p in probes:
            print(f"{p.group:24} {p.name}")
        print(len(probes), "probes")
        shutil.rmtree(root, ignore_errors=True)
        return
    started = time.time()
    for i, p in enumerate(probes, 1):
        run_probe(p, material, args.timeout)
        mark = "" if p.observed in p.expected and p.observed in (REFUSAL, SUCCESS) else "   <<<"
        print(f"[{i}/{len(probes)}] {p.observed:11} {p.seconds:5.1f}s {p.group}: {p.name}{mark}"
              + (f"\n      {excerpt(p.detail, 300)}" if mark else ""), flush=True)
    total = time.time() - started
    counts, flagged = report(probes, args.report, total, material)
    if args.json:
        write(args.json, json.dumps([{"group": p.group, "name": p.name, "command": p.command_text,
                                      "expected": list(p.expected), "observed": p.observed, "detail": p.detail,
                                      "seconds": round(p.seconds, 2)} for p in probes], indent=1))
    print(", ".join(f"{c}: {n}" for c, n in counts.items()), f"({len(probes)} probes, {total / 60:.1f} min)")
    print("report:", args.report)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print("material kept in", root)
    sys.exit(1 if any(counts[c] for c in (TRAP, HANG, SILENT)) else 0)


if __name__ == "__main__":
    main()
