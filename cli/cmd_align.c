/* reusenet align: weight matching (reuse/align.h). Writes the source with its hidden
 * channels permuted to lie closest to the target's weights; it computes the source's
 * function unchanged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "engine/engine.h"
#include "engine/fsutil.h"
#include "models/checkpoint.h"
#include "reuse/align.h"
#include "reuse/reuse_model.h"

int cmd_align(int argc, char **argv)
{
    const char *target = NULL, *source = NULL, *out = NULL;
    uint64_t seed = 0;
    int max_rounds = 100;
    const Option opts[] = {
        {"--target", OPT_STRING, &target, "T.safetensors  the model to match", true},
        {"--source", OPT_STRING, &source, "S.safetensors  the model to permute (same configuration)", true},
        {"--seed", OPT_U64, &seed, "S  order of the coordinate descent over the groups (default 0)", false},
        {"--max-rounds", OPT_INT, &max_rounds, "R  at most R rounds over all groups (default 100)", false},
        {"-o", OPT_STRING, &out, "S_aligned.safetensors  the permuted source", true},
    };
    const OptionSpec spec = {"reusenet align", "Weight matching (Git Re-Basin, Ainsworth et al. "
                             "2023): permute S's hidden channels, tied where the wiring ties them "
                             "(residual streams, skip and pyramid concatenations), so that its "
                             "weights come closest to T's; S's function is unchanged.", NULL, 0, 0,
                             opts, sizeof opts / sizeof opts[0]};
    int rc = options_parse(&spec, argc, argv, NULL, NULL);
    if (rc) return rc == 1 ? 0 : rc;
    if (max_rounds < 1) {
        fprintf(stderr, "reusenet align: --max-rounds must be >= 1\n");
        return 2;
    }
    const char *inputs[] = {target, source};
    if (fs_check_output(out, inputs, 2)) return cli_fail("align");
    ReuseModel t, s;
    if (reuse_model_load(&t, target, NULL)) return cli_fail("align");
    if (reuse_model_load(&s, source, NULL) || reuse_models_compatible(&t, &s)) {
        reuse_model_free(&t);
        reuse_model_free(&s);
        return cli_fail("align");
    }
    AlignGroups g;
    align_groups_build(&t.model, &g);
    int **perms = xcalloc((size_t)g.n_groups, sizeof *perms);
    for (int i = 0; i < g.n_groups; i++) perms[i] = xmalloc(sizeof **perms * (size_t)g.size[i]);
    AlignResult res;
    align_weights(&t.model, &s.model, &g, seed, max_rounds, perms, &res);
    printf("align %s to %s: %d permutation groups, %d round%s, %d group%s moved\n", s.name,
           t.name, g.n_groups, res.rounds, res.rounds == 1 ? "" : "s", res.moved_groups,
           res.moved_groups == 1 ? "" : "s");
    printf("%-4s %-36s %8s %8s\n", "grp", "members", "channels", "moved");
    for (int i = 0; i < g.n_groups; i++) {
        char name[96];
        int moved = 0;
        for (int c = 0; c < g.size[i]; c++) moved += perms[i][c] != c;
        align_group_name(&t.model, &g, i, name, sizeof name);
        printf("%-4d %-36s %8d %8d\n", i, name, g.size[i], moved);
        free(perms[i]);
    }
    free(perms);
    printf("weight distance to the target (conv W, B, BN W, B): %.6g before, %.6g after\n",
           res.distance_before, res.distance_after);
    if (res.rounds == max_rounds)
        fprintf(stderr, "reusenet align: warning: stopped after %d rounds without converging\n",
                max_rounds);
    char init[REUSE_INIT_MAX + 64];
    snprintf(init, sizeof init, "%s, permuted", s.init[0] ? s.init : "unknown");
    const MetaPair extra[] = {{"init", init}, {"aligned_to", t.name}};
    rc = checkpoint_save(&s.model, out, extra, 2);
    if (rc) cli_fail("align");
    else printf("wrote %s\n", out);
    align_groups_free(&g);
    reuse_model_free(&t);
    reuse_model_free(&s);
    return rc ? 1 : 0;
}
