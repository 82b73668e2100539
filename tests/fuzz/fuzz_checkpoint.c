/* libFuzzer target for loading models from safetensors files, on top of the parser
 * (fuzz_safetensors): any byte string that parses must then either configure a model from
 * its metadata or tensor names (checkpoint_config), with its preprocessing metadata
 * (checkpoint_read_preprocess), and load into it (checkpoint_read_tensors), or fail with a
 * one-line message; and load as `train --init-from` loads it (init_from_tensors: the whole
 * model, a list of tensors, or a torchvision ResNet-18 state_dict folded into PSPNet's
 * backbone), into a UNet of width 1 and a PSPNet. Every value loaded must be finite. Never
 * crash, leak or read out of bounds (built with -fsanitize=fuzzer,address,undefined).
 *
 *   make fuzz
 *   build-fuzz/fuzz_checkpoint build-fuzz/corpus/fuzz_checkpoint tests/fuzz/seeds/fuzz_checkpoint
 *
 * Seeds: a UNet of width 1 as `reusenet init` writes it, the same without metadata (a
 * PyTorch state_dict), and a torchvision-style file (fc.weight, conv1.weight of 3 inputs). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "models/checkpoint.h"
#include "train/trainer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(void)
{
    const char *msg = error_get();
    if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
    error_clear();
}

/* Every tensor a successful load read from st (its entry marked used) is finite. */
static void check_finite(const Model *m, const SafeTensors *st)
{
    for (int i = 0; i < m->params.count; i++) {
        const Param *p = &m->params.items[i];
        const SafetensorsEntry *e = safetensors_find(st, p->name);
        for (size_t k = 0; e && e->used && p->kind != PARAM_COUNTER && k < p->t.size; k++)
            if (!isfinite(p->t.data[k])) abort();
    }
}

/* Two models made once: loading overwrites their values, which nothing else reads. */
static Model *fixed_model(ModelArch arch)
{
    static Model models[ARCH_COUNT];
    static bool made[ARCH_COUNT];
    Model *m = &models[arch];
    if (!made[arch]) {
        ModelConfig c = {arch, 1, 4, arch == ARCH_UNET ? 1 : 0, TASK_SEG};
        if (model_create(m, &c)) abort();
        made[arch] = true;
    }
    return m;
}

/* The model the file describes, as `reusenet info` or predict would load it: into one of
 * the fixed models when it has their configuration, into a new small UNet otherwise (a
 * large one would only cost the fuzzer time: the same code). */
static void load_as_checkpoint(SafeTensors *st)
{
    ModelConfig cfg;
    CheckpointPreprocess pp;
    if (checkpoint_config(st, &cfg) || checkpoint_read_preprocess(st, &pp)) {
        check_message();
        return;
    }
    if (pp.size < 0 || pp.spacing_mm < 0 || !(pp.spacing_mm < 1000)) abort();
    Model own, *m = NULL;
    const bool fixed = cfg.in_channels == 1 && cfg.classes == 4 &&
                       (cfg.arch == ARCH_PSPNET || cfg.width == 1);
    if (fixed) m = fixed_model(cfg.arch);
    else if (cfg.arch == ARCH_UNET && cfg.width <= 2 && cfg.classes <= 8 && cfg.in_channels <= 3) {
        if (model_create(&own, &cfg)) {
            check_message();
            return;
        }
        m = &own;
    }
    if (!m) return;
    for (int i = 0; i < st->count; i++) st->entries[i].used = false;
    if (checkpoint_read_tensors(m, st)) check_message();
    else check_finite(m, st);
    if (!fixed) model_free(&own);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    SafeTensors st;
    error_clear();
    if (safetensors_parse(data, size, "fuzz.safetensors", &st) != 0) {
        check_message();
        return 0;
    }
    load_as_checkpoint(&st);
    /* --init-from: whole, a list, into either architecture */
    static const char *const lists[] = {NULL, "enc1.conv1.weight,enc1.bn1.running_mean,head.bias"};
    for (int a = 0; a < ARCH_COUNT; a++)
        for (int l = 0; l < 2; l++) {
            char origin[512];
            for (int i = 0; i < st.count; i++) st.entries[i].used = false;
            Model *m = fixed_model((ModelArch)a);
            int loaded = init_from_tensors(m, &st, lists[l], NULL, false, origin, sizeof origin);
            if (loaded < 0) check_message();
            else check_finite(m, &st);
            if (strlen(origin) >= sizeof origin) abort();
        }
    safetensors_free(&st);
    return 0;
}
