// RLModel: Hugging Face Qwen2 checkpoints, tokenizer, chat templates and generation.
// Work in progress: see issue 4.
