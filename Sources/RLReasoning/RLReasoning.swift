// RLReasoning: rewards, GRPO, the trainer and evaluation. Work in progress: see issues 5 and 7.
