/* reusenet eval --pred DIR --gt DIR -o metrics.csv (train/eval_masks.h) */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "datasets/dataset.h"
#include "engine/error.h"
#include "train/eval_masks.h"

int cmd_eval_masks(int argc, char **argv)
{
    MaskEvalOptions o = {0};
    const char *classes = NULL;
    const Option opts[] = {
        {"--pred", OPT_STRING, &o.pred_dir, "DIR  predicted masks (.nii, .nii.gz or .png; e.g. "
         "reusenet predict's output folder)", true},
        {"--gt", OPT_STRING, &o.gt_dir, "DIR  reference masks (a dataset folder: ACDC layout "
         "X_gt.nii.gz, PNG layout masks/, or flat)", true},
        {"-o", OPT_STRING, &o.csv_path, "CSV  per case and class: case,class,dice,hd95,assd", true},
        {"--classes", OPT_STRING, &classes, "LIST  classes to score, e.g. \"1 2 3\" (default: "
         "GT/dataset.cfg's, else 1 2 3)", false},
    };
    const OptionSpec spec = {"reusenet eval", "Dice, 95th-percentile Hausdorff distance and "
                             "average symmetric surface distance (mm, MedPy's definitions) of "
                             "predicted masks against reference masks, matched by case name; "
                             "per-class mean ± sd on the terminal.", NULL, 0, 0, opts,
                             sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    if (classes && dataset_parse_classes(classes, &o.classes)) {
        fprintf(stderr, "reusenet eval: --classes: %s\n", error_get());
        return 2;
    }
    if (eval_masks(&o, stdout)) {
        return cli_fail("eval");
    }
    return 0;
}
