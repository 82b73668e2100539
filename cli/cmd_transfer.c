/* reusenet transfer: the paper's Table 1 (transfer/transfer.h). */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/error.h"
#include "transfer/transfer.h"

int cmd_transfer(int argc, char **argv)
{
    const char *config = NULL, *out = NULL;
    int threads = 0;
    bool quiet = false;
    const Option opts[] = {
        {"--config", OPT_STRING, &config, "study.cfg  target, sources, n, seeds, training settings", true},
        {"-o", OPT_STRING, &out, "STUDY_DIR  results go to STUDY_DIR/transfer/", true},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
        {"--quiet", OPT_FLAG, &quiet, "no progress output", false},
    };
    const OptionSpec spec = {"reusenet transfer", "The transfer experiment (paper Table 1): random "
                             "init, random frozen encoder, and per source the plan's tensors frozen "
                             "or fine-tuned or every tensor fine-tuned (study.cfg configs:), for "
                             "each n over seeds x training subsets; Table 1 with 95% intervals and "
                             "paired differences (Wilcoxon). Rerunning skips finished runs and "
                             "resumes interrupted ones. Under "
                             "`mpirun -np R` (the MPI=1 build) the runs are spread over the R "
                             "ranks, each an ordinary single-process run.",
                             NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    if (transfer_run(config, out, threads, quiet)) {
        return cli_fail("transfer");
    }
    return 0;
}
