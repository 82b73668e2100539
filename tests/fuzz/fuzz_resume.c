/* libFuzzer target for a training run's resume point (train/resume.h), on top of the
 * safetensors parser: any byte string must either be read as the resume point of a run of
 * 4 epochs of 8 steps of a UNet of width 1 with Adam (its progress within the run, the
 * step following from the epoch, its tensors and optimizer state finite and in range), or
 * fail with a one-line message. Never crash, leak or read out of bounds (built with
 * -fsanitize=fuzzer,address,undefined).
 *
 *   make fuzz
 *   build-fuzz/fuzz_resume build-fuzz/corpus/fuzz_resume tests/fuzz/seeds/fuzz_resume
 *
 * Seeds: resume.safetensors of such a run after epochs 1 and 2 (`reusenet train --arch unet
 * --width 1 --size 16 --batch 4` on 4 synthetic patients: 8 steps an epoch). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "train/resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { EPOCHS = 4, STEPS_PER_EPOCH = 8 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Model m;
    static Optimizer o;
    if (!m.layers) {
        ModelConfig c = {ARCH_UNET, 1, 4, 1, TASK_SEG};
        if (model_create(&m, &c)) abort();
        optimizer_init_adam(&o, &m.params, 1e-3, 0.9, 0.999, 1e-8, 0);
    }
    SafeTensors st;
    error_clear();
    if (safetensors_parse(data, size, "resume.safetensors", &st) != 0) {
        if (!error_get()[0] || strchr(error_get(), '\n')) abort();
        return 0;
    }
    RunState rs = {-1, -1, NAN};
    char origin[256];
    for (int spe = 0; spe <= STEPS_PER_EPOCH; spe += STEPS_PER_EPOCH) {   /* 0: nothing trained */
        for (int i = 0; i < st.count; i++) st.entries[i].used = false;
        if (resume_read(&st, &m, &o, EPOCHS, spe, &rs, origin, sizeof origin) != 0) {
            if (!error_get()[0] || strchr(error_get(), '\n')) abort();
            continue;
        }
        if (rs.epoch < 0 || rs.epoch > EPOCHS || rs.step != (int64_t)rs.epoch * spe ||
            isnan(rs.best) || rs.best == INFINITY)
            abort();
        for (size_t i = 0; i < o.n_values; i++)
            if (!isfinite(o.m[i]) || !(o.v[i] >= 0) || !isfinite(o.v[i])) abort();
        for (int i = 0; i < o.n_params; i++)
            if (o.steps[i] < 0 || o.steps[i] > rs.step) abort();
    }
    safetensors_free(&st);
    return 0;
}
