/* The forward pass of a model as a flat program that can be resumed at any layer: the one
 * description of each architecture (models/pspnet.c and models/unet.c write it with the
 * graph_* builders below, declaring each conv+BN row where they wire it; the layer table
 * is what the builders record), run by model_forward().
 *
 * Why a program: the swap scan (docs/method.md, "The swap scan") evaluates the target
 * once per swapped tensor. A swap at layer k changes nothing computed before layer k, so the
 * activations in front of k can be taken from the unmodified model's forward pass instead
 * of being recomputed. To do that, the forward pass is written as a list of steps over
 * numbered values (each value written once):
 *
 *   value 0            the input x
 *   value s + 1        the output of step s
 *   the last value     the logits
 *
 * Running the steps from step j on needs only the values that are defined before j and
 * used at or after j: the "live-in" values of j (for a UNet decoder layer, the encoder's
 * skip outputs; inside a PSPNet residual block, the block's input). Resuming at the step
 * of layer k with the baseline's live-in values gives bitwise the logits of a full
 * forward pass of the swapped model, because every step before it would compute exactly
 * what the baseline computed.
 *
 * tests/test_reuse_swap.c checks that resuming at every layer gives bitwise the logits
 * of a full pass, and tests/torch/check_models.py that the full pass is PyTorch's. */
#ifndef REUSENET_FORWARD_GRAPH_H
#define REUSENET_FORWARD_GRAPH_H

#include <stdbool.h>

#include "models/model.h"

typedef enum GraphOp {
    GRAPH_LAYER,        /* model_apply_layer(layer, in[0], relu) */
    GRAPH_MAXPOOL,      /* maxpool2d(in[0], k, stride, pad) */
    GRAPH_AVGPOOL,      /* adaptive_avgpool2d(in[0], k, k) */
    GRAPH_RESIZE_LIKE,  /* resize_bilinear(in[0]) to the height and width of in[1] */
    GRAPH_CONCAT,       /* concat_resized(in[0..n_in-1]): along channels, each input
                         * resized to in[0]'s height and width where it differs */
    GRAPH_ADD_RELU,     /* relu(add(in[0], in[1])): the end of a residual block */
} GraphOp;

#define GRAPH_MAX_INPUTS 5

typedef struct GraphStep {
    GraphOp op;
    int in[GRAPH_MAX_INPUTS];   /* value numbers */
    int n_in;
    int layer;                  /* GRAPH_LAYER: layer number (1..L, 0 = head) */
    bool relu;                  /* GRAPH_LAYER: ReLU after the BN */
    int k, stride, pad;         /* pools */
} GraphStep;

typedef struct ForwardGraph {
    GraphStep *steps;
    int n_steps;                /* values: 0 .. n_steps */
    int *layer_step;            /* [n_layers]: step of each table row (layers 1..L, head) */
    int n_layers;
    int *last_use;              /* [n_steps + 1]: the last step reading each value, -1 if none */
    int *channels;              /* [n_steps + 1]: channels of each value (the shape pass) */
} ForwardGraph;

#define GRAPH_INPUT 0           /* the value number of the input x */

/* Build m's layer table (m->layers, n_layers, n_numbered; no tensors yet) and program by
 * running its architecture's build function (model_arch_info(m->cfg.arch)->build), then
 * check the result: one head, declared last; each row's step after the step of the row
 * before it (the swap scan resumes at layer k's step with the baseline's values, which
 * is exact only if no layer >= k runs before that step); layers 1..backbone_rows exist
 * and have the ResNet initialisation. A broken architecture stops with file:line. */
void forward_graph_build(ForwardGraph *g, Model *m);
/* The same with a given build function, and without the backbone check (tests). */
void forward_graph_build_with(ForwardGraph *g, Model *m, void (*build)(ForwardGraph *, Model *));
void forward_graph_free(ForwardGraph *g);

/* One conv + BN row as an architecture declares it, where it wires it. The row's input
 * channels are those of the value it reads; its number is the next in declaration order
 * (docs/models.md, "Layer numbering": layer k is the k-th conv followed by a BN). */
typedef struct ConvRow {
    const char *conv, *bn;      /* PyTorch module names: "layer1.0.conv1", "layer1.0.bn1";
                                 * bn is NULL for the head */
    int out_ch, kernel, stride, pad, dilation;
    bool bias;                  /* the conv has a bias */
    bool relu;                  /* ReLU after the BN (after the conv for the head) */
    LayerInit init;
} ConvRow;

/* Builders, used by the architectures' build functions: each appends one step reading
 * the given values and returns the number of the value it writes. graph_conv declares
 * the next numbered row and applies it; graph_head declares the head (no BN), which
 * comes last. */
int graph_conv(ForwardGraph *g, Model *m, int in, const ConvRow *row);
int graph_head(ForwardGraph *g, Model *m, int in, const ConvRow *row);
int graph_maxpool(ForwardGraph *g, int in, int k, int stride, int pad);
int graph_avgpool(ForwardGraph *g, int in, int bins);
int graph_resize_like(ForwardGraph *g, int in, int like);   /* to the H, W of value like */
int graph_concat(ForwardGraph *g, const int *ins, int n_in);  /* at ins[0]'s H, W */
int graph_add_relu(ForwardGraph *g, int a, int b);        /* a and b: equal channels */
/* The channels of value v, from the shape pass as the graph is built. */
int graph_channels(const ForwardGraph *g, int v);

/* The step that applies layer k (1..L, 0 = head). */
int forward_graph_layer_step(const ForwardGraph *g, int k);
/* True when value v must be supplied to resume at step j (defined before j, used at or
 * after j). Value 0 (the input) is live wherever a later step reads it. */
bool forward_graph_live_in(const ForwardGraph *g, int j, int v);

/* Run steps from..n_steps-1. values[] has n_steps + 1 slots; on entry the live-in values
 * of `from` must be set (values[0] = x for from = 0), on return every value from `from`
 * on is set (in t's arena). Returns the logits, values[n_steps]. free_dead (inference
 * only): each value computed here is given back to the tape (tape_release) after its
 * last reader, its data then NULL, so that the pass holds only live activations; the
 * swap scan, which keeps values to resume from, passes false. */
Tensor *forward_graph_run(const ForwardGraph *g, Model *m, Tape *t, Tensor **values, int from,
                          bool free_dead);

/* Run steps from..to-1 only (to <= n_steps), the live-in values of `from` set on entry;
 * returns values[to]. Each value v >= free_from is given back to the tape after its last
 * reader among these steps (n_steps + 1: none). forward_graph_run is
 * forward_graph_run_steps(.., from, n_steps, free_dead ? from + 1 : n_steps + 1). */
Tensor *forward_graph_run_steps(const ForwardGraph *g, Model *m, Tape *t, Tensor **values,
                                int from, int to, int free_from);

/* The shape pass: channels, height and width of every value for an h x w input, by each
 * op's size rule, without running it. shapes[] has n_steps + 1 entries. */
typedef struct ValueShape {
    int c, h, w;
} ValueShape;
void forward_graph_shapes(const ForwardGraph *g, Model *m, int h, int w, ValueShape *shapes);

/* Multiply-accumulates of step s given the shapes in values[] of a finished run (conv
 * layers; the other ops count their output elements, a small term). */
double forward_graph_step_macs(const ForwardGraph *g, Model *m, Tensor *const *values, int s);

#endif
