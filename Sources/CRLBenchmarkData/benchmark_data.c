// The five evaluation benchmarks of Data/eval, embedded at compile time with C23 #embed (clang
// 19 and later, which every Swift 6.1+ toolchain carries). Data/DATA.md names their sources.
#include <string.h>

#include "rl_benchmark_data.h"

#pragma clang diagnostic ignored "-Wc23-extensions"

static const unsigned char aime24[] = {
#embed "../../Data/eval/aime24.jsonl"
};
static const unsigned char amc23[] = {
#embed "../../Data/eval/amc23.jsonl"
};
static const unsigned char math500[] = {
#embed "../../Data/eval/math500.jsonl"
};
static const unsigned char minerva_math[] = {
#embed "../../Data/eval/minerva_math.jsonl"
};
static const unsigned char olympiadbench[] = {
#embed "../../Data/eval/olympiadbench.jsonl"
};

static const struct {
    const char *name;
    const unsigned char *bytes;
    size_t count;
} files[] = {
    {"aime24.jsonl", aime24, sizeof aime24},
    {"amc23.jsonl", amc23, sizeof amc23},
    {"math500.jsonl", math500, sizeof math500},
    {"minerva_math.jsonl", minerva_math, sizeof minerva_math},
    {"olympiadbench.jsonl", olympiadbench, sizeof olympiadbench},
};

const unsigned char *rl_benchmark_file(const char *name, size_t *count) {
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(files[i].name, name) == 0) {
            *count = files[i].count;
            return files[i].bytes;
        }
    }
    return NULL;
}
