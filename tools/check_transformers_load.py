"""Loads a model folder saved by this package (e.g. tiny-grpo-output/model) with Hugging Face
transformers and asks it the tiny-grpo arithmetic questions greedily: a check, outside the test
suite, that our checkpoints and tokenizer files are what transformers expects.

Usage: python check_transformers_load.py MODEL_DIR [N]   (needs torch and transformers)
"""
import random, re, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

folder = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
print(type(model).__name__, "with", sum(p.numel() for p in model.parameters()), "parameters;",
      type(tokenizer).__name__, "with", len(tokenizer), "tokens")
rng = random.Random(0)
correct = 0
for _ in range(count):
    value = rng.randint(1, 9)
    question = f"What is {value}"
    for _ in range(3):
        operand = rng.randint(1, 9)
        if rng.random() < 0.5 and operand <= value:
            question += f" - {operand}"; value -= operand
        else:
            question += f" + {operand}"; value += operand
    question += "?"
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=40, do_sample=False,
                             pad_token_id=tokenizer.pad_token_id)
    text = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
    boxed = re.findall(r"\\boxed\{(-?\d+)\}", text)
    ok = bool(boxed) and int(boxed[-1]) == value
    correct += ok
    print(f"{question} -> {text!r} {'ok' if ok else 'wrong'}")
print(f"transformers greedy accuracy: {correct}/{count}")
