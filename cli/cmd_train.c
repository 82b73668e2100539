/* reusenet train | eval */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/data_args.h"
#include "cli/options.h"
#include "engine/blas.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "train/data.h"
#include "train/evaluate.h"
#include "train/trainer.h"

int cmd_train(int argc, char **argv)
{
    TrainConfig c;
    train_config_defaults(&c);
    const char *arch = NULL, *task = "seg", *optimizer = "adam", *schedule = "poly";
    bool no_augment = false;
    double spacing = 0;
    int subset_seed = -1;
    const Option opts[] = {
        {"--arch", OPT_STRING, &arch, "pspnet|unet", true},
        {"--width", OPT_INT, &c.model.width, "F  UNet base width (default 32)", false},
        {"--task", OPT_STRING, &task, "seg|auto  segmentation or auto-encoder (default seg)", false},
        DATA_OPTION_ROWS(c.data, true, DATA_SIZE_HELP),
        {"--n-train", OPT_INT, &c.data.n_train, "N  keep N training patients, drawn with "
         "--split-seed (default all)", false},
        {"--subset-seed", OPT_INT, &subset_seed, "S  draw the --n-train patients with S "
         "instead of --split-seed (the validation patients stay)", false},
        {"--spacing", OPT_FLOAT, &spacing, "MM  resample slices to MM mm per pixel first (default: "
         "their own spacing)", false},
        {"--epochs", OPT_INT, &c.epochs, "E  epochs", true},
        {"--batch", OPT_INT, &c.batch, "B  batch size", true},
        {"--lr", OPT_FLOAT, &c.lr, "LR  learning rate", true},
        {"--optimizer", OPT_STRING, &optimizer, "adam|sgd (default adam)", false},
        {"--momentum", OPT_FLOAT, &c.momentum, "M  SGD momentum (default 0.9)", false},
        {"--weight-decay", OPT_FLOAT, &c.weight_decay, "WD  L2 weight decay (default 0)", false},
        {"--schedule", OPT_STRING, &schedule, "poly|cosine|none (default poly)", false},
        {"--dice-loss", OPT_FLAG, &c.dice_loss, "seg: add soft Dice to the cross-entropy", false},
        {"--no-augment", OPT_FLAG, &no_augment, "no flips/rotations/scaling/gamma", false},
        {"--seed", OPT_U64, &c.seed, "S  weights, batch order, augmentation (default 0)", false},
        {"--threads", OPT_INT, &c.threads, THREADS_HELP, false},
        {"-o", OPT_STRING, &c.out_dir, "RUN_DIR  output directory", true},
        {"--init-from", OPT_STRING, &c.init_from, "CKPT  start from this checkpoint (or a "
         "torchvision resnet18 state_dict)", false},
        {"--params", OPT_STRING, &c.params_list, "LIST  with --init-from: only these tensors (comma-separated)", false},
        {"--plan", OPT_STRING, &c.plan, "PLAN.json  with --init-from: the plan's reusable tensors", false},
        {"--freeze", OPT_FLAG, &c.freeze, "keep every loaded tensor fixed (BN statistics too)", false},
        {"--freeze-encoder", OPT_FLAG, &c.freeze_encoder, "keep the encoder's learned tensors "
         "(PSPNet's backbone, UNet's enc1-enc4) at their initialisation; its BN statistics "
         "follow the data", false},
        {"--val-every", OPT_INT, &c.val_every, "K  validate after every K-th epoch and the last "
         "(default 1)", false},
        {"--resume", OPT_FLAG, &c.resume, "continue the run in RUN_DIR where it stopped", false},
        {"--quiet", OPT_FLAG, &c.quiet, "no progress output", false},
    };
    const OptionSpec spec = {"reusenet train", "Train a segmentation or auto-encoder model; "
                             "writes RUN_DIR/{config.json,log.csv,last,best,resume}. Under "
                             "`mpirun -np R` (the MPI=1 build) each batch of B is split over "
                             "the R ranks (data-parallel; rank 0 writes RUN_DIR).",
                             NULL, 0, 0, opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    c.augment = !no_augment;
    if (subset_seed < -1) {
        fprintf(stderr, "reusenet train: --subset-seed must be at least 0, got %d\n", subset_seed);
        return 2;
    }
    c.data.subset_seed = subset_seed;
    if (c.val_every < 0) {
        fprintf(stderr, "reusenet train: --val-every must be at least 1, got %d\n", c.val_every);
        return 2;
    }
    if (!(spacing >= 0 && spacing < 1000)) {
        fprintf(stderr, "reusenet train: --spacing must be a pixel size in mm, got %g\n", spacing);
        return 2;
    }
    c.data.spacing_mm = (float)spacing;
    if (model_arch_parse(arch, &c.model.arch) || model_task_parse(task, &c.model.task) ||
        schedule_parse(schedule, &c.schedule))
        return cli_fail("train");
    if (!strcmp(optimizer, "adam")) c.optimizer = OPTIMIZER_ADAM;
    else if (!strcmp(optimizer, "sgd")) c.optimizer = OPTIMIZER_SGD;
    else {
        fprintf(stderr, "reusenet train: --optimizer must be adam or sgd, got '%s'\n", optimizer);
        return 2;
    }
    if ((c.params_list || c.plan || c.freeze) && !c.init_from) {
        fprintf(stderr, "reusenet train: --params, --plan and --freeze need --init-from\n");
        return 2;
    }
    if (c.params_list && c.plan) {
        fprintf(stderr, "reusenet train: give --params or --plan, not both\n");
        return 2;
    }
    c.data_parallel = true;           /* under mpirun -np R: the batch spread over R ranks */
    return train_run(&c) < 0 ? cli_fail("train") : 0;
}

static void print_eval(const EvalResult *r, ModelTask task, const ClassMap *names)
{
    if (task == TASK_AUTO) {
        printf("MSE %.6f   PSNR %.2f dB\n", r->mse, r->psnr);
        return;
    }
    printf("%-12s %8s %18s\n", "class", "Dice", "per patient");
    for (int c = 0; c < r->classes; c++) {
        bool used = r->evaluated & (1u << c);
        printf("%-12s %8.4f %10.4f ± %.4f%s\n", classmap_name(names, c), r->dice[c],
               r->patient_dice_mean[c], r->patient_dice_sd[c], used ? "" : "   (not labelled)");
    }
    printf("%-12s %8.4f %10.4f ± %.4f   (%d patients; classes:", "mean", r->mean_dice,
           r->patient_mean_mean, r->patient_mean_sd, r->patients);
    for (int c = 0; c < r->classes; c++)
        if (r->evaluated & (1u << c)) printf(" %s", classmap_name(names, c));
    printf(")\n");
}

int cmd_eval(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)          /* the second mode: folders of masks */
        if (!strcmp(argv[i], "--pred") || !strcmp(argv[i], "--gt")) return cmd_eval_masks(argc, argv);
    const char *weights = NULL, *split = "val", *overlays = NULL;
    DataOptions d;
    data_options_defaults(&d);
    d.size = 0;                             /* 0: the checkpoint's */
    int threads = 0;
    const Option opts[] = {
        {"--weights", OPT_STRING, &weights, "FILE  checkpoint", true},
        DATA_OPTION_ROWS(d, true, "S  slice size (default: the checkpoint's training size, "
                         "else 128)"),
        DATA_SPLIT_ROW(split, true),
        {"--overlays", OPT_STRING, &overlays, "DIR  write image | truth | prediction PNGs", false},
        {"--threads", OPT_INT, &threads, THREADS_HELP, false},
    };
    const OptionSpec spec = {"reusenet eval", "Per-class Dice (pooled, and per-patient mean ± "
                             "sd) of a checkpoint on a dataset split, its slices preprocessed as "
                             "in training (size and spacing from the checkpoint). Second mode: "
                             "reusenet eval --pred DIR --gt DIR -o CSV (see --pred --help).",
                             NULL, 0, 0, opts,
                             sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    int which = data_split_parse(split, true, "eval");
    if (!which) return 2;
    engine_set_threads(threads);
    Model m;
    RunData data;
    CheckpointPreprocess pp;
    if (checkpoint_load_preprocess(&m, weights, &pp)) return cli_fail("eval");
    if (d.size <= 0) d.size = pp.size > 0 ? pp.size : 128;
    d.spacing_mm = pp.spacing_mm;
    if (model_check_run(&m, 8, d.size, d.size, false)) {
        error_prefix("%s: slices of %dx%d", weights, d.size, d.size);
        model_free(&m);
        return cli_fail("eval");
    }
    if (run_data_load(&d, which, &data)) {
        model_free(&m);
        return cli_fail("eval");
    }
    SliceSet *set = which == RUN_DATA_TRAIN ? &data.train : &data.val;
    if (which == (RUN_DATA_TRAIN | RUN_DATA_VAL))
        for (int i = 0; i < data.train.count; i++) {     /* move train slices into one set */
            sliceset_push(&data.val, data.train.slices[i]);
            data.train.slices[i].image = NULL;
            data.train.slices[i].label = NULL;
        }
    Tape t;
    tape_init(&t, 0);
    EvalOptions eo = {.task = m.cfg.task, .labelled = data.labelled, .batch = 8};
    EvalResult r;
    evaluate_model(&m, &t, set, &eo, &r);
    printf("%s on %s (%s split, %d slices)\n", weights, d.dir, split, set->count);
    print_eval(&r, m.cfg.task, &data.dataset->classmap);
    if (overlays) rc = eval_write_overlays(&m, &t, set, overlays) ? cli_fail("eval") : 0;
    tape_free(&t);
    run_data_free(&data);
    model_free(&m);
    return rc;
}
