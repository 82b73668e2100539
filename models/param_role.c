#include <assert.h>
#include <string.h>

#include "engine/error.h"
#include "models/param_role.h"

static const char *const role_names[] = {"RM", "RV", "RW", "RB", "W", "B"};
static_assert(sizeof role_names / sizeof role_names[0] == ROLE_COUNT,
              "one name per ParamRole, in the enum's order");

const char *param_role_name(ParamRole r) { return role_names[r]; }

int param_role_find(const char *s)
{
    for (int r = 0; r < ROLE_COUNT; r++)
        if (!strcmp(s, role_names[r])) return r;
    return -1;
}

int param_role_parse(const char *s, ParamRole *out)
{
    const int r = param_role_find(s);
    if (r < 0) return error_set("unknown parameter kind '%s' (RM, RV, RW, RB, W or B)", s);
    *out = (ParamRole)r;
    return 0;
}
