/* Weight initialisation as PyTorch and torchvision do it, reproducible from a seed. Each
 * tensor draws from its own random stream (stream = its index in the store), so a
 * tensor's values do not depend on how many numbers other tensors drew. */
#include <math.h>
#include <string.h>

#include "engine/rng.h"
#include "models/model.h"

void model_init_weights(Model *m, uint64_t seed)
{
    for (int i = 0; i < m->n_layers; i++) {
        const Layer *l = &m->layers[i];
        const double fan_in = (double)l->in_ch * l->kernel * l->kernel;
        const double fan_out = (double)l->out_ch * l->kernel * l->kernel;
        Rng r;
        Param *w = model_param(m, l, ROLE_W);
        rng_seed(&r, seed, (uint64_t)l->param[ROLE_W]);
        if (l->init == LAYER_INIT_RESNET) {
            /* torchvision ResNet: kaiming_normal_(mode='fan_out', nonlinearity='relu'),
             * std = sqrt(2 / fan_out). */
            const double std = sqrt(2.0 / fan_out);
            for (size_t j = 0; j < w->t.size; j++) w->t.data[j] = (float)(std * rng_normal(&r));
        } else {
            /* nn.Conv2d default: kaiming_uniform_(a=sqrt(5)), i.e. U(-b, b) with
             * b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + 5)): b = 1 / sqrt(fan_in). */
            const double bound = 1.0 / sqrt(fan_in);
            for (size_t j = 0; j < w->t.size; j++)
                w->t.data[j] = (float)(bound * (2.0 * rng_uniform_double(&r) - 1.0));
        }
        Param *b = model_param(m, l, ROLE_B);
        if (b) {
            /* nn.Conv2d default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
            rng_seed(&r, seed, (uint64_t)l->param[ROLE_B]);
            const double bound = 1.0 / sqrt(fan_in);
            for (size_t j = 0; j < b->t.size; j++)
                b->t.data[j] = (float)(bound * (2.0 * rng_uniform_double(&r) - 1.0));
        }
        if (!l->bn[0]) continue;
        /* BatchNorm2d: weight 1, bias 0, running mean 0, running var 1, count 0. */
        Param *bw = model_param(m, l, ROLE_RW), *bb = model_param(m, l, ROLE_RB);
        Param *rm = model_param(m, l, ROLE_RM), *rv = model_param(m, l, ROLE_RV);
        for (int j = 0; j < l->out_ch; j++) {
            bw->t.data[j] = 1.0f;
            bb->t.data[j] = 0.0f;
            rm->t.data[j] = 0.0f;
            rv->t.data[j] = 1.0f;
        }
        params_get(&m->params, l->bn_count)->counter = 0;
    }
}
