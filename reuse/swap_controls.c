#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/rng.h"
#include "reuse/swap_controls.h"

int swap_control_init_from_seed(const ReuseModel *target, Model *out, char *why, size_t len)
{
    unsigned long long seed;
    char rest;
    if (sscanf(target->init, "seed %llu%c", &seed, &rest) != 1) {
        snprintf(why, len, "%s records no initial seed (init '%s'); give --init CHECKPOINT for "
                 "the init control", target->path, target->init);
        return 1;
    }
    if (model_create(out, &target->model.cfg)) return -1;
    model_init_weights(out, (uint64_t)seed);
    return 0;
}

/* BN tensor of one layer: the target's channels in the order perm. */
static void permuted(const Param *from, Param *to, const int *perm)
{
    for (size_t j = 0; j < to->t.size; j++) to->t.data[j] = from->t.data[perm[j]];
}

void swap_control_random(const Model *target, uint64_t seed, Model *out)
{
    CHECK(!model_create(out, &target->cfg), "random control: cannot create the model");
    model_init_weights(out, seed);                  /* W and B: a fresh draw */
    Rng r;
    for (int i = 0; i < out->n_layers; i++) {
        const Layer *l = &out->layers[i];
        if (!l->bn[0]) continue;
        int *perm = xmalloc(sizeof *perm * (size_t)l->out_ch);
        for (int role = ROLE_RM; role <= ROLE_RB; role++) {
            /* one permutation per tensor, from its own stream */
            rng_seed(&r, seed, 0x7065726d00000000ull + (uint64_t)l->param[role]);   /* "perm" */
            for (int j = 0; j < l->out_ch; j++) perm[j] = j;
            rng_shuffle(&r, perm, l->out_ch);
            permuted(params_get(&((Model *)target)->params, l->param[role]),
                     params_get(&out->params, l->param[role]), perm);
        }
        free(perm);
    }
}
