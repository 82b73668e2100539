#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datasets/case_list.h"
#include "engine/error.h"
#include "engine/fsutil.h"

const char *case_extension(const char *name)
{
    static const char *const ext[] = {".nii.gz", ".nii", ".png"};
    for (int i = 0; i < 3; i++)
        if (fs_has_suffix(name, ext[i]) && strlen(name) > strlen(ext[i])) return ext[i];
    return NULL;
}

/* name without ext, and without a trailing suffix when it has one (strip_gt). */
static char *stem(const char *name, const char *ext, int strip_gt, int *had_gt)
{
    size_t n = strlen(name) - strlen(ext);
    *had_gt = n > 3 && !strncmp(name + n - 3, "_gt", 3);
    if (strip_gt && *had_gt) n -= 3;
    char *s = xmalloc(n + 1);
    memcpy(s, name, n);
    s[n] = '\0';
    return s;
}

static int has_mask_beside(const char *dir, const char *base)
{
    static const char *const ext[] = {".nii.gz", ".nii", ".png"};
    for (int i = 0; i < 3; i++) {
        char name[4096];
        snprintf(name, sizeof name, "%s/%s_gt%s", dir, base, ext[i]);
        if (fs_is_file(name)) return 1;
    }
    return 0;
}

/* Add the supported files of root/sub (sub "" for the root itself). */
static int add_folder(CaseList *l, const char *sub, CaseRole role)
{
    char *dir = *sub ? fs_join(l->root, sub) : fs_join(l->root, "");
    char **names;
    int n = fs_list(dir, 0, &names), status = n < 0 ? -1 : 0;
    for (int i = 0; i < n && !status; i++) {
        const char *ext = case_extension(names[i]);
        if (!ext) continue;
        int gt;
        char *base = stem(names[i], ext, 0, &gt);
        int prob = fs_has_suffix(base, "_prob");
        int skip = prob || (role == CASE_IMAGES ? gt : !gt && has_mask_beside(dir, base));
        free(base);
        if (skip) continue;
        char *name_only = stem(names[i], ext, role == CASE_MASKS, &gt);
        CaseFile f;
        f.path = fs_join(dir, names[i]);
        f.name = *sub ? fs_join(sub, name_only) : name_only;
        f.rel = *sub ? fs_join(sub, names[i]) : fs_join("", names[i]);
        f.png = !strcmp(ext, ".png");
        if (*sub) free(name_only);
        int twin = case_find(l, f.name);
        if (twin >= 0)
            status = error_set("%s and %s are both case '%s'; keep one", l->files[twin].path,
                               f.path, f.name);
        l->files = xrealloc(l->files, sizeof *l->files * (size_t)(l->count + 1));
        l->files[l->count++] = f;
    }
    free_strings(names, n);
    free(dir);
    return status;
}

int case_list(const char *dir, CaseRole role, CaseList *out)
{
    memset(out, 0, sizeof *out);
    if (!fs_is_dir(dir)) return error_set("%s: no such folder", dir);
    char *inner = fs_join(dir, role == CASE_IMAGES ? "images" : "masks");
    out->root = fs_is_dir(inner) ? inner : fs_join("", dir);
    if (out->root != inner) free(inner);
    int status = add_folder(out, "", role);
    char **subs;
    int n = status ? 0 : fs_list(out->root, 1, &subs);
    if (n < 0) status = -1;
    for (int i = 0; i < n && !status; i++) status = add_folder(out, subs[i], role);
    if (n > 0) free_strings(subs, n);
    if (!status && !out->count)
        status = error_set("%s: no %s here (.nii, .nii.gz or .png files, in the folder or its "
                           "subfolders)", out->root, role == CASE_IMAGES ? "images" : "masks");
    if (status) case_list_free(out);
    return status;
}

int case_find(const CaseList *l, const char *name)
{
    for (int i = 0; i < l->count; i++)
        if (!strcmp(l->files[i].name, name)) return i;
    return -1;
}

void case_list_free(CaseList *l)
{
    for (int i = 0; i < l->count; i++) {
        free(l->files[i].path);
        free(l->files[i].name);
        free(l->files[i].rel);
    }
    free(l->files);
    free(l->root);
    memset(l, 0, sizeof *l);
}
