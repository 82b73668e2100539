/* UNet with base width F (docs/models.md, "UNet"), written once: each conv+BN row is
 * declared where it is wired, and numbered in that order. Four encoder stages and a bottom
 * stage of two 3x3 conv+BN+ReLU each, max-pooled 2x2 between them; four decoder stages
 * that join the matching encoder output with the bilinear x2 of the stage below (concat
 * [skip, up]); a 1x1 head. Every conv has a bias. Layers 1-2 enc1 ... 9-10 bottom ...
 * 17-18 dec1. */
#include <stdio.h>

#include "models/forward_graph.h"
#include "models/model_arch.h"

/* Stage "{name}": conv1 -> bn1 -> ReLU -> conv2 -> bn2 -> ReLU, 3x3, pad 1, `out` channels. */
static int stage(ForwardGraph *g, Model *m, int x, const char *name, int out)
{
    for (int j = 1; j <= 2; j++) {
        char conv[LAYER_NAME_MAX], bn[LAYER_NAME_MAX];
        snprintf(conv, sizeof conv, "%s.conv%d", name, j);
        snprintf(bn, sizeof bn, "%s.bn%d", name, j);
        x = graph_conv(g, m, x, &(ConvRow){conv, bn, out, 3, 1, 1, 1, .bias = true, .relu = true});
    }
    return x;
}

static void unet_build(ForwardGraph *g, Model *m)
{
    static const char *const enc[4] = {"enc1", "enc2", "enc3", "enc4"};
    static const char *const dec[4] = {"dec1", "dec2", "dec3", "dec4"};
    const int f = m->cfg.width;
    /* encoder: stage s has F * 2^s channels; its output is the skip of decoder stage s */
    int skips[4], x = GRAPH_INPUT;
    for (int s = 0; s < 4; s++) {
        skips[s] = x = stage(g, m, x, enc[s], f << s);
        x = graph_maxpool(g, x, 2, 2, 0);
    }
    x = stage(g, m, x, "bottom", f << 4);
    /* decoder, from the bottom up: concat [skip, bilinear x2 of x to the skip's size] */
    for (int s = 3; s >= 0; s--) {
        x = graph_concat(g, (int[]){skips[s], x}, 2);
        x = stage(g, m, x, dec[s], f << s);
    }
    graph_head(g, m, x, &(ConvRow){"head", NULL, m->cfg.classes, 1, 1, 0, 1, .bias = true,
                                   .relu = false});
}

const ModelArchInfo unet_arch = {
    .name = "unet",
    .build = unet_build,
    .input_multiple = 16,     /* four 2x2 max-pools */
    .backbone_rows = 0,
    .encoder_rows = 8,        /* enc1..enc4, two conv + BN rows each */
    .has_width = true,        /* F = layer 1's output channels */
};
