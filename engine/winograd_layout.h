/* The layout behind winograd.c's F(2x2, 3x3) path, shared by its forward, input-gradient
 * and weight-gradient code: tiles of 2x2 outputs, panels of whole tile rows over the
 * batch (or the whole batch as one panel for wide layers), the strides of the 16
 * transformed matrices, and the workspace a call carves up. Internal to the engine: sizes
 * and pointers only; the arithmetic is in winograd.c. */
#ifndef REUSENET_WINOGRAD_LAYOUT_H
#define REUSENET_WINOGRAD_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "blas.h"
#include "conv2d.h"

/* Tile rows and columns of 2x2 outputs. */
static inline int tile_rows(const Conv2dShape *s) { return (s->oh + 1) / 2; }
static inline int tile_cols(const Conv2dShape *s) { return (s->ow + 1) / 2; }

/* Strides of the 16 matrices of U or M (O, C), V (C, np) and M or U'' (O, np), np the
 * tiles of a panel. */
size_t winograd_pairs_stride(const Conv2dShape *s);
size_t winograd_in_stride(const Conv2dShape *s, size_t np);
size_t winograd_out_stride(const Conv2dShape *s, size_t np);
/* True when the whole batch is one panel (wide layers; winograd_layout.c says why). */
bool winograd_whole_batch(const Conv2dShape *s);
/* Tile rows per panel, and the panels that cover the batch. */
int winograd_panel_rows(const Conv2dShape *s);
int winograd_panel_count(const Conv2dShape *s);

/* The workspace: U (16, O, C); per slot, the even and odd columns of the four input rows
 * of a tile row and a spare output row; then V (16, C, tiles) and M (16, O, tiles) of a
 * panel, one per slot, or one for the whole batch. work = NULL only sizes it. */
typedef struct WinogradWork {
    float *u, *rowbufs, *panels;
    size_t rowbuf_floats, panel_floats, total;
} WinogradWork;

WinogradWork winograd_work(const Conv2dShape *s, float *work);
/* Floats a dilated conv adds for its gathered polyphase input and output (0 undilated). */
size_t winograd_polyphase_floats(const Conv2dShape *s);

/* The calling thread's row buffer; its spare output row follows the eight split rows. */
static inline float *thread_rowbuf(const WinogradWork *ww)
{
    return ww->rowbufs + ww->rowbuf_floats * engine_thread_index();
}

static inline float *spare_row(const Conv2dShape *s, float *rowbuf)
{
    return rowbuf + 8 * ((size_t)tile_cols(s) + 1);
}

#endif
