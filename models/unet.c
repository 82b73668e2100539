/* UNet with base width F (spec/models.md): four encoder stages and a bottom stage of two
 * 3x3 conv+BN+ReLU each, max-pooled 2x2 between them; four decoder stages that join the
 * matching encoder output with the bilinear x2 of the stage below (concat [skip, up]); a
 * 1x1 head. Every 3x3 conv has a bias. Layers 1-2 enc1 ... 9-10 bottom ... 17-18 dec1. */
#include <stdio.h>

#include "models/forward_graph.h"
#include "models/model_arch.h"

static const char *const stage_names[9] = {"enc1", "enc2", "enc3", "enc4", "bottom",
                                           "dec4", "dec3", "dec2", "dec1"};

void unet_describe(const ModelConfig *cfg, Layer *layers)
{
    const int f = cfg->width;
    /* input channels of each stage's first conv, and the stage's output channels */
    const int in_ch[9] = {cfg->in_channels, f, 2 * f, 4 * f, 8 * f,
                          8 * f + 16 * f, 4 * f + 8 * f, 2 * f + 4 * f, f + 2 * f};
    const int out_ch[9] = {f, 2 * f, 4 * f, 8 * f, 16 * f, 8 * f, 4 * f, 2 * f, f};
    for (int s = 0; s < 9; s++)
        for (int j = 1; j <= 2; j++) {
            char conv[LAYER_NAME_MAX], bn[LAYER_NAME_MAX];
            snprintf(conv, sizeof conv, "%s.conv%d", stage_names[s], j);
            snprintf(bn, sizeof bn, "%s.bn%d", stage_names[s], j);
            layer_describe(&layers[2 * s + j - 1], conv, bn, j == 1 ? in_ch[s] : out_ch[s],
                           out_ch[s], 3, 1, 1, 1, true);
        }
    layer_describe(&layers[UNET_LAYERS], "head", "", f, cfg->classes, 1, 1, 0, 1, true);
}

/* Four encoder stages (rows 2s+1, 2s+2; their output is the skip), each followed by a
 * 2x2 max-pool; the bottom stage; four decoder stages on concat [skip, bilinear x2 of the
 * stage below to the skip's size]; the 1x1 head. */
void unet_graph(ForwardGraph *g, Model *m)
{
    int skips[4], v = 0;
    for (int s = 0; s < 4; s++) {
        v = graph_layer(g, m, 2 * s + 1, v, true);
        skips[s] = v = graph_layer(g, m, 2 * s + 2, v, true);
        v = graph_maxpool(g, v, 2, 2, 0);
    }
    v = graph_layer(g, m, 9, v, true);
    v = graph_layer(g, m, 10, v, true);
    for (int s = 5; s < 9; s++) {
        /* concat [skip, bilinear x2 of v to the skip's size], in one step */
        v = graph_concat(g, (int[]){skips[8 - s], v}, 2);
        v = graph_layer(g, m, 2 * s + 1, v, true);
        v = graph_layer(g, m, 2 * s + 2, v, true);
    }
    graph_layer(g, m, 0, v, false);
}
