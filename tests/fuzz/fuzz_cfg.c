/* libFuzzer target for the "key: value" files: any byte string read as a cfg file
 * (dataset.cfg, ACDC's Info.cfg, study.cfg) must either parse into keys and values that
 * can be read, or fail with a one-line message; the parsed file is then interpreted as a
 * dataset.cfg (dataset_apply_cfg) and as a study.cfg (transfer_study_parse), which must
 * accept it or fail the same way. Never crash, leak, or read out of bounds (built with
 * -fsanitize=fuzzer,address,undefined). cfgfile_read parses with the same code after
 * reading the file whole.
 *
 *   make fuzz
 *   build-fuzz/fuzz_cfg -max_len=2048 build-fuzz/corpus/fuzz_cfg tests/fuzz/seeds/fuzz_cfg */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/cfgfile.h"
#include "datasets/dataset.h"
#include "engine/error.h"
#include "transfer/transfer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(void)
{
    const char *msg = error_get();
    if (msg[0] == '\0' || strchr(msg, '\n')) abort();   /* every failure says why, in one line */
    error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CfgFile cfg;
    error_clear();
    if (cfgfile_parse((const char *)data, size, "fuzz.cfg", &cfg) != 0) {
        check_message();
        if (cfg.count || cfg.keys || cfg.values) abort();
        return 0;
    }
    for (int i = 0; i < cfg.count; i++) {
        if (!cfg.keys[i][0] || strchr(cfg.keys[i], '\n') || strchr(cfg.values[i], '\n')) abort();
        if (!cfgfile_get(&cfg, cfg.keys[i])) abort();
    }

    /* dataset.cfg, on each layout's default preset */
    static const char *const presets[] = {"acdc", "custom"};
    for (int k = 0; k < 2; k++) {
        Dataset d;
        memset(&d, 0, sizeof d);
        strcpy(d.preset, presets[k]);
        classmap_preset(&d.classmap, dataset_preset_classes(d.preset));
        d.spacing[0] = d.spacing[1] = d.spacing[2] = 1.0f;
        if (dataset_apply_cfg(&d, &cfg, "fuzz.cfg") != 0) {
            check_message();
            continue;
        }
        if (!dataset_preset_classes(d.preset) || (d.classmap.labelled & ~0xEu) ||
            !(d.spacing[0] > 0 && d.spacing[1] > 0 && d.spacing[2] > 0))
            abort();
        for (int v = 0; v < CLASSMAP_VALUES; v++)      /* every value a class or not a label */
            if (d.classmap.value_class[v] < -1 || d.classmap.value_class[v] >= DATASET_CLASSES)
                abort();
    }

    /* study.cfg */
    TransferStudy st;
    if (transfer_study_parse(&cfg, "fuzz.cfg", &st) != 0) {
        check_message();
    } else {
        if (!st.base.data.dir || st.n_count < 1 || st.n_count > TRANSFER_MAX_LIST ||
            st.seed_count < 1 || st.seed_count > TRANSFER_MAX_LIST ||
            st.source_count < 0 || st.source_count > TRANSFER_MAX_SOURCES)
            abort();
        for (int i = 0; i < st.source_count; i++)
            if (!st.sources[i].name[0] || !st.sources[i].checkpoint[0] || !st.sources[i].plan[0])
                abort();
        transfer_study_free(&st);
    }
    cfgfile_free(&cfg);
    return 0;
}
