/* The layer table and everything generic over architectures. */
#include <stdlib.h>
#include <string.h>

#include "engine/batchnorm.h"
#include "engine/conv2d.h"
#include "engine/error.h"
#include "engine/memory.h"
#include "engine/relu.h"
#include "models/forward_graph.h"
#include "models/model.h"
#include "models/model_arch.h"

static const ModelArchInfo *const archs[ARCH_COUNT] = {[ARCH_PSPNET] = &pspnet_arch,
                                                       [ARCH_UNET] = &unet_arch};

const ModelArchInfo *model_arch_info(ModelArch a)
{
    CHECK(a >= 0 && a < ARCH_COUNT, "no architecture %d", (int)a);
    return archs[a];
}

const char *model_arch_name(ModelArch a) { return model_arch_info(a)->name; }
const char *model_task_name(ModelTask t) { return t == TASK_SEG ? "seg" : "auto"; }

int model_arch_parse(const char *s, ModelArch *out)
{
    for (int a = 0; a < ARCH_COUNT; a++)
        if (!strcmp(s, archs[a]->name)) {
            *out = (ModelArch)a;
            return 0;
        }
    return error_set("unknown architecture '%s' (pspnet or unet)", s);
}

int model_task_parse(const char *s, ModelTask *out)
{
    if (!strcmp(s, "seg")) *out = TASK_SEG;
    else if (!strcmp(s, "auto")) *out = TASK_AUTO;
    else return error_set("unknown task '%s' (seg or auto)", s);
    return 0;
}

/* Declare the tensors of one table row under their PyTorch names. */
static void declare_layer(ParamStore *ps, Layer *l)
{
    char name[PARAM_NAME_MAX];
    snprintf(name, sizeof name, "%s.weight", l->conv);
    l->param[ROLE_W] = params_add(ps, name, PARAM_TRAINABLE, 4,
                                  (int[]){l->out_ch, l->in_ch, l->kernel, l->kernel});
    if (l->conv_bias) {
        snprintf(name, sizeof name, "%s.bias", l->conv);
        l->param[ROLE_B] = params_add(ps, name, PARAM_TRAINABLE, 1, (int[]){l->out_ch});
    }
    if (!l->bn[0]) return;
    static const struct { ParamRole role; const char *suffix; ParamKind kind; } bn_tensors[] = {
        {ROLE_RW, "weight", PARAM_TRAINABLE}, {ROLE_RB, "bias", PARAM_TRAINABLE},
        {ROLE_RM, "running_mean", PARAM_BUFFER}, {ROLE_RV, "running_var", PARAM_BUFFER},
    };
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", l->bn, bn_tensors[i].suffix);
        l->param[bn_tensors[i].role] = params_add(ps, name, bn_tensors[i].kind, 1,
                                                  (int[]){l->out_ch});
    }
    snprintf(name, sizeof name, "%s.num_batches_tracked", l->bn);
    l->bn_count = params_add(ps, name, PARAM_COUNTER, 0, NULL);
}

int model_describe(Model *m, const ModelConfig *cfg)
{
    memset(m, 0, sizeof *m);
    if (cfg->arch < 0 || cfg->arch >= ARCH_COUNT)
        return error_set("no architecture %d", (int)cfg->arch);
    const ModelArchInfo *a = model_arch_info(cfg->arch);
    if (cfg->in_channels < 1 || cfg->in_channels > 1024)
        return error_set("input channels must be 1..1024, got %d", cfg->in_channels);
    if (cfg->classes < 1 || cfg->classes > 1024)
        return error_set("classes must be 1..1024, got %d", cfg->classes);
    if (a->has_width && (cfg->width < 1 || cfg->width > 1024))
        return error_set("%s width must be 1..1024, got %d", a->name, cfg->width);
    m->cfg = *cfg;
    if (!a->has_width) m->cfg.width = 0;
    params_init(&m->params);
    m->graph = xmalloc(sizeof *m->graph);
    forward_graph_build(m->graph, m);
    return 0;
}

int model_create(Model *m, const ModelConfig *cfg)
{
    if (model_describe(m, cfg)) return -1;
    for (int i = 0; i < m->n_layers; i++) declare_layer(&m->params, &m->layers[i]);
    /* values and gradients, before they are allocated */
    double floats = 0;
    for (int i = 0; i < m->params.count; i++)
        floats += (m->params.items[i].kind == PARAM_TRAINABLE ? 2.0 : 1.0) *
                  (double)m->params.items[i].t.size;
    char what[96];
    snprintf(what, sizeof what, "a %s model%s (%.0f million parameters)", model_arch_name(cfg->arch),
             model_arch_info(cfg->arch)->has_width ? " of that width" : "", floats / 2e6);
    if (memory_check(4 * floats, what)) {
        model_free(m);
        return -1;
    }
    params_finalize(&m->params);
    return 0;
}

void model_free(Model *m)
{
    params_free(&m->params);
    free(m->layers);
    if (m->graph) forward_graph_free(m->graph);
    free(m->graph);
    memset(m, 0, sizeof *m);
}

bool model_is_layer_label(const char *s)
{
    if (!strcmp(s, "head")) return true;
    size_t n = strspn(s, "0123456789");
    return n >= 1 && n <= 3 && !s[n] && s[0] != '0';
}

Layer *model_layer(Model *m, int k)
{
    CHECK(k >= 0 && k <= m->n_numbered, "layer %d out of range 1..%d", k, m->n_numbered);
    return k ? &m->layers[k - 1] : &m->layers[m->n_numbered];
}

Param *model_param(Model *m, const Layer *l, ParamRole role)
{
    return l->param[role] < 0 ? NULL : params_get(&m->params, l->param[role]);
}

Tensor *model_apply_layer(Model *m, Tape *t, const Layer *l, Tensor *x, bool relu_after)
{
    Param *b = model_param(m, l, ROLE_B);
    Tensor *y = conv2d(t, x, &model_param(m, l, ROLE_W)->t, b ? &b->t : NULL, l->stride,
                       l->pad, l->dilation);
    Layer *row = &m->layers[l - m->layers];     /* the table notes where the layer ran */
    row->out_h = y->shape[2];
    row->out_w = y->shape[3];
    return model_apply_bn(m, t, l, y, relu_after);
}

Tensor *model_apply_bn(Model *m, Tape *t, const Layer *l, Tensor *y, bool relu_after)
{
    if (l->bn[0]) {
        Param *rm = model_param(m, l, ROLE_RM), *rv = model_param(m, l, ROLE_RV);
        BatchNorm2dArgs a = {
            .weight = &model_param(m, l, ROLE_RW)->t,
            .bias = &model_param(m, l, ROLE_RB)->t,
            .running_mean = &rm->t,
            .running_var = &rv->t,
            .num_batches_tracked = &params_get(&m->params, l->bn_count)->counter,
            .update_mean = !rm->frozen,
            .update_var = !rv->frozen,
        };
        Tensor *out = relu_after ? batchnorm2d_relu(t, y, &a) : batchnorm2d(t, y, &a);
        if (!t->recording) tape_release(t, y);    /* the conv's output: read by the BN only */
        return out;
    }
    return relu_after ? relu(t, y) : y;
}

int model_check_input(const Model *m, int n, int c, int h, int w)
{
    const int multiple = model_arch_info(m->cfg.arch)->input_multiple;
    if (n < 1) return error_set("empty batch");
    if (c != m->cfg.in_channels)
        return error_set("input has %d channels, the %s model takes %d", c,
                         model_arch_name(m->cfg.arch), m->cfg.in_channels);
    if (h < 1 || w < 1) return error_set("input size %dx%d: no pixels", h, w);
    if (h < multiple || w < multiple || h % multiple || w % multiple)
        return error_set("input size %dx%d: %s needs height and width that are multiples of %d",
                         h, w, model_arch_name(m->cfg.arch), multiple);
    return 0;
}

int model_check_run(Model *m, int n, int h, int w, bool training)
{
    if (model_check_input(m, n, m->cfg.in_channels, h, w)) return -1;
    ValueShape *vs = xmalloc(sizeof *vs * (size_t)(m->graph->n_steps + 1));
    forward_graph_shapes(m->graph, m, h, w, vs);
    double all = 0, largest = 0;
    for (int s = 0; s <= m->graph->n_steps; s++) {
        double v = (double)vs[s].c * vs[s].h * vs[s].w * n;
        all += v;
        largest = v > largest ? v : largest;
    }
    free(vs);
    const double params = (double)m->params.n_values * (training ? 4 : 2) + (double)m->params.n_buffers;
    const double floats = params + (training ? 2 * all : 3 * largest);
    char what[128];
    snprintf(what, sizeof what, "%s %d input%s of %dx%d", training ? "a training step on" :
             "a forward pass of", n, n == 1 ? "" : "s", h, w);
    return memory_check(4 * floats, what);
}

Tensor *model_forward(Model *m, Tape *t, Tensor *x)
{
    tensor_check_4d("model_forward", x);
    CHECK(!model_check_input(m, x->shape[0], x->shape[1], x->shape[2], x->shape[3]), "%s",
          error_get());
    Tensor **values = tape_alloc(t, sizeof *values * (size_t)(m->graph->n_steps + 1));
    values[0] = x;
    return forward_graph_run(m->graph, m, t, values, 0, !t->recording);
}

size_t model_parameter_count(const Model *m) { return params_trainable_count(&m->params); }

void model_print_table(Model *m, FILE *out, int in_h, int in_w)
{
    bool shapes = in_h > 0 && in_w > 0 && !model_check_input(m, 1, m->cfg.in_channels, in_h, in_w);
    ValueShape *vs = NULL;
    if (shapes) {
        vs = xmalloc(sizeof *vs * (size_t)(m->graph->n_steps + 1));
        forward_graph_shapes(m->graph, m, in_h, in_w, vs);
    }
    fprintf(out, "%-5s %-23s %-23s %-6s %5s %5s %2s %2s %2s %-4s %9s", "layer", "conv", "bn",
            "kernel", "in", "out", "s", "p", "d", "bias", "params");
    if (shapes) fprintf(out, " %9s %7s", "output", "GFLOP");
    fputc('\n', out);
    double total = 0;
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        size_t count = 0;
        for (int r = 0; r < ROLE_COUNT; r++)
            if (l->param[r] >= 0 && m->params.items[l->param[r]].kind == PARAM_TRAINABLE)
                count += m->params.items[l->param[r]].t.size;
        char kernel[16];
        snprintf(kernel, sizeof kernel, "%dx%d", l->kernel, l->kernel);
        fprintf(out, "%-5s %-23s %-23s %-6s %5d %5d %2d %2d %2d %-4s %9zu", l->label, l->conv,
                l->bn[0] ? l->bn : "-", kernel, l->in_ch, l->out_ch, l->stride, l->pad,
                l->dilation, l->conv_bias ? "yes" : "no", count);
        if (shapes) {
            const ValueShape *y = &vs[m->graph->layer_step[i] + 1];   /* the row's output */
            /* 2 FLOP per multiply-accumulate of the convolution */
            double gflop = 2.0 * l->out_ch * l->in_ch * l->kernel * l->kernel * y->h * y->w / 1e9;
            char size[24];
            snprintf(size, sizeof size, "%dx%d", y->h, y->w);
            fprintf(out, " %9s %7.3f", size, gflop);
            total += gflop;
        }
        fputc('\n', out);
    }
    if (shapes)
        fprintf(out, "convolutions: %.2f GFLOP per %dx%d image (forward)\n", total, in_h, in_w);
    free(vs);
}
