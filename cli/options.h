/* Command-line options of the sub-commands: a table of options per command, parsed in one
 * place so every command treats --help, unknown options, missing values and bad numbers
 * the same way. */
#ifndef REUSENET_OPTIONS_H
#define REUSENET_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

typedef enum OptionType { OPT_STRING, OPT_INT, OPT_U64, OPT_FLOAT, OPT_FLAG } OptionType;

typedef struct Option {
    const char *name;        /* "--weights" (or "-o") */
    OptionType type;
    void *dest;              /* const char **, int *, uint64_t *, double *, bool * */
    const char *help;        /* "FILE  the checkpoint" */
    bool required;
} Option;

#define THREADS_HELP "T  threads (default: all cores)"

typedef struct OptionSpec {
    const char *command;     /* "reusenet forward" */
    const char *summary;     /* one line */
    const char *positional;  /* "CHECKPOINT" or NULL */
    int min_positional, max_positional;
    const Option *options;
    int count;
} OptionSpec;

/* Parse argv[1..]. A number outside the range its option has in every command (options.c's
 * table: --threads 1..the processors or 64, --size 1..32768, ...) is bad usage, as a value
 * that is not a number is. Positional arguments are collected into positional[] (max_positional
 * at most). Returns 0 to go on, 1 when --help was printed (exit 0), 2 on bad usage (the
 * message is printed; exit 2). */
int options_parse(const OptionSpec *spec, int argc, char **argv, char **positional,
                  int *n_positional);
void options_usage(const OptionSpec *spec, bool to_stderr);

/* A command that failed with error_get() set: prints "reusenet COMMAND: message" (or
 * "reusenet: message" for command NULL) on stderr, one line, and returns exit status 1.
 * Under mpirun only rank 0 prints: the ranks agreed on the message (engine/dist.h). */
int cli_fail(const char *command);

#endif
