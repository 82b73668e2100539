/* reusenet: the command-line program. Dispatches to the sub-commands of commands.h. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "engine/dist.h"
#include "engine/engine.h"

typedef struct Command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"data", cmd_data, "make, inspect and preview datasets (synth, info, preview)"},
    {"init", cmd_init, "write a freshly initialised pspnet or unet checkpoint"},
    {"info", cmd_info, "architecture, metadata and layer table of a checkpoint"},
    {"forward", cmd_forward, "one forward pass: X.npy -> Y.npy"},
    {"train", cmd_train, "train a segmentation or auto-encoder model (resumable)"},
    {"eval", cmd_eval, "per-class Dice of a checkpoint on a dataset, or of predicted masks"},
    {"predict", cmd_predict, "label masks for new scans (NIfTI or PNG), on their own grid"},
    {"bench", cmd_bench, "time a training step or an eval forward on random data"},
    {"grad", cmd_grad, "gradients of a loss w.r.t. every trainable tensor"},
    {"swap", cmd_swap, "swap scan: Dice of a target with one tensor from a source"},
    {"bnstats", cmd_bnstats, "MRM, MRV, MRW, MRB of a target against a source, per BN layer"},
    {"rmse", cmd_rmse, "per-layer RMSE of conv W and B for every pair of models"},
    {"transfer", cmd_transfer, "the transfer experiment: Table 1 (random / freeze / fine-tune)"},
    {"align", cmd_align, "weight matching: permute a source's channels to match a target"},
    {"cka", cmd_cka, "per-layer linear CKA of two models' activations on a dataset"},
    {"transferability", cmd_transferability, "LogME (and LEEP) of source models on target data"},
    {"plan", cmd_plan, "reusable tensors and the verdict from a swap scan"},
    {"report", cmd_report, "the study as one self-contained HTML page (+ Markdown)"},
};
enum { COMMAND_COUNT = sizeof commands / sizeof commands[0] };

static void print_help(FILE *out)
{
    fprintf(out, "usage: reusenet <command> [options]   (reusenet <command> --help for details)\n\n"
                 "Parameter-reuse analysis (PR-RMSE) for segmentation networks on CPU.\n\n"
                 "commands:\n");
    for (int i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-15s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\noptions:\n  --help     this text\n  --version  version, BLAS library and kernel, threads\n");
}

/* Under mpirun (the MPI=1 build) every rank runs the command: train splits its batches
 * over the ranks and transfer its runs; any other command would only do the same work R
 * times and race to write the same files, so it refuses to start on more than one. */
static int run_command(const Command *c, int argc, char **argv)
{
    dist_init(&argc, &argv);
    int rc;
    if (dist_size() > 1 && strcmp(c->name, "train") && strcmp(c->name, "transfer")) {
        if (dist_rank() == 0)
            fprintf(stderr, "reusenet %s: runs on one rank, started on %d (only train and "
                    "transfer spread over ranks)\n", c->name, dist_size());
        rc = 2;
    } else {
        rc = c->run(argc, argv);
    }
    dist_finalize();
    return rc;
}

int main(int argc, char **argv)
{
    engine_configure_process(argv);
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        print_help(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("reusenet %s\n", REUSENET_VERSION);
        engine_print_config(stdout);
        return 0;
    }
    for (int i = 0; i < COMMAND_COUNT; i++)
        if (!strcmp(argv[1], commands[i].name)) return run_command(&commands[i], argc - 1, argv + 1);
    fprintf(stderr, "reusenet: unknown command '%s' (see reusenet --help)\n", argv[1]);
    return 2;
}
