/* Internal to models/: what each architecture file provides to model.c. */
#ifndef REUSENET_MODEL_ARCH_H
#define REUSENET_MODEL_ARCH_H

#include "models/model.h"

#define PSPNET_LAYERS 25
#define UNET_LAYERS 18

/* Fill the table rows (numbered layers in forward order, then the head): names, channels,
 * kernel, stride, padding, dilation, bias. */
void pspnet_describe(const ModelConfig *cfg, Layer *layers);
void unet_describe(const ModelConfig *cfg, Layer *layers);
Tensor *pspnet_forward(Model *m, Tape *t, Tensor *x);
Tensor *unet_forward(Model *m, Tape *t, Tensor *x);

/* Fill one row; used by the describe functions. */
void layer_describe(Layer *l, const char *conv, const char *bn, int in_ch, int out_ch,
                    int kernel, int stride, int pad, int dilation, bool bias);

#endif
