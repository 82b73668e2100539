/* libFuzzer target for the logs a resumed run keeps (resume_log_keep: log.csv and
 * times.csv cut to the epochs its resume point finished): any byte string must either give
 * the length of a header line and rows 1..E, each on its own line and starting with its
 * epoch, or fail with a one-line message, for every E from 0 to 5. Never crash or read out
 * of bounds (built with -fsanitize=fuzzer,address,undefined).
 *
 *   make fuzz
 *   build-fuzz/fuzz_resume_log build-fuzz/corpus/fuzz_resume_log tests/fuzz/seeds/fuzz_resume_log */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "train/resume.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    for (int epochs = 0; epochs <= 5; epochs++) {
        error_clear();
        long keep = resume_log_keep(text, size, "log.csv", epochs);
        if (keep < 0) {
            if (!error_get()[0] || strchr(error_get(), '\n')) abort();
            continue;
        }
        /* what is kept: epochs + 1 whole lines, the k-th row starting "k," */
        if ((size_t)keep > size || keep < 6 || text[keep - 1] != '\n' || strncmp(text, "epoch", 5))
            abort();
        const char *line = memchr(text, '\n', (size_t)keep) + 1;
        for (int e = 1; e <= epochs; e++) {
            char prefix[16];
            int n = snprintf(prefix, sizeof prefix, "%d,", e);
            if (line >= text + keep || (size_t)(text + keep - line) < (size_t)n ||
                memcmp(line, prefix, (size_t)n))
                abort();
            line = memchr(line, '\n', (size_t)(text + keep - line)) + 1;
        }
        if (line != text + keep) abort();
    }
    return 0;
}
