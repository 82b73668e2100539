/* Sub-commands of the `reusenet` program. Each takes the arguments after its name
 * (argv[0] is the sub-command name) and returns the process exit status:
 * 0 on success, 1 on an error it has printed as one line, 2 on bad usage. */
#ifndef REUSENET_COMMANDS_H
#define REUSENET_COMMANDS_H

int cmd_data(int argc, char **argv);       /* data synth|info|preview   (cli/cmd_data.c) */

int cmd_info(int argc, char **argv);       /* checkpoint summary and layer table (cli/cmd_model.c) */
int cmd_init(int argc, char **argv);       /* fresh model */
int cmd_forward(int argc, char **argv);    /* one forward pass on an .npy input */
int cmd_grad(int argc, char **argv);       /* parameter gradients of a loss */

int cmd_train(int argc, char **argv);      /* training runs (cli/cmd_train.c) */
int cmd_eval(int argc, char **argv);       /* Dice table of a checkpoint, or of mask folders */
int cmd_eval_masks(int argc, char **argv); /* eval --pred/--gt (cli/cmd_eval_masks.c) */
int cmd_predict(int argc, char **argv);    /* label masks for new scans (cli/cmd_predict.c) */

/* parameter-reuse analyses (cli/cmd_reuse.c) */
int cmd_swap(int argc, char **argv);       /* swap scan: Dice with one tensor from the source */
int cmd_bnstats(int argc, char **argv);    /* MRM, MRV, MRW, MRB per BN layer */
int cmd_rmse(int argc, char **argv);       /* per-layer kernel RMSE for every pair of models */
int cmd_plan(int argc, char **argv);       /* reusable tensors from a scan */
int cmd_report(int argc, char **argv);     /* the study as one HTML page and a Markdown file */

/* will a source help? (cli/cmd_align.c, cli/cmd_predictors.c) */
int cmd_align(int argc, char **argv);      /* weight matching: S permuted to match T */
int cmd_cka(int argc, char **argv);        /* per-layer linear CKA of T and S */
int cmd_transferability(int argc, char **argv);   /* LogME and LEEP of sources on target data */

int cmd_transfer(int argc, char **argv);   /* Table 1 (cli/cmd_transfer.c) */

int cmd_bench(int argc, char **argv);      /* time one configuration (cli/cmd_bench.c) */

#endif
