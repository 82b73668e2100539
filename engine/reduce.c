#include "reduce.h"

int reduce_pieces(int count)
{
    return count < 1 ? 1 : count < REDUCE_MAX_PIECES ? count : REDUCE_MAX_PIECES;
}

void reduce_piece_range(int count, int pieces, int i, int *start, int *end)
{
    *start = (int)((long long)i * count / pieces);
    *end = (int)((long long)(i + 1) * count / pieces);
}

/* Element-wise, so splitting the elements among threads changes nothing: each element's
 * sum runs over the pieces in order. In blocks, piece after piece, so that the inner loop
 * is a vectorised add over contiguous floats. */
void reduce_parts(float *dst, const float *parts, int pieces, size_t stride, size_t floats,
                  int accumulate)
{
    enum { BLOCK = 4096 };
    const size_t blocks = (floats + BLOCK - 1) / BLOCK;
#pragma omp parallel for schedule(static) if (floats > 65536)
    for (size_t b = 0; b < blocks; b++) {
        const size_t start = b * BLOCK, len = floats - start < BLOCK ? floats - start : BLOCK;
        float *d = dst + start;
        if (!accumulate)
            for (size_t i = 0; i < len; i++) d[i] = 0.0f;
        for (int p = 0; p < pieces; p++) {
            const float *part = parts + stride * (size_t)p + start;
            for (size_t i = 0; i < len; i++) d[i] += part[i];
        }
    }
}
