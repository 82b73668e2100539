/* reusenet engine: everything a model needs, in one include. */
#ifndef REUSENET_ENGINE_H
#define REUSENET_ENGINE_H

#define REUSENET_VERSION "0.1.0"

#include "arena.h"
#include "atomic_file.h"
#include "npy.h"
#include "safetensors.h"
#include "blas.h"
#include "error.h"
#include "rng.h"
#include "tensor.h"

#include "relu.h"
#include "add.h"
#include "concat.h"
#include "maxpool2d.h"
#include "avgpool2d.h"
#include "resize.h"
#include "loss.h"
#include "optimizer.h"
#include "schedule.h"

#endif
