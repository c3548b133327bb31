#ifndef RL_BENCHMARK_DATA_H
#define RL_BENCHMARK_DATA_H

#include <stddef.h>

/// The bytes of one of the benchmark files in the repository's `Data/eval` folder, compiled into
/// the binary so that `evaluate` finds its default data wherever the executable is. `name` is the
/// file name (`aime24.jsonl`, `amc23.jsonl`, `math500.jsonl`, `minerva_math.jsonl`,
/// `olympiadbench.jsonl`). Returns NULL (and leaves `*count` alone) for any other name.
const unsigned char *rl_benchmark_file(const char *name, size_t *count);

#endif
