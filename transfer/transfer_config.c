/* study.cfg: the transfer experiment's settings, configurations and runs (transfer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/fsutil.h"
#include "transfer/transfer.h"

/* "10 50" -> {10, 50}: the count, or -1 with the message set. */
static int parse_ints(const char *path, const char *key, const char *text, int *out, int max)
{
    int count = 0;
    char *copy = xstrdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        char *end;
        long v = strtol(tok, &end, 10);
        if (*end || v < 0 || v > 1000000 || count == max) {
            free(copy);
            return error_set("%s: %s: '%s' is not a list of at most %d numbers", path, key, text, max);
        }
        out[count++] = (int)v;
    }
    free(copy);
    if (!count) return error_set("%s: %s is empty", path, key);
    return count;
}

/* "R" means 1..R, a longer list itself. The count, or -1 with the message set. */
static int parse_count_or_list(const char *path, const char *key, const char *text, int *out)
{
    int list[TRANSFER_MAX_LIST];
    int count = parse_ints(path, key, text, list, TRANSFER_MAX_LIST);
    if (count < 0) return -1;
    if (count > 1) {
        memcpy(out, list, sizeof(int) * (size_t)count);
        return count;
    }
    if (list[0] < 1 || list[0] > TRANSFER_MAX_LIST)
        return error_set("%s: %s: %d is not between 1 and %d", path, key, list[0], TRANSFER_MAX_LIST);
    for (int i = 0; i < list[0]; i++) out[i] = i + 1;
    return list[0];
}

static int parse_source(const char *path, const char *text, TransferSource *s)
{
    char buf[3000];
    snprintf(buf, sizeof buf, "%s", text);
    char *parts[3] = {buf, NULL, NULL};
    for (int i = 1; i < 3; i++) {
        char *bar = parts[i - 1] ? strchr(parts[i - 1], '|') : NULL;
        if (!bar) return error_set("%s: source '%s' must be 'NAME | CHECKPOINT | PLAN.json'", path, text);
        *bar = '\0';
        parts[i] = bar + 1;
    }
    char *fields[3];
    for (int i = 0; i < 3; i++) {
        char *p = parts[i], *e = p + strlen(p);
        while (*p == ' ' || *p == '\t') p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
        fields[i] = p;
        if (!*p) return error_set("%s: source '%s' has an empty field", path, text);
    }
    snprintf(s->name, sizeof s->name, "%s", fields[0]);
    snprintf(s->checkpoint, sizeof s->checkpoint, "%s", fields[1]);
    snprintf(s->plan, sizeof s->plan, "%s", fields[2]);
    return 0;
}

/* The configs line's words, in TransferMode order. */
static const char *const MODE_WORDS[MODE_COUNT] = {
    "random", "random frozen encoder", "freeze", "fine-tune", "all fine-tune"};

/* configs: a comma-separated set of MODE_WORDS -> the rows of Table 1 for each n: the
 * random modes first, then each source's modes in MODE_WORDS order. */
static int parse_configs(const char *path, const char *text, TransferStudy *st)
{
    bool want[MODE_COUNT] = {false};
    char *copy = xstrdup(text), *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t') tok++;
        for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t');) *--e = '\0';
        int m = 0;
        while (m < MODE_COUNT && strcmp(tok, MODE_WORDS[m])) m++;
        if (m == MODE_COUNT)
            rc = error_set("%s: configs: unknown '%s' (random, random frozen encoder, freeze, "
                           "fine-tune, all fine-tune)", path, tok);
        else want[m] = true;
    }
    free(copy);
    if (rc) return -1;
    if (!want[MODE_RANDOM])
        return error_set("%s: configs must include random (every difference is paired with it)", path);
    st->config_count = 0;
    for (int m = MODE_RANDOM; m <= MODE_RANDOM_FROZEN_ENCODER; m++)
        if (want[m]) st->configs[st->config_count++] = (TransferConfig){(TransferMode)m, -1};
    for (int s = 0; s < st->source_count; s++)
        for (int m = MODE_FREEZE; m < MODE_COUNT; m++)
            if (want[m]) st->configs[st->config_count++] = (TransferConfig){(TransferMode)m, s};
    return 0;
}

/* seeds and subsets -> the runs: their cross product, or with "subsets: per-seed" run r
 * with seed r and draw r. */
static int parse_runs(const CfgFile *cfg, const char *path, TransferStudy *st)
{
    const char *v = cfgfile_get(cfg, "seeds");
    if ((st->seed_count = parse_count_or_list(path, "seeds", v ? v : "1", st->seeds)) < 0) return -1;
    v = cfgfile_get(cfg, "subsets");
    const bool per_seed = v && !strcmp(v, "per-seed");
    if (per_seed) {
        st->subset_count = st->seed_count;
        memcpy(st->subsets, st->seeds, sizeof(int) * (size_t)st->seed_count);
    } else if (v && (st->subset_count = parse_count_or_list(path, "subsets", v, st->subsets)) < 0) {
        return -1;
    }
    const int draws = st->subset_count ? st->subset_count : 1;
    st->runs = per_seed ? st->seed_count : st->seed_count * draws;
    if (st->runs > TRANSFER_MAX_RUNS)
        return error_set("%s: %d seeds x %d subsets is more than %d runs per configuration",
                         path, st->seed_count, draws, TRANSFER_MAX_RUNS);
    for (int r = 0; r < st->runs; r++) {
        st->run_seed[r] = per_seed ? r : r / draws;
        st->run_subset[r] = !st->subset_count ? -1 : per_seed ? r : r % draws;
    }
    return 0;
}

/* n, and epochs: one count for every n or one per n. */
static int parse_sizes(const CfgFile *cfg, const char *path, TransferStudy *st)
{
    const char *v = cfgfile_get(cfg, "n");
    if ((st->n_count = parse_ints(path, "n", v ? v : "10 50", st->n, TRANSFER_MAX_LIST)) < 0)
        return -1;
    int epochs[TRANSFER_MAX_LIST] = {30}, count = 1;
    if ((v = cfgfile_get(cfg, "epochs")) &&
        (count = parse_ints(path, "epochs", v, epochs, TRANSFER_MAX_LIST)) < 0)
        return -1;
    if (count != 1 && count != st->n_count)
        return error_set("%s: epochs: give one count, or one per n (%d)", path, st->n_count);
    for (int a = 0; a < st->n_count; a++) {
        st->epochs[a] = epochs[count == 1 ? 0 : a];
        if (st->epochs[a] < 1 || st->n[a] < 1)
            return error_set("%s: n and epochs must be at least 1", path);
    }
    st->base.epochs = st->epochs[0];
    return 0;
}

/* The training settings every run shares. */
static int parse_training(const CfgFile *cfg, const char *path, TransferStudy *st)
{
    const char *v;
    if ((v = cfgfile_get(cfg, "arch")) && model_arch_parse(v, &st->base.model.arch))
        return error_prefix("%s", path);
    struct { const char *key; int *dest, min, max; } ints[] = {
        {"width", &st->base.model.width, 1, 1024}, {"batch", &st->base.batch, 1, 1 << 20},
        {"size", &st->base.data.size, 1, 32768}, {"val_every", &st->base.val_every, 0, 1 << 20}};
    for (int i = 0; i < 4; i++) {
        if (!(v = cfgfile_get(cfg, ints[i].key))) continue;
        if (parse_ints(path, ints[i].key, v, ints[i].dest, 1) < 0) return -1;
        if (*ints[i].dest < ints[i].min || *ints[i].dest > ints[i].max)
            return error_set("%s: %s: %d is not within %d..%d", path, ints[i].key, *ints[i].dest,
                             ints[i].min, ints[i].max);
    }
    char *end;
    if ((v = cfgfile_get(cfg, "lr")) &&
        (st->base.lr = strtod(v, &end), end == v || *end || !(st->base.lr > 0 && st->base.lr < 1e6)))
        return error_set("%s: lr: '%s' is not a learning rate (a positive number)", path, v);
    if ((v = cfgfile_get(cfg, "split_seed")) &&
        (st->base.data.split_seed = strtoull(v, &end, 10), end == v || *end || v[0] == '-'))
        return error_set("%s: split_seed: '%s' is not a non-negative integer", path, v);
    if ((v = cfgfile_get(cfg, "optimizer"))) {
        if (!strcmp(v, "sgd")) st->base.optimizer = OPTIMIZER_SGD;
        else if (strcmp(v, "adam")) return error_set("%s: optimizer must be adam or sgd", path);
    }
    if ((v = cfgfile_get(cfg, "schedule")) && schedule_parse(v, &st->base.schedule))
        return error_prefix("%s", path);
    return 0;
}

/* The keys study.cfg knows (README, "The transfer experiment"). */
static const CfgKey STUDY_KEYS[] = {
    {"target", false}, {"arch", false}, {"width", false}, {"n", false}, {"epochs", false},
    {"seeds", false}, {"subsets", false}, {"configs", false}, {"batch", false}, {"lr", false},
    {"optimizer", false}, {"schedule", false}, {"size", false}, {"split_seed", false},
    {"val_every", false}, {"source", true},
};

int transfer_study_parse(const CfgFile *cfg, const char *path, TransferStudy *st)
{
    memset(st, 0, sizeof *st);
    train_config_defaults(&st->base);
    st->base.quiet = true;
    if (cfgfile_check_keys(cfg, path, STUDY_KEYS, (int)(sizeof STUDY_KEYS / sizeof STUDY_KEYS[0])))
        return -1;
    const char *v = cfgfile_get(cfg, "target");
    if (!v) return error_set("%s: no 'target: DIR'", path);
    st->base.data.dir = xstrdup(v);
    int rc = parse_training(cfg, path, st) || parse_sizes(cfg, path, st) || parse_runs(cfg, path, st)
                 ? -1 : 0;
    for (int i = 0; !rc && i < cfg->count; i++) {
        if (strcmp(cfg->keys[i], "source")) continue;
        if (st->source_count == TRANSFER_MAX_SOURCES)
            rc = error_set("%s: more than %d sources", path, TRANSFER_MAX_SOURCES);
        else rc = parse_source(path, cfg->values[i], &st->sources[st->source_count++]);
    }
    if (!rc) {
        v = cfgfile_get(cfg, "configs");
        rc = parse_configs(path, v ? v : "random, freeze, fine-tune", st);
    }
    if (rc) transfer_study_free(st);
    return rc;
}

void transfer_study_free(TransferStudy *st)
{
    free((char *)st->base.data.dir);
    memset(st, 0, sizeof *st);
}

void transfer_config_label(const TransferStudy *st, int c, char *out, size_t len)
{
    const TransferConfig *k = &st->configs[c];
    if (k->mode == MODE_RANDOM) snprintf(out, len, "random init");
    else if (k->source < 0) snprintf(out, len, "%s", MODE_WORDS[k->mode]);
    else snprintf(out, len, "%s %s", st->sources[k->source].name, MODE_WORDS[k->mode]);
}

void transfer_run_name(const TransferStudy *st, int a, int c, int r, char *out, size_t len)
{
    /* the folder names of earlier versions: n10-random-s1, n10-T1-freeze-s1, n10-T1-finetune-s1 */
    static const char *const dir_words[MODE_COUNT] = {
        "random", "random-frozen-encoder", "freeze", "finetune", "all-finetune"};
    const TransferConfig *k = &st->configs[c];
    int at = snprintf(out, len, "n%d-", st->n[a]);
    if (k->source >= 0) at += snprintf(out + at, len - at, "%s-", st->sources[k->source].name);
    at += snprintf(out + at, len - at, "%s-s%d", dir_words[k->mode], st->seeds[st->run_seed[r]]);
    if (st->run_subset[r] >= 0) snprintf(out + at, len - at, "-d%d", st->subsets[st->run_subset[r]]);
    for (char *q = out; *q; q++)
        if (*q == ' ' || *q == '/') *q = '_';
}
