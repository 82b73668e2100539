#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/atomic_file.h"
#include "engine/error.h"
#include "reuse/align.h"
#include "util/csv.h"
#include "reuse/rmse.h"

double rmse_of(const float *a, const float *b, size_t n)
{
    if (!n) return 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        sum += d * d;
    }
    return sqrt(sum / (double)n);
}

static double param_rmse(Model *x, Model *y, const Layer *lx, const Layer *ly, ParamRole role)
{
    Param *p = model_param(x, lx, role), *q = model_param(y, ly, role);
    if (!p || !q) return NAN;
    CHECK(p->t.size == q->t.size, "rmse: %s has %zu elements in one model, %zu in the other",
          p->name, p->t.size, q->t.size);
    return rmse_of(p->t.data, q->t.data, p->t.size);
}

int rmse_compute(ReuseModel *models, int n, RmseRow **rows)
{
    int per_pair = n ? models[0].model.n_layers : 0, count = 0;
    *rows = xcalloc((size_t)(n * (n - 1) / 2 * per_pair + 1), sizeof **rows);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            Model *x = &models[i].model, *y = &models[j].model;
            CHECK(x->n_layers == y->n_layers, "rmse: models of different architectures");
            for (int r = 0; r < x->n_layers; r++) {
                const Layer *lx = &x->layers[r], *ly = &y->layers[r];
                RmseRow *row = &(*rows)[count++];
                row->a = i;
                row->b = j;
                row->layer = lx->number;
                snprintf(row->label, sizeof row->label, "%s", lx->label);
                snprintf(row->conv, sizeof row->conv, "%s", lx->conv);
                row->rmse_w = param_rmse(x, y, lx, ly, ROLE_W);
                row->rmse_b = param_rmse(x, y, lx, ly, ROLE_B);
                row->rmse_w_aligned = row->rmse_b_aligned = NAN;
            }
        }
    return count;
}

void rmse_compute_aligned(ReuseModel *models, RmseRow *rows, int n, uint64_t seed)
{
    for (int start = 0; start < n;) {
        const RmseRow *first = &rows[start];
        Model *a = &models[first->a].model, *b = &models[first->b].model, copy;
        CHECK(model_create(&copy, &b->cfg) == 0, "rmse: cannot copy %s", models[first->b].name);
        params_copy(&copy.params, &b->params);
        AlignGroups g;
        align_groups_build(a, &g);
        AlignResult res;
        align_weights(a, &copy, &g, seed, 100, NULL, &res);
        int end = start;
        for (; end < n && rows[end].a == first->a && rows[end].b == first->b; end++) {
            const Layer *la = model_layer(a, rows[end].layer), *lc = model_layer(&copy, rows[end].layer);
            rows[end].rmse_w_aligned = param_rmse(a, &copy, la, lc, ROLE_W);
            rows[end].rmse_b_aligned = param_rmse(a, &copy, la, lc, ROLE_B);
        }
        align_groups_free(&g);
        model_free(&copy);
        start = end;
    }
}

int rmse_write_csv(const char *path, const ReuseModel *models, const RmseRow *rows, int n,
                   bool aligned)
{
    AtomicFile *af = atomic_open(path);
    if (!af) return -1;
    FILE *f = atomic_stream(af);
    fprintf(f, "pair,model_a,model_b,layer,conv,rmse_w,rmse_b%s,init_a,init_b,shared_init\n",
            aligned ? ",rmse_w_aligned,rmse_b_aligned" : "");
    for (int i = 0; i < n; i++) {
        const RmseRow *r = &rows[i];
        const ReuseModel *a = &models[r->a], *b = &models[r->b];
        char pair[2 * REUSE_NAME_MAX + 8];
        snprintf(pair, sizeof pair, "%s vs %s", a->name, b->name);
        csv_put_text(f, pair, 1);
        csv_put_text(f, a->name, 0);
        csv_put_text(f, b->name, 0);
        csv_put_text(f, r->label, 0);
        csv_put_text(f, r->conv, 0);
        csv_put_number(f, r->rmse_w, 0);
        csv_put_number(f, r->rmse_b, 0);
        if (aligned) {
            csv_put_number(f, r->rmse_w_aligned, 0);
            csv_put_number(f, r->rmse_b_aligned, 0);
        }
        csv_put_text(f, a->init, 0);
        csv_put_text(f, b->init, 0);
        csv_put_text(f, reuse_models_share_init(a, b) ? "yes" : "no", 0);
        fputc('\n', f);
    }
    return atomic_commit(af);
}

void rmse_print(FILE *out, const ReuseModel *models, int n_models, const RmseRow *rows, int n)
{
    if (!n) return;
    int per_pair = models[0].model.n_layers, pairs = n / per_pair;
    const bool aligned = !isnan(rows[0].rmse_w_aligned);
    for (int p = 0; p < pairs; p++) {
        const RmseRow *first = &rows[p * per_pair];
        const ReuseModel *a = &models[first->a], *b = &models[first->b];
        fprintf(out, "%s%s vs %s (init: %s / %s%s)\n", p ? "\n" : "", a->name, b->name,
                a->init[0] ? a->init : "unknown", b->init[0] ? b->init : "unknown",
                reuse_models_share_init(a, b) ? ", shared" : ", NOT shared");
        fprintf(out, "%-5s %-26s %12s %12s%s\n", "layer", "conv", "RMSE W", "RMSE B",
                aligned ? "    aligned W    aligned B" : "");
        for (int i = 0; i < per_pair; i++) {
            const RmseRow *r = &first[i];
            char bias[32] = "-", bias_al[32] = "-";
            if (!isnan(r->rmse_b)) snprintf(bias, sizeof bias, "%12.4g", r->rmse_b);
            if (!isnan(r->rmse_b_aligned)) snprintf(bias_al, sizeof bias_al, "%12.4g", r->rmse_b_aligned);
            fprintf(out, "%-5s %-26s %12.4g %12s", r->label, r->conv, r->rmse_w, bias);
            if (aligned) fprintf(out, " %12.4g %12s", r->rmse_w_aligned, bias_al);
            fputc('\n', out);
        }
    }
    (void)n_models;
}

int rmse_warn_unshared(const ReuseModel *models, int n_models)
{
    int count = 0;
    for (int i = 0; i < n_models; i++)
        for (int j = i + 1; j < n_models; j++) {
            const ReuseModel *a = &models[i], *b = &models[j];
            if (reuse_models_share_init(a, b)) continue;
            count++;
            if (!a->init[0] || !b->init[0])
                fprintf(stderr, "reusenet: warning: %s and %s: %s does not record its "
                        "initialisation, so a shared starting point cannot be confirmed; "
                        "their weight RMSE may compare unrelated weights\n", a->name, b->name,
                        !a->init[0] ? a->name : b->name);
            else
                fprintf(stderr, "reusenet: warning: %s (init '%s') and %s (init '%s') did "
                        "not start from the same weights; their RMSE measures the different "
                        "starting points as much as the training\n", a->name, a->init,
                        b->name, b->init);
        }
    return count;
}
