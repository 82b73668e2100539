/* --init-from: start a model from another checkpoint, wholly or in part (paper Table 1:
 * the reusable parameters of a source model, frozen or fine-tuned). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "train/plan_file.h"
#include "train/trainer.h"

/* Names to load: a comma-separated list, or the "tensors" array of a plan file. */
static char **read_names(const char *list, const char *plan, int *count)
{
    char **names = NULL;
    *count = 0;
    if (list) {
        char *copy = xstrdup(list), *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            names = xrealloc(names, sizeof *names * (size_t)(*count + 1));
            names[(*count)++] = xstrdup(tok);
        }
        free(copy);
        return names;
    }
    cJSON *root = plan_file_read(plan);
    if (!root) return NULL;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    cJSON *item;
    cJSON_ArrayForEach(item, arr) {     /* every one a string (plan_file_parse) */
        names = xrealloc(names, sizeof *names * (size_t)(*count + 1));
        names[(*count)++] = xstrdup(item->valuestring);
    }
    cJSON_Delete(root);
    if (!names) names = xmalloc(sizeof *names);   /* an empty plan loads nothing */
    return names;
}

/* The architectures whose first layers are a torchvision ResNet-18, for a message. */
static void backbone_archs(char *out, size_t len)
{
    out[0] = '\0';
    for (int a = 0; a < ARCH_COUNT; a++)
        if (model_arch_info((ModelArch)a)->backbone_rows)
            snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? " or " : "",
                     model_arch_name((ModelArch)a));
}

/* Layer 1's weight from a file that has 3 input channels where the model has 1: the sum
 * over the 3 (the response of the RGB filter to a gray image). */
static int fold_rgb(SafeTensors *st, const Layer *l, Param *p)
{
    const int taps = l->kernel * l->kernel;
    float *rgb = xmalloc_floats((size_t)l->out_ch * 3 * (size_t)taps);
    int rc = safetensors_read_f32(st, p->name, 4, (int[]){l->out_ch, 3, l->kernel, l->kernel}, rgb);
    for (int o = 0; !rc && o < l->out_ch; o++)
        for (int q = 0; q < taps; q++)
            p->t.data[o * taps + q] = rgb[(o * 3 + 0) * taps + q] + rgb[(o * 3 + 1) * taps + q] +
                                      rgb[(o * 3 + 2) * taps + q];
    for (size_t i = 0; !rc && i < p->t.size; i++)
        if (!isfinite(p->t.data[i]))
            rc = error_set("%s: tensor '%s' holds a non-finite value at element %zu (summed "
                           "over its 3 input channels)", st->path, p->name, i);
    free(rgb);
    return rc;
}

/* A torchvision ResNet-18 (ImageNet) state_dict: its backbone names are ours (layers
 * 1..backbone_rows); conv1 takes 3 channels, which fold into the model's C_in = 1 by
 * summing over them. */
static int load_torchvision(Model *m, SafeTensors *st, bool freeze)
{
    const int rows = model_arch_info(m->cfg.arch)->backbone_rows;
    if (!rows) {
        char fits[64];
        backbone_archs(fits, sizeof fits);
        return error_set("%s: a torchvision ResNet-18 state_dict fits only %s", st->path, fits);
    }
    int loaded = 0;
    for (int k = 1; k <= rows; k++) {
        Layer *l = model_layer(m, k);
        for (int r = 0; r < ROLE_COUNT; r++) {
            Param *p = model_param(m, l, (ParamRole)r);
            if (!p) continue;
            if (k == 1 && r == ROLE_W && m->cfg.in_channels != 3) {
                if (m->cfg.in_channels != 1)
                    return error_set("%s: conv1 folds 3 channels only into 1 or 3 inputs",
                                     st->path);
                if (fold_rgb(st, l, p)) return -1;
            } else if (checkpoint_read_param(st, p)) {
                return -1;
            }
            if (freeze) params_set_frozen(p, true);
            loaded++;
        }
    }
    return loaded;
}

int init_from_checkpoint(Model *m, const char *path, const char *params_list,
                         const char *plan, bool freeze, char *origin, size_t origin_len)
{
    SafeTensors st;
    if (safetensors_read(path, &st)) return -1;
    int loaded = init_from_tensors(m, &st, params_list, plan, freeze, origin, origin_len);
    safetensors_free(&st);
    return loaded;
}

int init_from_tensors(Model *m, SafeTensors *st, const char *params_list, const char *plan,
                      bool freeze, char *origin, size_t origin_len)
{
    const char *path = st->path;
    int loaded = 0;
    if (safetensors_find(st, "fc.weight") && !safetensors_find(st, "classifier.weight")) {
        loaded = load_torchvision(m, st, freeze);
        snprintf(origin, origin_len, "torchvision resnet18 %s", path);
    } else if (!params_list && !plan) {
        /* the whole model: the file must hold every tensor, shaped as ours */
        loaded = checkpoint_read_tensors(m, st) ? -1 : m->params.count;
        if (loaded > 0 && freeze)
            for (int i = 0; i < m->params.count; i++) params_set_frozen(&m->params.items[i], true);
        const char *src_init = safetensors_meta(st, "init");
        snprintf(origin, origin_len, "%s", src_init ? src_init : path);
    } else {
        int count;
        char **names = read_names(params_list, plan, &count);
        if (!names) loaded = -1;
        for (int i = 0; names && i < count && loaded >= 0; i++) {
            Param *p = params_find(&m->params, names[i]);
            if (!p) loaded = error_set("%s: no tensor '%s' in the %s model", plan ? plan : "--params",
                                       names[i], model_arch_name(m->cfg.arch));
            else if (!safetensors_find(st, names[i]))
                loaded = error_set("%s: missing tensor '%s'", path, names[i]);
            else if (checkpoint_read_param(st, p)) loaded = -1;
            else {
                if (freeze) params_set_frozen(p, true);
                loaded++;
            }
        }
        for (int i = 0; names && i < count; i++) free(names[i]);
        free(names);
        snprintf(origin, origin_len, "%d tensors from %s", loaded, path);
    }
    return loaded;
}
