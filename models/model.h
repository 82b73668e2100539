/* Models: PSPNet with a ResNet-18 backbone and UNet, exactly as docs/models.md defines them.
 *
 * A Model is a ParamStore (every tensor under its PyTorch state_dict name) plus the layer
 * table: the numbered conv+BN layers 1..L in forward order, then the head (the final
 * classifier, which has no BN). Each architecture is written once, as its forward pass
 * (models/pspnet.c, models/unet.c, with the builders of forward_graph.h): every row is
 * declared where it is wired, and the table is what the builder recorded. The table is
 * the one place layers are looked up: the forward pass applies its rows by number, and
 * the reuse analysis addresses tensors through it (layer k, kind RM/RV/RW/RB/W/B). */
#ifndef REUSENET_MODEL_H
#define REUSENET_MODEL_H

#include <stdint.h>
#include <stdio.h>

#include "engine/params.h"
#include "engine/tape.h"
#include "models/param_role.h"   /* the parameter kinds RM RV RW RB W B */

typedef enum ModelArch { ARCH_PSPNET, ARCH_UNET, ARCH_COUNT } ModelArch;
typedef enum ModelTask { TASK_SEG, TASK_AUTO } ModelTask;

typedef struct ModelConfig {
    ModelArch arch;
    int in_channels;     /* 1 for MRI */
    int classes;         /* K output channels (4: background, RV, myocardium, LV) */
    int width;           /* UNet base width F (ignored by pspnet) */
    ModelTask task;      /* recorded in checkpoints */
} ModelConfig;

#define LAYER_NAME_MAX 48

/* How a row's conv weight and bias are initialised (model_init_weights). */
typedef enum LayerInit {
    LAYER_INIT_CONV_DEFAULT,  /* nn.Conv2d's default: kaiming_uniform_(a=sqrt(5)) */
    LAYER_INIT_RESNET,        /* torchvision ResNet: kaiming_normal_(fan_out, relu) */
} LayerInit;

/* One row of the layer table: a conv, its BN (none for the head), and their tensors. */
typedef struct Layer {
    int number;                      /* 1..L; 0 for the head */
    char label[12];                  /* "1".."25" or "head" */
    char conv[LAYER_NAME_MAX];       /* "layer1.0.conv1" */
    char bn[LAYER_NAME_MAX];         /* "layer1.0.bn1", "" for the head */
    int in_ch, out_ch, kernel, stride, pad, dilation;
    bool conv_bias;
    bool relu;                       /* ReLU after the BN (after the conv for the head) */
    LayerInit init;
    int param[ROLE_COUNT];           /* ParamStore index per role, -1 where absent */
    int bn_count;                    /* index of num_batches_tracked, -1 for the head */
    int out_h, out_w;                /* spatial size of its output in the last forward (for
                                      * sizes without a forward: forward_graph_shapes) */
} Layer;

struct ForwardGraph;

typedef struct Model {
    ModelConfig cfg;
    ParamStore params;
    Layer *layers;                   /* layers[0..n_numbered-1] are 1..L, then the head */
    int n_layers;                    /* numbered layers + 1 */
    int n_numbered;                  /* 25 (pspnet) or 18 (unet) */
    struct ForwardGraph *graph;      /* the forward pass, steps over the table (forward_graph.h) */
} Model;

/* What the program knows about an architecture, one record each (models/pspnet.c,
 * models/unet.c); everything else about it is in its build function. */
typedef struct ModelArchInfo {
    const char *name;               /* "pspnet": --arch and the checkpoint's 'arch' */
    /* Declares and wires every row (forward_graph.h); called by forward_graph_build. */
    void (*build)(struct ForwardGraph *g, Model *m);
    int input_multiple;             /* H and W must be multiples of it (the output stride) */
    int backbone_rows;              /* layers 1..backbone_rows are torchvision's ResNet-18
                                     * (--init-from a torchvision file); 0: none */
    int encoder_rows;               /* layers 1..encoder_rows are the encoder (what a frozen
                                     * encoder keeps fixed): PSPNet's backbone, UNet's
                                     * contracting path enc1..enc4 */
    /* The configuration off the tensors of a file without metadata (a PyTorch
     * state_dict): in_channels is dim 1 of layer 1's conv weight, classes dim 0 of the
     * head's, and, when has_width, the width (F) dim 0 of layer 1's. */
    bool has_width;
} ModelArchInfo;

const ModelArchInfo *model_arch_info(ModelArch a);

/* Declare every tensor and the layer table (values zero). -1 on a bad config. */
int model_create(Model *m, const ModelConfig *cfg);
/* The layer table and forward graph of cfg without the tensors (m->params empty): what
 * an architecture looks like, cheaply. model_free() frees it. -1 on a bad config. */
int model_describe(Model *m, const ModelConfig *cfg);
void model_free(Model *m);
/* Initialise as PyTorch/torchvision do, from a seed (same seed, same weights), each conv
 * by its row's rule: LAYER_INIT_RESNET kaiming_normal_(fan_out, relu), else Conv2d's default
 * (kaiming_uniform_(a=sqrt(5)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))), BN weight 1,
 * bias 0, running mean 0, running var 1, num_batches_tracked 0. */
void model_init_weights(Model *m, uint64_t seed);

/* Forward pass: x (N, C_in, H, W) -> logits (N, K, H, W). Train-mode BN when t->training.
 * H and W must be multiples of the architecture's input_multiple (8 for pspnet, 16 for
 * unet): check with model_check_input first, forward stops with file:line otherwise. */
Tensor *model_forward(Model *m, Tape *t, Tensor *x);
/* 0 when x (n, c, h, w) fits m; else -1 with a message (empty batch, channels, size). */
int model_check_input(const Model *m, int n, int c, int h, int w);
/* model_check_input for n inputs (of the model's channels) of h x w, and whether a forward
 * of them (training: and its backward, with the optimizer's state) fits in the memory this
 * machine has (engine/memory.h): 0, or -1 naming what it needs. The need is a lower bound:
 * training keeps every value of the graph and its gradient, an evaluation at least its
 * largest values. */
int model_check_run(Model *m, int n, int h, int w, bool training);

/* Whether s is written as a layer table row's label is ("1".."999", or "head"), as
 * analysis files name layers. */
bool model_is_layer_label(const char *s);
/* The row for layer number k (1..L), or the head for k = 0. */
Layer *model_layer(Model *m, int k);
Param *model_param(Model *m, const Layer *l, ParamRole role);   /* NULL if absent */
/* One conv + BN (+ ReLU) row of the table applied to x. */
Tensor *model_apply_layer(Model *m, Tape *t, const Layer *l, Tensor *x, bool relu);
/* Its second half: the row's BN (+ ReLU) on the conv's output y (ReLU alone, or y itself,
 * without a BN); y is given back to the tape when not recording. */
Tensor *model_apply_bn(Model *m, Tape *t, const Layer *l, Tensor *y, bool relu);

const char *model_arch_name(ModelArch a);
const char *model_task_name(ModelTask t);
int model_arch_parse(const char *s, ModelArch *out);
int model_task_parse(const char *s, ModelTask *out);

/* The table, like darknet's: number, conv/BN names, kernel, channels, stride, padding,
 * dilation, bias, parameter count; with an input size (in_h > 0) also each layer's output
 * size and forward GFLOP per image, from the shape pass (forward_graph_shapes). */
void model_print_table(Model *m, FILE *out, int in_h, int in_w);
size_t model_parameter_count(const Model *m);   /* trainable scalars */

#endif
