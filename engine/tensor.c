#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tensor.h"

size_t shape_numel(int ndim, const int *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    return n;
}

void tensor_set_shape(Tensor *t, int ndim, const int *shape)
{
    CHECK(ndim >= 0 && ndim <= TENSOR_MAX_DIMS, "tensor with %d dimensions (at most %d)",
          ndim, TENSOR_MAX_DIMS);
    t->ndim = ndim;
    for (int i = 0; i < TENSOR_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    for (int i = 0; i < ndim; i++) CHECK(shape[i] >= 0, "negative dimension %d", shape[i]);
    t->size = shape_numel(ndim, shape);
}

bool tensor_same_shape(const Tensor *a, const Tensor *b)
{
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

char *tensor_shape_str(const Tensor *t, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %d" : "%d", t->shape[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

Tensor tensor_alloc(int ndim, const int *shape)
{
    Tensor t = {0};
    tensor_set_shape(&t, ndim, shape);
    t.data = xcalloc_floats(t.size);
    return t;
}

Tensor tensor_alloc4(int n, int c, int h, int w)
{
    return tensor_alloc(4, (int[]){n, c, h, w});
}

void tensor_free(Tensor *t)
{
    free(t->data);
    free(t->grad);
    t->data = t->grad = NULL;
}

void tensor_check_same_shape(const char *op, const Tensor *a, const Tensor *b)
{
    char sa[64], sb[64];
    CHECK(tensor_same_shape(a, b), "%s: shapes %s and %s differ", op,
          tensor_shape_str(a, sa, sizeof sa), tensor_shape_str(b, sb, sizeof sb));
}

void tensor_check_4d(const char *op, const Tensor *t)
{
    char s[64];
    CHECK(t->ndim == 4, "%s: expected an NCHW tensor, got shape %s", op,
          tensor_shape_str(t, s, sizeof s));
}
