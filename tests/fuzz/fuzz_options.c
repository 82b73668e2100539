/* libFuzzer target for the command-line options (cli/options.c): the input, cut at NUL
 * bytes into at most 24 arguments, is parsed against a table with an option of every type
 * and the options whose numbers are range-checked (--threads, --size, --spacing, ...);
 * options_parse must print usage (1), refuse with one line (2) or accept (0), and what it
 * accepts must be within each option's range, positional arguments within the count.
 * Never crash or read out of bounds (built with -fsanitize=fuzzer,address,undefined).
 * Run with -close_fd_mask=3: every refusal is a line on stderr, every --help a page.
 *
 *   make fuzz
 *   build-fuzz/fuzz_options -close_fd_mask=3 build-fuzz/corpus/fuzz_options \
 *       tests/fuzz/seeds/fuzz_options */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 24 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char text[4097], *argv[MAX_ARGS + 2];
    memcpy(text, data, size);
    text[size] = '\0';
    int argc = 1;
    argv[0] = (char *)"reusenet";
    for (char *p = text; argc <= MAX_ARGS && p <= text + size; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;

    const char *s = NULL, *o = NULL;
    int threads = 0, size_opt = -7, n_train = -7, batch = -7;
    uint64_t seed = 0;
    double spacing = -7, decay = -7, lr = -7;
    bool flag = false;
    const Option opts[] = {
        {"--data", OPT_STRING, &s, "DIR", true},
        {"-o", OPT_STRING, &o, "FILE", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"--size", OPT_INT, &size_opt, "S", false},
        {"--n-train", OPT_INT, &n_train, "N", false},
        {"--batch", OPT_INT, &batch, "B", false},
        {"--seed", OPT_U64, &seed, "S", false},
        {"--spacing", OPT_FLOAT, &spacing, "MM", false},
        {"--weight-decay", OPT_FLOAT, &decay, "WD", false},
        {"--lr", OPT_FLOAT, &lr, "LR", false},
        {"--quiet", OPT_FLAG, &flag, "", false},
    };
    const OptionSpec spec = {"reusenet fuzz", "options", "A [B]", 0, 2, opts,
                             sizeof opts / sizeof opts[0]};
    char *positional[2];
    int n_positional = -1;
    int rc = options_parse(&spec, argc, argv, positional, &n_positional);
    if (rc < 0 || rc > 2) abort();
    if (rc == 0) {
        if (!s || n_positional < 0 || n_positional > 2) abort();
        if (threads != 0 && (threads < 1 || threads > 1 << 20)) abort();
        if (size_opt != -7 && (size_opt < 1 || size_opt > 32768)) abort();
        if (n_train != -7 && n_train < 1) abort();
        if (batch != -7 && batch < 1) abort();
        if (spacing != -7 && !(spacing >= 1e-3 && spacing <= 1e6)) abort();
        if (decay != -7 && !(decay >= 0 && decay <= 1e6)) abort();
        if (lr != -7 && isnan(lr)) abort();
    }
    return 0;
}
