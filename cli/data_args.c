#include <stdio.h>
#include <string.h>

#include "cli/data_args.h"

int data_split_parse(const char *split, bool allow_all, const char *command)
{
    if (!strcmp(split, "val")) return RUN_DATA_VAL;
    if (!strcmp(split, "train")) return RUN_DATA_TRAIN;
    if (allow_all && !strcmp(split, "all")) return RUN_DATA_TRAIN | RUN_DATA_VAL;
    fprintf(stderr, "reusenet %s: --split must be %s, got '%s'\n", command,
            allow_all ? "val, train or all" : "val or train", split);
    return 0;
}
