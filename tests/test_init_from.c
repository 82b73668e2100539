/* --init-from with a torchvision ResNet-18 state_dict: the backbone tensors load under
 * their own names, conv1's RGB filters are summed into the one MRI channel, fc.* is
 * ignored, the pyramid and classifier keep their fresh initialisation; --freeze freezes
 * exactly what was loaded. */
#include <stdlib.h>
#include <string.h>

#include "engine/error.h"
#include "engine/safetensors.h"
#include "models/model.h"
#include "tests/testutil.h"
#include "train/trainer.h"

static void test_torchvision_resnet18(void **state)
{
    (void)state;
    char *dir = make_temp_dir("init-from");
    char path[4200];
    snprintf(path, sizeof path, "%s/resnet18.safetensors", dir);

    /* A stand-in for torchvision's resnet18 state_dict: our backbone tensors (layers 1-20)
     * with random values, conv1 with 3 input channels, and the fc head. */
    Model src;
    ModelConfig rgb = {ARCH_PSPNET, 3, 4, 0, TASK_SEG};
    assert_int_equal(model_create(&src, &rgb), 0);
    SafetensorsWriter w;
    safetensors_writer_init(&w);
    for (int k = 1; k <= 20; k++) {
        Layer *l = model_layer(&src, k);
        for (int r = 0; r < ROLE_COUNT; r++) {
            Param *p = model_param(&src, l, (ParamRole)r);
            if (!p) continue;
            fill_uniform(p->t.data, p->t.size, 0.5f, 1.5f, 100 + k * 8 + r);
            safetensors_writer_add_f32(&w, p->name, p->t.ndim, p->t.shape, p->t.data);
        }
    }
    float fc_w[1000 * 4] = {0}, fc_b[1000] = {0};
    safetensors_writer_add_f32(&w, "fc.weight", 2, (int[]){1000, 4}, fc_w);
    safetensors_writer_add_f32(&w, "fc.bias", 1, (int[]){1000}, fc_b);
    assert_int_equal(safetensors_write(&w, path), 0);
    safetensors_writer_free(&w);

    Model m;
    ModelConfig gray = {ARCH_PSPNET, 1, 4, 0, TASK_SEG};
    assert_int_equal(model_create(&m, &gray), 0);
    model_init_weights(&m, 7);
    float classifier_before = model_param(&m, model_layer(&m, 0), ROLE_W)->t.data[3];
    char origin[512];
    int loaded = init_from_checkpoint(&m, path, NULL, NULL, true, origin, sizeof origin);
    assert_true(loaded > 0);
    assert_non_null(strstr(origin, "torchvision"));

    /* conv1: the sum over the three input channels */
    const float *w3 = model_param(&src, model_layer(&src, 1), ROLE_W)->t.data;
    const float *w1 = model_param(&m, model_layer(&m, 1), ROLE_W)->t.data;
    for (int o = 0; o < 64; o++)
        for (int q = 0; q < 49; q++)
            assert_float_equal(w1[o * 49 + q], w3[(o * 3) * 49 + q] + w3[(o * 3 + 1) * 49 + q] +
                               w3[(o * 3 + 2) * 49 + q], 1e-6);
    /* a deep tensor loaded as it is, and frozen */
    Param *rv = model_param(&m, model_layer(&m, 20), ROLE_RV);
    assert_memory_equal(rv->t.data, model_param(&src, model_layer(&src, 20), ROLE_RV)->t.data,
                        rv->t.size * sizeof(float));
    assert_true(rv->frozen);
    /* the pyramid and classifier: fresh, not frozen */
    Param *cls = model_param(&m, model_layer(&m, 0), ROLE_W);
    assert_true(cls->t.data[3] == classifier_before);
    assert_false(cls->frozen);
    assert_false(model_param(&m, model_layer(&m, 21), ROLE_W)->frozen);

    /* a torchvision file fits only pspnet */
    Model u;
    ModelConfig unet = {ARCH_UNET, 1, 4, 4, TASK_SEG};
    assert_int_equal(model_create(&u, &unet), 0);
    assert_int_equal(init_from_checkpoint(&u, path, NULL, NULL, false, origin, sizeof origin), -1);
    assert_non_null(strstr(error_get(), "fits only pspnet"));
    model_free(&u);
    model_free(&m);
    model_free(&src);
    assert_int_equal(remove_tree(dir), 0);
    free(dir);
}

TEST_MAIN("init-from", NULL, NULL,
          test_torchvision_resnet18)
