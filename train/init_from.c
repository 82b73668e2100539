/* --init-from: start a model from another checkpoint, wholly or in part (paper Table 1:
 * the reusable parameters of a source model, frozen or fine-tuned). */
#include <cjson/cJSON.h>
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
        char *copy = strdup(list), *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            names = xrealloc(names, sizeof *names * (size_t)(*count + 1));
            names[(*count)++] = strdup(tok);
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
        names[(*count)++] = strdup(item->valuestring);
    }
    cJSON_Delete(root);
    if (!names) names = xmalloc(sizeof *names);   /* an empty plan loads nothing */
    return names;
}

/* A torchvision ResNet-18 (ImageNet) state_dict: its backbone names are ours; conv1 takes 3
 * channels, which fold into the model's C_in by summing over them (for C_in = 1 this is
 * the response of the RGB filter to a gray image). */
static int load_torchvision(Model *m, SafeTensors *st, bool freeze)
{
    if (m->cfg.arch != ARCH_PSPNET)
        return error_set("%s: a torchvision ResNet-18 state_dict fits only pspnet", st->path);
    int loaded = 0;
    for (int k = 1; k <= 20; k++) {
        Layer *l = model_layer(m, k);
        for (int r = 0; r < ROLE_COUNT; r++) {
            Param *p = model_param(m, l, (ParamRole)r);
            if (!p) continue;
            if (k == 1 && r == ROLE_W && m->cfg.in_channels != 3) {
                if (m->cfg.in_channels != 1)
                    return error_set("%s: conv1 folds 3 channels only into 1 or 3 inputs",
                                     st->path);
                float *rgb = xmalloc(64 * 3 * 49 * sizeof(float));
                if (safetensors_read_f32(st, "conv1.weight", 4, (int[]){64, 3, 7, 7}, rgb)) {
                    free(rgb);
                    return -1;
                }
                for (int o = 0; o < 64; o++)
                    for (int q = 0; q < 49; q++)
                        p->t.data[o * 49 + q] = rgb[(o * 3 + 0) * 49 + q] +
                                                rgb[(o * 3 + 1) * 49 + q] +
                                                rgb[(o * 3 + 2) * 49 + q];
                free(rgb);
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
    int loaded = 0;
    if (safetensors_find(&st, "fc.weight") && !safetensors_find(&st, "classifier.weight")) {
        loaded = load_torchvision(m, &st, freeze);
        snprintf(origin, origin_len, "torchvision resnet18 %s", path);
    } else if (!params_list && !plan) {
        /* the whole model: the file must hold every tensor, shaped as ours */
        loaded = checkpoint_read_tensors(m, &st) ? -1 : m->params.count;
        if (loaded > 0 && freeze)
            for (int i = 0; i < m->params.count; i++) params_set_frozen(&m->params.items[i], true);
        const char *src_init = safetensors_meta(&st, "init");
        snprintf(origin, origin_len, "%s", src_init ? src_init : path);
    } else {
        int count;
        char **names = read_names(params_list, plan, &count);
        if (!names) loaded = -1;
        for (int i = 0; names && i < count && loaded >= 0; i++) {
            Param *p = params_find(&m->params, names[i]);
            if (!p) loaded = error_set("%s: no tensor '%s' in the %s model", plan ? plan : "--params",
                                       names[i], model_arch_name(m->cfg.arch));
            else if (!safetensors_find(&st, names[i]))
                loaded = error_set("%s: missing tensor '%s'", path, names[i]);
            else if (checkpoint_read_param(&st, p)) loaded = -1;
            else {
                if (freeze) params_set_frozen(p, true);
                loaded++;
            }
        }
        for (int i = 0; names && i < count; i++) free(names[i]);
        free(names);
        snprintf(origin, origin_len, "%d tensors from %s", loaded, path);
    }
    safetensors_free(&st);
    return loaded;
}
