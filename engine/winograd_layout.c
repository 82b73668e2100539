/* The F(2x2, 3x3) path's tiles, panels and workspace (winograd_layout.h). */
#include "blas.h"
#include "polyphase.h"
#include "winograd.h"
#include "winograd4.h"
#include "winograd_layout.h"

/* A panel is a run of whole tile rows (rows of 2x2 output tiles, over the batch), so
 * that the transforms run along rows: each input row is split once into its even and odd
 * columns, after which every transform is contiguous SIMD arithmetic over the tiles of a
 * row (a tile's columns are 2*tx - pad .. 2*tx - pad + 3). Its input and output
 * transforms (16*(C+O) floats per tile) are sized to stay in the core's cache between the
 * transform that writes them and the GEMMs that read them. */
enum { WINOGRAD_PANEL_FLOATS = 1 << 18, WINOGRAD_MIN_TILES = 64 };

bool winograd_applies(const Conv2dShape *s)
{
    const int d = s->dilation;
    return s->kh == 3 && s->kw == 3 && s->stride == 1 && d >= 1 && s->pad % d == 0 &&
           s->pad / d <= 2 && s->h % d == 0 && s->w % d == 0;
}

size_t winograd_matrix_stride(size_t floats)
{
    const size_t lines = (floats + 15) / 16;
    return 16 * (lines | 1);
}

/* Strides of the 16 matrices of U or M (O, C), V (C, np) and M or U'' (O, np). */
size_t winograd_pairs_stride(const Conv2dShape *s)
{
    return winograd_matrix_stride((size_t)s->o * s->c);
}

size_t winograd_in_stride(const Conv2dShape *s, size_t np)
{
    return winograd_matrix_stride(s->c * np);
}

size_t winograd_out_stride(const Conv2dShape *s, size_t np)
{
    return winograd_matrix_stride(s->o * np);
}

/* Wide layers (many channels) take the whole batch as one panel: per panel, the GEMMs
 * read all of U (16*O*C floats: 16 MB for 512 x 512 channels), which for small panels
 * costs more than the GEMMs' arithmetic. One panel of every tile instead makes 16 large
 * GEMMs, with the transforms shared out by channel. Measured on UNet's and PSPNet's
 * layers: from 128 x 128 channels on (U as large as a panel) this is 4-8 % faster; below,
 * the panels in cache are, by up to 2x. The 16 GEMMs are shared out among the threads,
 * each on one thread, rather than each split among all: at 2 threads a training step
 * took 12 % less (UNet F=32 631 -> 556 ms, F=64 1924 -> 1758 ms, PSPNet 383 -> 355 ms;
 * F(4x4, 3x3), winograd4.c, does the same), and each GEMM's result is then the same
 * whatever the thread count. */
bool winograd_whole_batch(const Conv2dShape *s)
{
    return 16 * (size_t)s->o * s->c >= WINOGRAD_PANEL_FLOATS;
}

/* Wide layers on small maps take F(4x4, 3x3) (winograd4.h) where it needs fewer
 * multiplies and has enough tiles: rows of at most 4 tiles of 2x2 outputs are too short
 * for the row transforms' SIMD, where winograd4.c's transforms run over the batch's
 * sub-images, and its GEMMs do down to 0.5625x the work. Measured on PSPNet at batch 8,
 * 2 threads, where it takes layer3 and layer4 (8 x 8 and 4 x 4 sub-images, 128 tiles
 * each): an eval forward 213 -> 135 ms, a training step 700 -> 416 ms (F(2x2, 3x3) with
 * the batch-innermost tile order: 158 and 472 ms). Its GEMMs are (O, C) @ (C, tiles), and
 * below 128 tiles they run far from the BLAS's peak: UNet's 8 x 8 bottom at batch 8 (32
 * tiles) took 10-25 % longer than with F(2x2, 3x3). */
enum { F4X4_MIN_TILES = 128 };

bool winograd_uses_f4x4(const Conv2dShape *s)
{
    const Conv2dShape sub = polyphase_conv_shape(s);
    /* multiplies per channel pair: 16 per 2x2 tile, 36 per 4x4 tile; maps below 4 x 4
     * (2 x 2: 16 against 36) stay with F(2x2, 3x3) */
    const size_t f4_tiles = (size_t)((sub.oh + 3) / 4) * ((sub.ow + 3) / 4);
    const size_t f2 = 16 * (size_t)tile_rows(&sub) * tile_cols(&sub), f4 = 36 * f4_tiles;
    return winograd_whole_batch(&sub) && tile_cols(&sub) <= 4 && f4 < f2 &&
           f4_tiles * sub.n >= F4X4_MIN_TILES;
}

/* Tile rows per panel. */
int winograd_panel_rows(const Conv2dShape *s)
{
    const size_t row = (size_t)tile_cols(s), rows = (size_t)s->n * tile_rows(s);
    if (winograd_whole_batch(s)) return (int)rows;
    size_t tiles = WINOGRAD_PANEL_FLOATS / (16 * (size_t)(s->c + s->o));
    if (tiles < WINOGRAD_MIN_TILES) tiles = WINOGRAD_MIN_TILES;
    size_t r = tiles / row;
    if (r < 1) r = 1;
    return (int)(r < rows ? r : rows);
}

/* Panels of winograd_panel_rows() tile rows that cover the batch. */
int winograd_panel_count(const Conv2dShape *s)
{
    const int all_rows = s->n * tile_rows(s), per_panel = winograd_panel_rows(s);
    return (all_rows + per_panel - 1) / per_panel;
}

/* A workspace slot per processor (engine_processors), not per current thread count:
 * sized once, it fits whatever engine_set_threads() says later (as conv2d's). */
static int winograd_slots(void) { return engine_processors(); }


WinogradWork winograd_work(const Conv2dShape *s, float *work)
{
    const size_t slots = (size_t)winograd_slots(), tw = (size_t)tile_cols(s);
    const size_t u = 16 * winograd_pairs_stride(s), np = (size_t)winograd_panel_rows(s) * tw;
    /* Each thread's row buffer is rounded up to whole cache lines (16 floats): two threads
     * writing into one line would pass it back and forth (PSPNet's layer4, 2 tiles a row:
     * 28 floats a buffer, the input transform took twice the time on 2 threads). */
    const size_t rowbuf = (8 * (tw + 1) + 2 * tw + 15) / 16 * 16;
    WinogradWork ww = {NULL, NULL, NULL, rowbuf,
                       16 * (winograd_in_stride(s, np) + winograd_out_stride(s, np)), 0};
    ww.total = u + slots * ww.rowbuf_floats + (winograd_whole_batch(s) ? 1 : slots) * ww.panel_floats;
    if (work) {
        ww.u = work;
        ww.rowbufs = work + u;
        ww.panels = ww.rowbufs + slots * ww.rowbuf_floats;
    }
    return ww;
}

/* Dilated convs (polyphase.h) add the gathered input and output to the workspace of the
 * undilated conv on the sub-images. */
size_t winograd_polyphase_floats(const Conv2dShape *s)
{
    return s->dilation > 1 ? (size_t)s->n * ((size_t)s->c * s->h * s->w +
                                             (size_t)s->o * s->oh * s->ow) : 0;
}

size_t winograd_workspace_floats(const Conv2dShape *s)
{
    if (winograd_uses_f4x4(s)) return winograd4_workspace_floats(s);
    const Conv2dShape sub = polyphase_conv_shape(s);  /* s itself for dilation 1 */
    return winograd_polyphase_floats(s) + winograd_work(&sub, NULL).total;
}
