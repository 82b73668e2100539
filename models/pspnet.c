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

#include "engine/add.h"
#include "engine/avgpool2d.h"
#include "engine/concat.h"
#include "engine/error.h"
#include "engine/maxpool2d.h"
#include "engine/relu.h"
#include "engine/resize.h"
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

/* BasicBlock starting at table row k: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut),
 * shortcut = x, or downsample (row k+2) when the block has one. Returns the next row. */
static int basic_block(Model *m, Tape *t, int k, Tensor **x)
{
    const Layer *c1 = model_layer(m, k), *c2 = model_layer(m, k + 1);
    Tensor *h = model_apply_layer(m, t, c1, *x, true);
    h = model_apply_layer(m, t, c2, h, false);
    Tensor *shortcut = *x;
    int next = k + 2;
    if (next <= PSPNET_LAYERS && strstr(model_layer(m, next)->conv, "downsample")) {
        shortcut = model_apply_layer(m, t, model_layer(m, next), *x, false);
        next++;
    }
    *x = relu(t, add(t, h, shortcut));
    return next;
}

Tensor *pspnet_forward(Model *m, Tape *t, Tensor *x)
{
    const int in_h = x->shape[2], in_w = x->shape[3];
    Tensor *h = model_apply_layer(m, t, model_layer(m, 1), x, true);
    h = maxpool2d(t, h, 3, 2, 1);
    int k = 2;
    while (k < 21) k = basic_block(m, t, k, &h);           /* layers 2..20: the backbone */

    const int fh = h->shape[2], fw = h->shape[3];
    Tensor *branches[5] = {h};
    for (int i = 0; i < 4; i++) {                          /* layers 21..24: the pyramid */
        Tensor *p = adaptive_avgpool2d(t, h, ppm_bins[i], ppm_bins[i]);
        p = model_apply_layer(m, t, model_layer(m, 21 + i), p, true);
        branches[1 + i] = resize_bilinear(t, p, fh, fw);
    }
    Tensor *y = concat(t, branches, 5);
    y = model_apply_layer(m, t, model_layer(m, 25), y, true);
    y = model_apply_layer(m, t, model_layer(m, 0), y, false);
    return resize_bilinear(t, y, in_h, in_w);
}
