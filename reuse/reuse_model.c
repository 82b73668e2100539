#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "models/checkpoint.h"
#include "engine/fsutil.h"
#include "reuse/reuse_model.h"

int reuse_model_load(ReuseModel *rm, const char *path, const char *name)
{
    memset(rm, 0, sizeof *rm);
    SafeTensors st;
    if (safetensors_read(path, &st)) return -1;
    ModelConfig cfg;
    int rc = checkpoint_config(&st, &cfg);
    if (!rc && model_create(&rm->model, &cfg)) rc = error_prefix("%s", path);
    else if (!rc && (rc = checkpoint_read_tensors(&rm->model, &st))) model_free(&rm->model);
    if (!rc) {
        const char *init = safetensors_meta(&st, "init");
        snprintf(rm->init, sizeof rm->init, "%s", init ? init : "");
        if (name) snprintf(rm->name, sizeof rm->name, "%s", name);
        else fs_path_stem(path, rm->name, sizeof rm->name);
        rm->path = xmalloc(strlen(path) + 1);
        strcpy(rm->path, path);
    }
    safetensors_free(&st);
    return rc;
}

void reuse_model_free(ReuseModel *rm)
{
    if (rm->path) model_free(&rm->model);
    free(rm->path);
    memset(rm, 0, sizeof *rm);
}

int reuse_models_compatible(const ReuseModel *a, const ReuseModel *b)
{
    const ModelConfig *x = &a->model.cfg, *y = &b->model.cfg;
    if (x->arch == y->arch && x->in_channels == y->in_channels && x->classes == y->classes &&
        x->width == y->width)
        return 0;
    return error_set("%s and %s have different architectures: %s (%d in, %d classes, width "
                     "%d) vs %s (%d in, %d classes, width %d); the analyses compare models "
                     "of one configuration", a->path, b->path, model_arch_name(x->arch),
                     x->in_channels, x->classes, x->width, model_arch_name(y->arch),
                     y->in_channels, y->classes, y->width);
}

bool reuse_models_share_init(const ReuseModel *a, const ReuseModel *b)
{
    return a->init[0] && !strcmp(a->init, b->init);
}
