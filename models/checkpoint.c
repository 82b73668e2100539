#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "models/checkpoint.h"

void checkpoint_add_tensors(SafetensorsWriter *w, const Model *m)
{
    for (int i = 0; i < m->params.count; i++) {
        const Param *p = &m->params.items[i];
        if (p->kind == PARAM_COUNTER)
            safetensors_writer_add_i64(w, p->name, 0, NULL, &p->counter);
        else
            safetensors_writer_add_f32(w, p->name, p->t.ndim, p->t.shape, p->t.data);
    }
}

int checkpoint_save(Model *m, const char *path, const MetaPair *extra, int n_extra)
{
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    checkpoint_add_tensors(&w, m);
    char num[32];
    safetensors_writer_set_meta(&w, "arch", model_arch_name(m->cfg.arch));
    snprintf(num, sizeof num, "%d", m->cfg.in_channels);
    safetensors_writer_set_meta(&w, "in_channels", num);
    snprintf(num, sizeof num, "%d", m->cfg.classes);
    safetensors_writer_set_meta(&w, "classes", num);
    if (model_arch_info(m->cfg.arch)->has_width) {
        snprintf(num, sizeof num, "%d", m->cfg.width);
        safetensors_writer_set_meta(&w, "width", num);
    }
    safetensors_writer_set_meta(&w, "task", model_task_name(m->cfg.task));
    for (int i = 0; i < n_extra; i++) safetensors_writer_set_meta(&w, extra[i].key, extra[i].value);
    int rc = safetensors_write(&w, path);
    safetensors_writer_free(&w);
    return rc;
}

static int meta_int(const SafeTensors *st, const char *key, int *out)
{
    const char *v = safetensors_meta(st, key);
    if (!v) return 1;                     /* absent */
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < 1 || x > 1 << 20)
        return error_set("%s: metadata %s='%s' is not a positive integer", st->path, key, v);
    *out = (int)x;
    return 0;
}

/* Infer a configuration from the tensors, for files saved from a PyTorch state_dict
 * without our metadata: the architecture whose layer 1 and head weights the file holds;
 * layer 1's weight gives the input channels (and the width where the architecture has
 * one), the head's the classes (ModelArchInfo). */
static int config_from_tensors(const SafeTensors *st, ModelConfig *cfg)
{
    char archs[64] = "", firsts[160] = "";     /* for the message: "pspnet or unet", ... */
    for (int a = 0; a < ARCH_COUNT; a++) {
        Model probe;     /* the architecture's names, from its table at a nominal size */
        CHECK(!model_describe(&probe, &(ModelConfig){(ModelArch)a, 1, 1, 1, TASK_SEG}), "%s",
              error_get());
        char first_name[PARAM_NAME_MAX], last_name[PARAM_NAME_MAX];
        snprintf(first_name, sizeof first_name, "%s.weight", model_layer(&probe, 1)->conv);
        snprintf(last_name, sizeof last_name, "%s.weight", model_layer(&probe, 0)->conv);
        model_free(&probe);
        const SafetensorsEntry *first = safetensors_find(st, first_name);
        if (!first) {
            const char *sep = a ? " or " : "";
            snprintf(archs + strlen(archs), sizeof archs - strlen(archs), "%s%s", sep,
                     model_arch_name((ModelArch)a));
            snprintf(firsts + strlen(firsts), sizeof firsts - strlen(firsts), "%s'%s'", sep,
                     first_name);
            continue;
        }
        const SafetensorsEntry *last = safetensors_find(st, last_name);
        if (first->ndim != 4 || !last || last->ndim != 4)
            return error_set("%s: cannot tell the model's shape (no 'arch' metadata and no "
                             "usable first conv / classifier tensors)", st->path);
        cfg->arch = (ModelArch)a;
        cfg->in_channels = first->shape[1];
        cfg->classes = last->shape[0];
        cfg->width = model_arch_info(cfg->arch)->has_width ? first->shape[0] : 0;
        cfg->task = TASK_SEG;
        return 0;
    }
    return error_set("%s: not a %s checkpoint (no 'arch' metadata, and no %s tensor)", st->path,
                     archs, firsts);
}

int checkpoint_config(const SafeTensors *st, ModelConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    const char *arch = safetensors_meta(st, "arch");
    if (!arch) return config_from_tensors(st, cfg);
    if (model_arch_parse(arch, &cfg->arch)) return error_prefix("%s", st->path);
    int rc;
    if ((rc = meta_int(st, "in_channels", &cfg->in_channels)) < 0) return -1;
    if (rc) cfg->in_channels = 1;
    if ((rc = meta_int(st, "classes", &cfg->classes)) < 0) return -1;
    if (rc) cfg->classes = 4;
    if (model_arch_info(cfg->arch)->has_width) {
        if ((rc = meta_int(st, "width", &cfg->width)) < 0) return -1;
        if (rc) return error_set("%s: %s checkpoint without 'width' metadata", st->path, arch);
    }
    const char *task = safetensors_meta(st, "task");
    cfg->task = TASK_SEG;
    if (task && model_task_parse(task, &cfg->task)) return error_prefix("%s", st->path);
    return 0;
}

int checkpoint_read_param(SafeTensors *st, Param *p)
{
    if (p->kind == PARAM_COUNTER)
        return safetensors_read_i64(st, p->name, 0, NULL, &p->counter);
    if (safetensors_read_f32(st, p->name, p->t.ndim, p->t.shape, p->t.data)) return -1;
    /* a NaN weight or BN statistic would not stop anything: predict would write a mask of
     * one class, training would log NaN losses beside finite Dice scores */
    for (size_t i = 0; i < p->t.size; i++)
        if (!isfinite(p->t.data[i]))
            return error_set("%s: tensor '%s' holds a non-finite value (%g) at element %zu",
                             st->path, p->name, (double)p->t.data[i], i);
    return 0;
}

int checkpoint_read_tensors(Model *m, SafeTensors *st)
{
    for (int i = 0; i < m->params.count; i++) {
        Param *p = &m->params.items[i];
        /* PyTorch modules built with track_running_stats but saved without the counter
         * still load (docs/models.md, "Checkpoints": a missing one is tolerated). */
        if (p->kind == PARAM_COUNTER && !safetensors_find(st, p->name)) {
            p->counter = 0;
            continue;
        }
        if (!safetensors_find(st, p->name))
            return error_set("%s: missing tensor '%s' for the %s model", st->path, p->name,
                             model_arch_name(m->cfg.arch));
        if (checkpoint_read_param(st, p)) return -1;
    }
    return safetensors_check_all_used(st);
}

int checkpoint_read_preprocess(const SafeTensors *st, CheckpointPreprocess *pp)
{
    memset(pp, 0, sizeof *pp);
    if (meta_int(st, "size", &pp->size) < 0) return -1;
    const char *v = safetensors_meta(st, "spacing");
    if (v) {
        char *end;
        double s = strtod(v, &end);
        if (end == v || *end || !(s > 0 && s < 1000))
            return error_set("%s: metadata spacing='%s' is not a pixel size in mm", st->path, v);
        pp->spacing_mm = (float)s;
    }
    return 0;
}

int checkpoint_load_preprocess(Model *m, const char *path, CheckpointPreprocess *pp)
{
    SafeTensors st;
    ModelConfig cfg;
    if (safetensors_read(path, &st)) return -1;
    int rc = checkpoint_config(&st, &cfg);
    if (!rc && pp) rc = checkpoint_read_preprocess(&st, pp);
    if (!rc && model_create(m, &cfg)) rc = error_prefix("%s", path);
    else if (!rc && (rc = checkpoint_read_tensors(m, &st))) model_free(m);
    safetensors_free(&st);
    return rc;
}

int checkpoint_load(Model *m, const char *path)
{
    return checkpoint_load_preprocess(m, path, NULL);
}

int checkpoint_load_into(Model *m, const char *path)
{
    SafeTensors st;
    ModelConfig cfg;
    if (safetensors_read(path, &st)) return -1;
    int rc = checkpoint_config(&st, &cfg);
    if (!rc && (cfg.arch != m->cfg.arch || cfg.in_channels != m->cfg.in_channels ||
                cfg.classes != m->cfg.classes || cfg.width != m->cfg.width))
        rc = error_set("%s: holds a %s model (%d in, %d classes, width %d), expected %s "
                       "(%d in, %d classes, width %d)", path, model_arch_name(cfg.arch),
                       cfg.in_channels, cfg.classes, cfg.width, model_arch_name(m->cfg.arch),
                       m->cfg.in_channels, m->cfg.classes, m->cfg.width);
    if (!rc) rc = checkpoint_read_tensors(m, &st);
    safetensors_free(&st);
    return rc;
}
