#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/atomic_file.h"
#include "engine/batchnorm.h"
#include "engine/error.h"
#include "reuse/bnstats.h"
#include "util/csv.h"

/* The four statistics of one BN layer, in double precision. */
static void layer_stats(Model *t, Model *s, const Layer *lt, const Layer *ls, BnStatsRow *r)
{
    const float *mu = model_param(t, lt, ROLE_RM)->t.data, *mu2 = model_param(s, ls, ROLE_RM)->t.data;
    const float *var = model_param(t, lt, ROLE_RV)->t.data, *var2 = model_param(s, ls, ROLE_RV)->t.data;
    const float *w = model_param(t, lt, ROLE_RW)->t.data, *w2 = model_param(s, ls, ROLE_RW)->t.data;
    const float *b = model_param(t, lt, ROLE_RB)->t.data, *b2 = model_param(s, ls, ROLE_RB)->t.data;
    const int m = lt->out_ch;
    double mrm = 0, mrv = 0, mrw = 0, mrb = 0;
    int skipped = 0;
    for (int j = 0; j < m; j++) {
        /* the sd the model normalises with: BatchNorm2d's eps, as the engine adds it */
        double sd = sqrt((double)var[j] + BATCHNORM_EPS);
        double sd2 = sqrt((double)var2[j] + BATCHNORM_EPS);
        mrm += (double)w[j] * fabs((double)mu[j] - mu2[j]) / sd;
        mrv += sd / sd2;
        if (w[j] == 0.0f) skipped++;
        else mrw += (double)w2[j] / w[j];
        mrb += fabs((double)b[j] - b2[j]);
    }
    r->layer = lt->number;
    snprintf(r->bn, sizeof r->bn, "%s", lt->bn);
    r->channels = m;
    r->mrm = mrm / m;
    r->mrv = mrv / m;
    r->mrw = skipped < m ? mrw / (m - skipped) : NAN;
    r->mrb = mrb / m;
    r->skipped = skipped;
}

int bnstats_compute(Model *t, Model *s, BnStatsRow **rows)
{
    CHECK(t->cfg.arch == s->cfg.arch && t->n_numbered == s->n_numbered,
          "bnstats: models of different architectures");
    *rows = xcalloc((size_t)t->n_numbered, sizeof **rows);
    for (int k = 1; k <= t->n_numbered; k++) {
        const Layer *lt = model_layer(t, k), *ls = model_layer(s, k);
        CHECK(lt->out_ch == ls->out_ch && lt->bn[0], "bnstats: layer %d does not match", k);
        layer_stats(t, s, lt, ls, &(*rows)[k - 1]);
    }
    return t->n_numbered;
}

int bnstats_write_csv(const char *path, const BnStatsRow *rows, int n)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fprintf(f, "layer,bn,channels,MRM,MRV,MRW,MRB,skipped\n");
    for (int i = 0; i < n; i++) {
        const BnStatsRow *r = &rows[i];
        fprintf(f, "%d", r->layer);
        csv_put_text(f, r->bn, 0);
        fprintf(f, ",%d", r->channels);
        csv_put_number(f, r->mrm, 0);
        csv_put_number(f, r->mrv, 0);
        csv_put_number(f, r->mrw, 0);
        csv_put_number(f, r->mrb, 0);
        fprintf(f, ",%d\n", r->skipped);
    }
    return atomic_commit(af);
}

void bnstats_print(FILE *out, const BnStatsRow *rows, int n)
{
    int skipped = 0, layers_skipping = 0;
    fprintf(out, "%-5s %-26s %8s %11s %11s %11s %11s %7s\n", "layer", "bn", "channels", "MRM",
            "MRV", "MRW", "MRB", "skipped");
    for (int i = 0; i < n; i++) {
        const BnStatsRow *r = &rows[i];
        fprintf(out, "%-5d %-26s %8d %11.4g %11.4g %11.4g %11.4g %7d\n", r->layer, r->bn,
                r->channels, r->mrm, r->mrv, r->mrw, r->mrb, r->skipped);
        skipped += r->skipped;
        layers_skipping += r->skipped > 0;
    }
    if (skipped)
        fprintf(out, "MRW: %d channel%s with target BN weight 0 skipped (in %d layer%s)\n",
                skipped, skipped == 1 ? "" : "s", layers_skipping, layers_skipping == 1 ? "" : "s");
}
