/* Placeholder until the datasets module lands. */
#include <stdio.h>
#include "cli/commands.h"
int cmd_data(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "reusenet data: not built yet\n");
    return 1;
}
