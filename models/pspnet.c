/* PSPNet with a dilated ResNet-18 backbone (output stride 8), docs/models.md, written once:
 * each conv+BN row is declared where it is wired, and numbered in that order.
 *
 *   conv1 7x7/2 -> maxpool 3x3/2 -> layer1 (64) -> layer2 (128, /2) -> layer3 (256, dilation 2)
 *   -> layer4 (512, dilation 4) = features f (N, 512, H/8, W/8)
 *   pyramid: for bins 1, 2, 3, 6: adaptive avg pool -> 1x1 conv 512->128 + BN + ReLU
 *            -> bilinear back to H/8 x W/8
 *   concat [f, p1, p2, p3, p6] (1024) -> 3x3 conv 256 + BN + ReLU -> 1x1 classifier -> bilinear
 *   to H x W. */
#include <stdio.h>

#include "models/forward_graph.h"
#include "models/model_arch.h"

/* A backbone conv + BN (torchvision's names, no bias, torchvision's initialisation). */
static int backbone_conv(ForwardGraph *g, Model *m, int x, const char *block, const char *conv,
                         const char *bn, int out, int kernel, int stride, int dilation, bool relu)
{
    char conv_name[2 * LAYER_NAME_MAX], bn_name[2 * LAYER_NAME_MAX];   /* graph_conv checks */
    snprintf(conv_name, sizeof conv_name, "%s%s", block, conv);
    snprintf(bn_name, sizeof bn_name, "%s%s", block, bn);
    /* padding keeps the size at stride 1: dilation * (kernel - 1) / 2 (3 for conv1's 7x7) */
    const int pad = dilation * (kernel - 1) / 2;
    return graph_conv(g, m, x, &(ConvRow){conv_name, bn_name, out, kernel, stride, pad, dilation,
                                          .bias = false, .relu = relu, .init = LAYER_INIT_RESNET});
}

/* torchvision's BasicBlock "layer{stage}.{block}": relu(bn2(conv2(relu(bn1(conv1 x)))) +
 * shortcut); conv1 carries the stride; the shortcut is x, or downsample (1x1 conv + BN,
 * same stride) when the block changes the shape. */
static int basic_block(ForwardGraph *g, Model *m, int x, int stage, int block, int out,
                       int stride, int dilation)
{
    char name[LAYER_NAME_MAX];
    snprintf(name, sizeof name, "layer%d.%d.", stage, block);
    int h = backbone_conv(g, m, x, name, "conv1", "bn1", out, 3, stride, dilation, true);
    h = backbone_conv(g, m, h, name, "conv2", "bn2", out, 3, 1, dilation, false);
    int shortcut = x;
    if (graph_channels(g, x) != out || stride != 1)
        shortcut = backbone_conv(g, m, x, name, "downsample.0", "downsample.1", out, 1, stride, 1,
                                 false);
    return graph_add_relu(g, h, shortcut);
}

/* ResNet stage "layer{stage}": two BasicBlocks, the first with the stage's stride. */
static int res_stage(ForwardGraph *g, Model *m, int x, int stage, int out, int stride,
                     int dilation)
{
    x = basic_block(g, m, x, stage, 0, out, stride, dilation);
    return basic_block(g, m, x, stage, 1, out, 1, dilation);
}

/* Pyramid branch "ppm.{i}": adaptive avg pool to bins x bins -> 1x1 conv 128 (with bias)
 * + BN + ReLU. The concat below resizes it back to the features' size. */
static int pyramid_branch(ForwardGraph *g, Model *m, int f, int i, int bins)
{
    char conv[LAYER_NAME_MAX], bn[LAYER_NAME_MAX];
    snprintf(conv, sizeof conv, "ppm.%d.conv", i);
    snprintf(bn, sizeof bn, "ppm.%d.bn", i);
    int p = graph_avgpool(g, f, bins);
    return graph_conv(g, m, p, &(ConvRow){conv, bn, 128, 1, 1, 0, 1, .bias = true, .relu = true});
}

static void pspnet_build(ForwardGraph *g, Model *m)
{
    /* stem: conv1 7x7/2 + BN + ReLU, max-pool 3x3/2: H/4 */
    int x = backbone_conv(g, m, GRAPH_INPUT, "", "conv1", "bn1", 64, 7, 2, 1, true);
    x = graph_maxpool(g, x, 3, 2, 1);
    /* dilated ResNet-18: layer2 halves the size (H/8); layer3 and 4 dilate instead */
    x = res_stage(g, m, x, 1, 64, 1, 1);
    x = res_stage(g, m, x, 2, 128, 2, 1);
    x = res_stage(g, m, x, 3, 256, 1, 2);
    const int f = res_stage(g, m, x, 4, 512, 1, 4);
    /* pyramid pooling module: the features and four pooled branches, concatenated with
     * each branch resized (bilinear) to the features' size */
    static const int bins[4] = {1, 2, 3, 6};
    int branches[5] = {f};
    for (int i = 0; i < 4; i++) branches[1 + i] = pyramid_branch(g, m, f, i, bins[i]);
    int y = graph_concat(g, branches, 5);
    y = graph_conv(g, m, y, &(ConvRow){"bottleneck.conv", "bottleneck.bn", 256, 3, 1, 1, 1,
                                        .bias = true, .relu = true});
    /* the classifier (no BN), then bilinear to the input's size */
    y = graph_head(g, m, y, &(ConvRow){"classifier", NULL, m->cfg.classes, 1, 1, 0, 1,
                                        .bias = true, .relu = false});
    graph_resize_like(g, y, GRAPH_INPUT);
}

const ModelArchInfo pspnet_arch = {
    .name = "pspnet",
    .build = pspnet_build,
    .input_multiple = 8,      /* output stride 8: conv1, the max-pool and layer2 halve */
    .backbone_rows = 20,      /* conv1, layer1..layer4 */
    .encoder_rows = 20,       /* the backbone */
    .has_width = false,
};
