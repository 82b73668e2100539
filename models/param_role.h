/* The six parameter kinds of a conv+BN layer, the unit of the swap scan and of reuse plans
 * (docs/method.md, "The swap scan"): the BN layer's running mean RM, running variance RV,
 * weight RW and bias RB, then the conv's weight W and bias B. Written once: the enum, its
 * count and the names ("RM" ... "B", as scans, plans and the report spell them) live here
 * and nowhere else; a loop over the kinds runs to ROLE_COUNT, over the BN kinds from
 * ROLE_RM to ROLE_RB, over the conv kinds from ROLE_W to ROLE_B. Depends on nothing, so
 * the readers of result files can use it without the models. */
#ifndef REUSENET_PARAM_ROLE_H
#define REUSENET_PARAM_ROLE_H

typedef enum ParamRole {
    ROLE_RM, ROLE_RV, ROLE_RW, ROLE_RB,  /* BN running_mean, running_var, weight, bias */
    ROLE_W, ROLE_B,                       /* conv weight, conv bias */
    ROLE_COUNT
} ParamRole;

/* "RM", "RV", "RW", "RB", "W" or "B". */
const char *param_role_name(ParamRole r);
/* The kind spelled s, or -1 when s names none. */
int param_role_find(const char *s);
/* The same with the error set ("unknown parameter kind ...") when s names none: 0 or -1. */
int param_role_parse(const char *s, ParamRole *out);

#endif
