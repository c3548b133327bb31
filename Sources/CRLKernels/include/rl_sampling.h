#ifndef RL_SAMPLING_H
#define RL_SAMPLING_H
#include <stdint.h>

// Truncation and drawing for token sampling over one row of probabilities relative to the top
// token (values in (0, 1]). Tokens are ranked by probability, descending, ties by index; a token
// is eligible when its probability is at least `floor` and above 0. Nothing is sorted in full:
// a histogram over the probabilities' bit patterns finds the bin where a prefix ends, and only
// that bin's tokens are sorted.

/// A prefix of the ranking: the tokens with probability > `probability`, or equal to it with
/// index <= `index`. {-1, INT64_MAX} takes every eligible token.
typedef struct {
    float probability;
    int64_t index;
} rl_rank_cutoff;

/// The shortest prefix of the eligible tokens within `limit` that holds `count_target` tokens
/// (when count_target > 0) or else whose mass reaches `mass_target`. Writes the prefix's cutoff
/// and mass and whether it leaves eligible tokens of `limit` out, and returns 1; when no prefix
/// does, writes `limit` and the whole mass within it and returns 0.
int rl_rank_prefix(const float *p, long n, float floor, rl_rank_cutoff limit, long count_target, double mass_target,
                   rl_rank_cutoff *cutoff, double *mass, int *leaves_out);

/// The mass of the eligible tokens within `cutoff`, in double.
double rl_rank_mass(const float *p, long n, float floor, rl_rank_cutoff cutoff);

/// Walks the eligible tokens within `cutoff` in index order, subtracting each probability from
/// `target`, and returns the first index where it goes below zero (the last kept index if it
/// never does, 0 if none is kept).
long rl_rank_draw(const float *p, long n, float floor, rl_rank_cutoff cutoff, double target);

#endif
