/* Internal to models/: each architecture file's one record (model_arch_info() hands them
 * out by ModelArch). */
#ifndef REUSENET_MODEL_ARCH_H
#define REUSENET_MODEL_ARCH_H

#include "models/model.h"

extern const ModelArchInfo pspnet_arch;   /* models/pspnet.c */
extern const ModelArchInfo unet_arch;     /* models/unet.c */

#endif
