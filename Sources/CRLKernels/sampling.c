// Token-sampling truncation (see rl_sampling.h).
#include "rl_sampling.h"
#include <stdlib.h>
#include <string.h>

// A positive float's bit pattern grows with its value, so 1.0's pattern minus p's is a key that
// grows as p shrinks (0 for the top token). Values above 1 (rounding) share key 0.
static inline uint32_t rank_key(float p) {
    uint32_t bits;
    memcpy(&bits, &p, sizeof bits);
    return bits >= 0x3F800000u ? 0 : 0x3F800000u - bits;
}

#define COARSE_SHIFT 16
#define COARSE_BINS ((0x3F800000u >> COARSE_SHIFT) + 1)   // keys of (0, 1] shifted right by 16
#define FINE_BINS 256

static inline int is_kept(float p, long i, float floor, rl_rank_cutoff c) {
    return p >= floor && p > 0 && (p > c.probability || (p == c.probability && i <= c.index));
}

static inline int is_done(long count, double mass, long count_target, double mass_target) {
    return count_target > 0 ? count >= count_target : mass >= mass_target;
}

// The first bin whose tokens make the prefix done, with count and mass advanced past the bins
// before it; -1 (and the totals) when none does.
static long boundary_bin(const int32_t *counts, const double *masses, long bins, long *count, double *mass,
                         long count_target, double mass_target) {
    for (long b = 0; b < bins; b++) {
        if (counts[b] == 0) continue;
        if (is_done(*count + counts[b], *mass + masses[b], count_target, mass_target)) return b;
        *count += counts[b];
        *mass += masses[b];
    }
    return -1;
}

// Adds a kept token of probability v to histogram bin `bin`.
static inline void add_to_bin(int32_t *counts, double *masses, long bin, float v, long *eligible) {
    counts[bin] += 1;
    masses[bin] += v;
    *eligible += 1;
}

// Sort keys of the boundary bin's tokens: rank key, then index, so ascending order is the
// ranking (probability descending, ties by index).
static int ascending(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : (x > y);
}

int rl_rank_prefix(const float *p, long n, float floor, rl_rank_cutoff limit, long count_target, double mass_target,
                   rl_rank_cutoff *cutoff, double *mass_out, int *leaves_out) {
    // Interleaved histograms, so consecutive tokens in the same bin do not wait on each other's
    // updates.
    enum { TABLES = 2 };
    int32_t *counts = calloc(TABLES * COARSE_BINS, sizeof *counts);
    double *masses = calloc(TABLES * COARSE_BINS, sizeof *masses);
    long eligible = 0;
    if (floor <= 0 && limit.probability < 0) {
        // Nothing cut yet (no min-p, no top-k): every positive probability is kept. The same
        // sums as the general loop (table i % 2, index order), two tokens a turn.
        long i = 0;
        for (; i + 1 < n; i += 2) {
            float v0 = p[i], v1 = p[i + 1];
            if (v0 > 0) add_to_bin(counts, masses, (long)(rank_key(v0) >> COARSE_SHIFT), v0, &eligible);
            if (v1 > 0) add_to_bin(counts, masses, (long)(rank_key(v1) >> COARSE_SHIFT) + COARSE_BINS, v1, &eligible);
        }
        if (i < n && p[i] > 0) add_to_bin(counts, masses, (long)(rank_key(p[i]) >> COARSE_SHIFT), p[i], &eligible);
    } else {
        for (long i = 0; i < n; i++) {
            float v = p[i];
            if (is_kept(v, i, floor, limit)) add_to_bin(counts, masses, (long)(rank_key(v) >> COARSE_SHIFT) + (i % TABLES) * COARSE_BINS, v, &eligible);
        }
    }
    for (long t = 1; t < TABLES; t++) {
        for (long b = 0; b < (long)COARSE_BINS; b++) {
            counts[b] += counts[b + t * COARSE_BINS];
            masses[b] += masses[b + t * COARSE_BINS];
        }
    }
    long count = 0;
    double mass = 0;
    long coarse = boundary_bin(counts, masses, COARSE_BINS, &count, &mass, count_target, mass_target);
    long coarse_count = coarse < 0 ? 0 : counts[coarse];
    free(counts);
    free(masses);
    if (coarse < 0) {
        *cutoff = limit;
        *mass_out = mass;
        *leaves_out = 0;
        return 0;
    }
    // The coarse bin's tokens, refined by the key's next 8 bits. Rounding of the bins' mass
    // sums can leave the target just short inside the bin; the prefix then ends at its last token.
    uint64_t *members = malloc((size_t)coarse_count * sizeof *members);  // the bin holds at least one
    long member_count = 0;
    if (floor <= 0 && limit.probability < 0) {
        // Every positive probability is kept: the bin's tokens are those whose bits lie in one
        // range, (low, high] (bin 0 also holds the values from 1 up to infinity).
        uint32_t high = coarse == 0 ? 0x7F800000u : 0x3F800000u - ((uint32_t)coarse << COARSE_SHIFT);
        uint32_t low = 0x3F800000u - ((uint32_t)(coarse + 1) << COARSE_SHIFT);
        for (long i = 0; i < n && member_count < coarse_count; i++) {
            uint32_t bits;
            memcpy(&bits, &p[i], sizeof bits);
            if (bits - low - 1 < high - low) members[member_count++] = (uint64_t)i;
        }
    } else {
        for (long i = 0; i < n && member_count < coarse_count; i++) {
            if (is_kept(p[i], i, floor, limit) && (long)(rank_key(p[i]) >> COARSE_SHIFT) == coarse) members[member_count++] = (uint64_t)i;
        }
    }
    int32_t fine_counts[FINE_BINS] = {0};
    double fine_masses[FINE_BINS] = {0};
    for (long m = 0; m < member_count; m++) {
        long bin = (rank_key(p[members[m]]) >> 8) & 0xFF;
        fine_counts[bin] += 1;
        fine_masses[bin] += p[members[m]];
    }
    long fine = boundary_bin(fine_counts, fine_masses, FINE_BINS, &count, &mass, count_target, mass_target);
    if (fine < 0) {  // every sub-bin was passed: step back over the last one
        fine = FINE_BINS - 1;
        while (fine_counts[fine] == 0) fine--;
        count -= fine_counts[fine];
        mass -= fine_masses[fine];
    }
    // The fine bin's members become sort keys in place (the write position never passes the read).
    long kept = 0;
    for (long m = 0; m < member_count; m++) {
        long i = (long)members[m];
        uint32_t key = rank_key(p[i]);
        if ((long)((key >> 8) & 0xFF) == fine) members[kept++] = ((uint64_t)key << 32) | (uint64_t)(uint32_t)i;
    }
    qsort(members, (size_t)kept, sizeof *members, ascending);
    for (long m = 0; m < kept; m++) {
        long i = (long)(members[m] & 0xFFFFFFFFu);
        count += 1;
        mass += p[i];
        if (is_done(count, mass, count_target, mass_target) || m == kept - 1) {
            cutoff->probability = p[i];
            cutoff->index = i;
            *mass_out = mass;
            *leaves_out = count < eligible;
            free(members);
            return 1;
        }
    }
    free(members);  // unreachable: the boundary bin holds at least one token
    *cutoff = limit;
    *mass_out = mass;
    *leaves_out = 0;
    return 0;
}

double rl_rank_mass(const float *p, long n, float floor, rl_rank_cutoff cutoff) {
#pragma clang fp reassociate(on)
    double mass = 0;
    for (long i = 0; i < n; i++) mass += is_kept(p[i], i, floor, cutoff) ? (double)p[i] : 0.0;
    return mass;
}

long rl_rank_draw(const float *p, long n, float floor, rl_rank_cutoff cutoff, double target) {
    // Whole blocks are skipped by their sums; only the block where the target runs out is walked.
    enum { BLOCK = 64 };
    long last = 0, last_skipped = -1;
    for (long b0 = 0; b0 < n; b0 += BLOCK) {
        long b1 = b0 + BLOCK < n ? b0 + BLOCK : n;
        rl_rank_cutoff local = {cutoff.probability, cutoff.index - b0};
        double block = rl_rank_mass(p + b0, b1 - b0, floor, local);
        if (block == 0) continue;
        if (target - block >= 0) {
            target -= block;
            last_skipped = b0;
            continue;
        }
        for (long i = b0; i < b1; i++) {
            if (!is_kept(p[i], i, floor, cutoff)) continue;
            target -= p[i];
            if (target < 0) return i;
            last = i;
            last_skipped = -1;
        }
    }
    if (last_skipped >= 0) {  // the target outlasted every token: the last kept one
        long b1 = last_skipped + BLOCK < n ? last_skipped + BLOCK : n;
        for (long i = b1 - 1; i >= last_skipped; i--) {
            if (is_kept(p[i], i, floor, cutoff)) return i;
        }
    }
    return last;
}
