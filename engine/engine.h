/* reusenet engine: everything a model needs, in one include. */
#ifndef REUSENET_ENGINE_H
#define REUSENET_ENGINE_H

#define REUSENET_VERSION "0.1.0"

#include "arena.h"
#include "blas.h"
#include "error.h"
#include "rng.h"
#include "tensor.h"

#endif
