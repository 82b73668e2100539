/* The forward graph builder as the one description of an architecture:
 *   - the layer table it records is docs/models.md's: names, numbers, kernel, stride,
 *     padding, dilation, bias and each row's input channels (the expected values below
 *     are typed from that page's tables, not taken from our output);
 *   - rows are numbered in declaration order, the head is last, each row is applied by
 *     exactly one step and the steps follow the table's order (the swap scan's restart);
 *   - the builder stops a broken architecture: a row after the head, no head, two heads,
 *     an add of values of different widths, a step reading a value not yet written;
 *   - each architecture's record: input multiple, backbone rows, width;
 *   - the shape pass gives each value the shape a forward pass gives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "models/forward_graph.h"
#include "models/model.h"
#include "tests/testutil.h"

/* One row of docs/models.md's layer table: conv name, in, out, kernel, stride, pad,
 * dilation, bias. */
typedef struct SpecRow {
    const char *conv;
    int in, out, kernel, stride, pad, dilation;
    bool bias;
} SpecRow;

static void check_table(const Model *m, const SpecRow *want, int n_numbered)
{
    assert_int_equal(m->n_numbered, n_numbered);
    assert_int_equal(m->n_layers, n_numbered + 1);
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        const SpecRow *w = &want[i];
        if (strcmp(l->conv, w->conv)) fail_msg("row %d: %s, spec %s", i, l->conv, w->conv);
        assert_int_equal(l->number, i < n_numbered ? i + 1 : 0);
        assert_int_equal(l->in_ch, w->in);
        assert_int_equal(l->out_ch, w->out);
        assert_int_equal(l->kernel, w->kernel);
        assert_int_equal(l->stride, w->stride);
        assert_int_equal(l->pad, w->pad);
        assert_int_equal(l->dilation, w->dilation);
        assert_int_equal(l->conv_bias, w->bias);
        assert_int_equal(l->bn[0] != '\0', i < n_numbered);
    }
}

/* Each row applied by exactly one step, steps in table order, and the step's row is the
 * row whose number it names. */
static void check_steps(const Model *m)
{
    const ForwardGraph *g = m->graph;
    int seen = 0, last = -1;
    for (int s = 0; s < g->n_steps; s++) {
        if (g->steps[s].op != GRAPH_LAYER) continue;
        const int k = g->steps[s].layer, row = k ? k - 1 : m->n_numbered;
        assert_int_equal(row, seen);              /* rows in order, each once */
        assert_int_equal(forward_graph_layer_step(g, k), s);
        assert_true(s > last);
        last = s;
        seen++;
    }
    assert_int_equal(seen, m->n_layers);
}

/* docs/models.md, "PSPNet" and "Layer numbering", C_in = 3, K = 5 */
static void test_pspnet_table(void **state)
{
    (void)state;
    static const SpecRow want[26] = {
        {"conv1", 3, 64, 7, 2, 3, 1, false},
        {"layer1.0.conv1", 64, 64, 3, 1, 1, 1, false},
        {"layer1.0.conv2", 64, 64, 3, 1, 1, 1, false},
        {"layer1.1.conv1", 64, 64, 3, 1, 1, 1, false},
        {"layer1.1.conv2", 64, 64, 3, 1, 1, 1, false},
        {"layer2.0.conv1", 64, 128, 3, 2, 1, 1, false},
        {"layer2.0.conv2", 128, 128, 3, 1, 1, 1, false},
        {"layer2.0.downsample.0", 64, 128, 1, 2, 0, 1, false},
        {"layer2.1.conv1", 128, 128, 3, 1, 1, 1, false},
        {"layer2.1.conv2", 128, 128, 3, 1, 1, 1, false},
        {"layer3.0.conv1", 128, 256, 3, 1, 2, 2, false},
        {"layer3.0.conv2", 256, 256, 3, 1, 2, 2, false},
        {"layer3.0.downsample.0", 128, 256, 1, 1, 0, 1, false},
        {"layer3.1.conv1", 256, 256, 3, 1, 2, 2, false},
        {"layer3.1.conv2", 256, 256, 3, 1, 2, 2, false},
        {"layer4.0.conv1", 256, 512, 3, 1, 4, 4, false},
        {"layer4.0.conv2", 512, 512, 3, 1, 4, 4, false},
        {"layer4.0.downsample.0", 256, 512, 1, 1, 0, 1, false},
        {"layer4.1.conv1", 512, 512, 3, 1, 4, 4, false},
        {"layer4.1.conv2", 512, 512, 3, 1, 4, 4, false},
        {"ppm.0.conv", 512, 128, 1, 1, 0, 1, true},      {"ppm.1.conv", 512, 128, 1, 1, 0, 1, true},
        {"ppm.2.conv", 512, 128, 1, 1, 0, 1, true},      {"ppm.3.conv", 512, 128, 1, 1, 0, 1, true},
        {"bottleneck.conv", 1024, 256, 3, 1, 1, 1, true},
        {"classifier", 256, 5, 1, 1, 0, 1, true},
    };
    Model m;
    assert_int_equal(model_describe(&m, &(ModelConfig){ARCH_PSPNET, 3, 5, 0, TASK_SEG}), 0);
    check_table(&m, want, 25);
    check_steps(&m);
    assert_int_equal(m.params.count, 0);               /* described, no tensors */
    for (int k = 1; k <= 25; k++) {                    /* BN names follow the conv's */
        const Layer *l = model_layer(&m, k);
        char bn[LAYER_NAME_MAX];
        snprintf(bn, sizeof bn, "%s", l->conv);
        char *p = strstr(bn, "conv");
        if (p) memcpy(p, "bn", 2), memmove(p + 2, p + 4, strlen(p + 4) + 1);
        else bn[strlen(bn) - 1] = '1';                 /* downsample.0 -> downsample.1 */
        assert_string_equal(l->bn, bn);
        /* the backbone (layers 1-20) has torchvision's initialisation, the rest PyTorch's */
        assert_int_equal(l->init == LAYER_INIT_RESNET, k <= 20);
    }
    const ModelArchInfo *a = model_arch_info(ARCH_PSPNET);
    assert_string_equal(a->name, "pspnet");
    assert_int_equal(a->input_multiple, 8);
    assert_int_equal(a->backbone_rows, 20);
    assert_false(a->has_width);
    assert_int_equal(m.cfg.width, 0);
    model_free(&m);
}

/* docs/models.md, "UNet": F = 3, C_in = 2, K = 4; decoder inputs 24F, 12F, 6F, 3F */
static void test_unet_table(void **state)
{
    (void)state;
    enum { F = 3 };
    static const char *const stages[9] = {"enc1", "enc2", "enc3", "enc4", "bottom",
                                          "dec4", "dec3", "dec2", "dec1"};
    static const int in[9] = {2, F, 2 * F, 4 * F, 8 * F, 24 * F, 12 * F, 6 * F, 3 * F};
    static const int out[9] = {F, 2 * F, 4 * F, 8 * F, 16 * F, 8 * F, 4 * F, 2 * F, F};
    SpecRow want[19];
    char names[19][LAYER_NAME_MAX];
    for (int s = 0; s < 9; s++)
        for (int j = 0; j < 2; j++) {
            snprintf(names[2 * s + j], LAYER_NAME_MAX, "%s.conv%d", stages[s], j + 1);
            want[2 * s + j] =
                (SpecRow){names[2 * s + j], j ? out[s] : in[s], out[s], 3, 1, 1, 1, true};
        }
    want[18] = (SpecRow){"head", F, 4, 1, 1, 0, 1, true};
    Model m;
    assert_int_equal(model_describe(&m, &(ModelConfig){ARCH_UNET, 2, 4, F, TASK_SEG}), 0);
    check_table(&m, want, 18);
    check_steps(&m);
    for (int i = 0; i < m.n_layers; i++)
        assert_int_equal(m.layers[i].init, LAYER_INIT_CONV_DEFAULT);
    const ModelArchInfo *a = model_arch_info(ARCH_UNET);
    assert_string_equal(a->name, "unet");
    assert_int_equal(a->input_multiple, 16);
    assert_int_equal(a->backbone_rows, 0);
    assert_true(a->has_width);
    assert_int_equal(model_check_input(&m, 1, 2, 32, 48), 0);
    assert_int_equal(model_check_input(&m, 1, 2, 32, 40), -1);      /* 40 is not a multiple of 16 */
    model_free(&m);
}

/* The shape pass gives every value the shape a forward pass gives it (non-square inputs,
 * sizes where the pyramid's bins do not divide the features). */
static void check_shape_pass(ModelArch arch, int h, int w)
{
    Model m;
    assert_int_equal(model_create(&m, &(ModelConfig){arch, 2, 3, 2, TASK_SEG}), 0);
    const ForwardGraph *g = m.graph;
    ValueShape *vs = calloc((size_t)g->n_steps + 1, sizeof *vs);
    forward_graph_shapes(g, &m, h, w, vs);
    Tape t;
    tape_init(&t, 0);
    t.recording = t.training = false;
    Tensor **values = calloc((size_t)g->n_steps + 1, sizeof *values);
    values[0] = tape_tensor4(&t, 1, 2, h, w);
    memset(values[0]->data, 0, values[0]->size * sizeof(float));
    forward_graph_run(g, &m, &t, values, 0, false);
    for (int v = 0; v <= g->n_steps; v++) {
        const Tensor *x = values[v];
        if (x->shape[1] != vs[v].c || x->shape[2] != vs[v].h || x->shape[3] != vs[v].w)
            fail_msg("%s value %d: forward %dx%dx%d, shape pass %dx%dx%d", model_arch_name(arch),
                     v, x->shape[1], x->shape[2], x->shape[3], vs[v].c, vs[v].h, vs[v].w);
        assert_int_equal(vs[v].c, graph_channels(g, v));
    }
    assert_int_equal(vs[g->n_steps].h, h);          /* logits at the input's size */
    assert_int_equal(vs[g->n_steps].w, w);
    tape_free(&t);
    free(values);
    free(vs);
    model_free(&m);
}

static void test_shape_pass(void **state)
{
    (void)state;
    check_shape_pass(ARCH_PSPNET, 40, 56);
    check_shape_pass(ARCH_UNET, 48, 32);
}

/* ---- a toy architecture and broken ones ------------------------------------------------ */

static ConvRow row(const char *conv, const char *bn, int out)
{
    return (ConvRow){conv, bn, out, 3, 1, 1, 1, .bias = false, .relu = true};
}

/* x (2) -> a (4) -> b (4); relu(a + b) -> concat [it, x] (6) -> head (3) */
static void toy_build(ForwardGraph *g, Model *m)
{
    int a = graph_conv(g, m, GRAPH_INPUT, &(ConvRow){"a", "a_bn", 4, 3, 1, 1, 1, .relu = true});
    int b = graph_conv(g, m, a, &(ConvRow){"b", "b_bn", 4, 1, 1, 0, 1, .bias = true});
    int s = graph_add_relu(g, a, b);
    int c = graph_concat(g, (int[]){s, GRAPH_INPUT}, 2);
    assert_int_equal(graph_channels(g, c), 4 + 2);
    graph_head(g, m, c, &(ConvRow){"h", NULL, 3, 1, 1, 0, 1, .bias = true});
}

static void test_toy_numbering(void **state)
{
    (void)state;
    Model m = {.cfg = {ARCH_UNET, 2, 3, 1, TASK_SEG}};
    ForwardGraph g;
    forward_graph_build_with(&g, &m, toy_build);
    assert_int_equal(m.n_numbered, 2);
    assert_int_equal(m.n_layers, 3);
    assert_string_equal(m.layers[0].label, "1");
    assert_string_equal(m.layers[1].label, "2");
    assert_string_equal(m.layers[2].label, "head");
    assert_int_equal(m.layers[0].in_ch, 2);
    assert_int_equal(m.layers[1].in_ch, 4);
    assert_int_equal(m.layers[2].in_ch, 6);
    assert_true(m.layers[0].relu && !m.layers[1].relu && !m.layers[2].relu);
    assert_true(g.steps[0].relu && !g.steps[1].relu);
    assert_int_equal(forward_graph_layer_step(&g, 1), 0);
    assert_int_equal(forward_graph_layer_step(&g, 2), 1);
    assert_int_equal(forward_graph_layer_step(&g, 0), 4);
    forward_graph_free(&g);
    free(m.layers);
}

static void build_after_head(ForwardGraph *g, Model *m)
{
    int h = graph_head(g, m, GRAPH_INPUT, &(ConvRow){"h", NULL, 3, 1, 1, 0, 1, .bias = false});
    graph_conv(g, m, h, &(ConvRow){"late", "late_bn", 3, 1, 1, 0, 1, .bias = false});
}

static void build_no_head(ForwardGraph *g, Model *m)
{
    graph_conv(g, m, GRAPH_INPUT, &(ConvRow){"a", "a_bn", 3, 1, 1, 0, 1, .bias = false});
}

static void build_two_heads(ForwardGraph *g, Model *m)
{
    int a = graph_conv(g, m, GRAPH_INPUT, &(ConvRow){"a", "a_bn", 3, 1, 1, 0, 1, .bias = false});
    int h = graph_head(g, m, a, &(ConvRow){"h", NULL, 3, 1, 1, 0, 1, .bias = false});
    graph_head(g, m, h, &(ConvRow){"h2", NULL, 3, 1, 1, 0, 1, .bias = false});
}

static void build_bad_add(ForwardGraph *g, Model *m)
{
    ConvRow r = row("a", "a_bn", 5);
    int a = graph_conv(g, m, GRAPH_INPUT, &r);
    graph_add_relu(g, a, GRAPH_INPUT);            /* 5 and 2 channels */
}

static void build_future_value(ForwardGraph *g, Model *m)
{
    ConvRow r = row("a", "a_bn", 5);
    graph_conv(g, m, 3, &r);                      /* only value 0 exists */
}

static void build_head_with_bn(ForwardGraph *g, Model *m)
{
    graph_head(g, m, GRAPH_INPUT, &(ConvRow){"h", "h_bn", 3, 1, 1, 0, 1, .bias = false});
}

static void build_long_name(ForwardGraph *g, Model *m)
{
    char name[LAYER_NAME_MAX + 8];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    ConvRow r = row(name, "bn", 3);
    graph_conv(g, m, GRAPH_INPUT, &r);
}

typedef struct BuildCase {
    void (*build)(ForwardGraph *g, Model *m);
    const char *message;
} BuildCase;

static void run_build(void *arg)
{
    Model m = {.cfg = {ARCH_UNET, 2, 3, 1, TASK_SEG}};
    ForwardGraph g;
    forward_graph_build_with(&g, &m, ((const BuildCase *)arg)->build);
}

static void test_broken_architectures_stop(void **state)
{
    (void)state;
    const BuildCase cases[] = {
        {build_after_head, "late is declared after the head h"},
        {build_no_head, "1 numbered rows and 0 heads"},
        {build_two_heads, "h2 is declared after the head h"},
        {build_bad_add, "of 5 and 2 channels"},
        {build_future_value, "a reads value 3 (values 0..0)"},
        {build_head_with_bn, "the head h has a BN (h_bn)"},
        {build_long_name, "longer than"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_exits_with_message(run_build, (void *)&cases[i], cases[i].message);
}

TEST_MAIN("forward graph", NULL, NULL,
          test_pspnet_table, test_unet_table, test_shape_pass, test_toy_numbering,
          test_broken_architectures_stop)
