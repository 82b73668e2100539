/* reusenet engine: every op a model is built from, with the tensors, tape, parameter store,
 * losses, optimizers and file formats around them, in one include. Internal to the ops
 * and not included: im2col, Winograd, polyphase and reduce (conv2d's paths). */
#ifndef REUSENET_ENGINE_H
#define REUSENET_ENGINE_H

#define REUSENET_VERSION "0.1.0"

#include "arena.h"
#include "atomic_file.h"
#include "fsutil.h"
#include "npy.h"
#include "safetensors.h"
#include "blas.h"
#include "error.h"
#include "rng.h"
#include "tensor.h"
#include "tape.h"
#include "params.h"

#include "conv2d.h"
#include "batchnorm.h"
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
