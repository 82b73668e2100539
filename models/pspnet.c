/* PSPNet with a dilated ResNet-18 backbone (output stride 8), spec/models.md.
 *
 *   conv1 7x7/2 -> maxpool 3x3/2 -> layer1 (64) -> layer2 (128, /2) -> layer3 (256, dilation 2)
 *   -> layer4 (512, dilation 4) = features f (N, 512, H/8, W/8)
 *   pyramid: for bins 1, 2, 3, 6: adaptive avg pool -> 1x1 conv 512->128 + BN + ReLU
 *            -> bilinear back to H/8 x W/8
 *   concat [f, p1, p2, p3, p6] (1024) -> 3x3 conv 256 + BN + ReLU -> 1x1 classifier -> bilinear
 *   to H x W. */
#include <stdio.h>
#include <string.h>

#include "engine/error.h"
#include "models/forward_graph.h"
#include "models/model_arch.h"

static const int ppm_bins[4] = {1, 2, 3, 6};

void layer_describe(Layer *l, const char *conv, const char *bn, int in_ch, int out_ch,
                    int kernel, int stride, int pad, int dilation, bool bias)
{
    snprintf(l->conv, sizeof l->conv, "%s", conv);
    snprintf(l->bn, sizeof l->bn, "%s", bn);
    l->in_ch = in_ch;
    l->out_ch = out_ch;
    l->kernel = kernel;
    l->stride = stride;
    l->pad = pad;
    l->dilation = dilation;
    l->conv_bias = bias;
}

/* Rows for one BasicBlock "layerX.Y": conv1 (carries stride and dilation), conv2, and the
 * 1x1 downsample when the block changes shape. Returns the next free row. */
static Layer *describe_block(Layer *l, int stage, int block, int in_ch, int out_ch,
                             int stride, int dilation)
{
    char conv[LAYER_NAME_MAX], bn[LAYER_NAME_MAX];
    for (int j = 1; j <= 2; j++) {
        snprintf(conv, sizeof conv, "layer%d.%d.conv%d", stage, block, j);
        snprintf(bn, sizeof bn, "layer%d.%d.bn%d", stage, block, j);
        layer_describe(l, conv, bn, j == 1 ? in_ch : out_ch, out_ch, 3, j == 1 ? stride : 1,
                       dilation, dilation, false);
        l->torchvision_init = true;
        l++;
    }
    if (in_ch != out_ch || stride != 1) {
        snprintf(conv, sizeof conv, "layer%d.%d.downsample.0", stage, block);
        snprintf(bn, sizeof bn, "layer%d.%d.downsample.1", stage, block);
        layer_describe(l, conv, bn, in_ch, out_ch, 1, stride, 0, 1, false);
        l->torchvision_init = true;
        l++;
    }
    return l;
}

void pspnet_describe(const ModelConfig *cfg, Layer *layers)
{
    Layer *l = layers;
    layer_describe(l, "conv1", "bn1", cfg->in_channels, 64, 7, 2, 3, 1, false);
    l->torchvision_init = true;
    l++;
    static const struct { int in, out, stride, dilation; } stages[4] = {
        {64, 64, 1, 1}, {64, 128, 2, 1}, {128, 256, 1, 2}, {256, 512, 1, 4}};
    for (int s = 0; s < 4; s++) {
        l = describe_block(l, s + 1, 0, stages[s].in, stages[s].out, stages[s].stride,
                           stages[s].dilation);
        l = describe_block(l, s + 1, 1, stages[s].out, stages[s].out, 1, stages[s].dilation);
    }
    for (int i = 0; i < 4; i++) {
        char conv[LAYER_NAME_MAX], bn[LAYER_NAME_MAX];
        snprintf(conv, sizeof conv, "ppm.%d.conv", i);
        snprintf(bn, sizeof bn, "ppm.%d.bn", i);
        layer_describe(l++, conv, bn, 512, 128, 1, 1, 0, 1, true);
    }
    layer_describe(l++, "bottleneck.conv", "bottleneck.bn", 1024, 256, 3, 1, 1, 1, true);
    CHECK(l - layers == PSPNET_LAYERS, "pspnet table has %d rows", (int)(l - layers));
    layer_describe(l, "classifier", "", 256, cfg->classes, 1, 1, 0, 1, true);
}

/* BasicBlock starting at table row k on value x: relu(bn2(conv2(relu(bn1(conv1 x)))) +
 * shortcut), shortcut = x, or downsample (row k+2) when the block has one. Writes the
 * block's output value to *x; returns the next row. */
static int basic_block(ForwardGraph *g, Model *m, int k, int *x)
{
    int h = graph_layer(g, m, k, *x, true);
    h = graph_layer(g, m, k + 1, h, false);
    int shortcut = *x, next = k + 2;
    if (next <= PSPNET_LAYERS && strstr(model_layer(m, next)->conv, "downsample")) {
        shortcut = graph_layer(g, m, next, *x, false);
        next++;
    }
    *x = graph_add_relu(g, h, shortcut);
    return next;
}

void pspnet_graph(ForwardGraph *g, Model *m)
{
    int v = graph_layer(g, m, 1, 0, true);
    v = graph_maxpool(g, v, 3, 2, 1);
    int k = 2;
    while (k < 21) k = basic_block(g, m, k, &v);           /* layers 2..20: the backbone */
    int branches[5] = {v};
    for (int i = 0; i < 4; i++) {                          /* layers 21..24: the pyramid */
        int p = graph_avgpool(g, v, ppm_bins[i]);
        branches[1 + i] = graph_layer(g, m, 21 + i, p, true);
    }
    int y = graph_concat(g, branches, 5);                  /* branches resized to v's size */
    y = graph_layer(g, m, 25, y, true);
    y = graph_layer(g, m, 0, y, false);
    graph_resize_like(g, y, 0);                            /* to the input's size */
}
