# reusenet build.  Toggles (set on the command line, e.g. `make DEBUG=1`):
#   BLAS=openblas|blis   GEMM library (default: openblas; see README "Choosing the BLAS")
#   DEBUG=1              -O0 -g with AddressSanitizer + UndefinedBehaviorSanitizer
#   OMP=0                build without OpenMP (one thread: the BLAS runs one-threaded too)
#   ARCH=native          the instruction set the C code is compiled for (-march): this machine's
#                        by default; ARCH=x86-64-v2 for a binary that runs on any x86-64 since 2009
#   MPI=1                the Open MPI build (mpicc, -DUSE_MPI) in build-mpi/: `mpirun -np R
#                        build-mpi/reusenet train|transfer ...` (README "Past one machine")
BLAS  ?= openblas
MPI   ?= 0
ARCH  ?= native
DEBUG ?= 0
OMP   ?= 1

CC      ?= cc
# Objects do not record the BLAS or instruction set they were compiled for, so each builds
# in its own folder.
BUILD   ?= build$(if $(filter blis,$(BLAS)),-blis)$(if $(filter-out native,$(ARCH)),-$(ARCH))$(if $(filter 1,$(MPI)),-mpi)
CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iengine -I. -MMD -MP
LDLIBS  := -lcjson -lpng -lz -lm
# libhdf5 (Debian's serial build, libhdf5-dev) reads the SSL4MIS HDF5 datasets (datasets/hdf5io.c).
HDF5_CFLAGS := -isystem /usr/include/hdf5/serial
CFLAGS  += $(HDF5_CFLAGS)
LDLIBS  := -lhdf5_serial $(LDLIBS)
# Open MPI's compiler wrapper adds its include and library flags; only engine/dist.c
# looks at USE_MPI.
ifeq ($(MPI),1)
  CC      := mpicc
  CFLAGS  += -DUSE_MPI
endif

ifeq ($(DEBUG),1)
  CFLAGS  += -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
else
  # -O3: at -O2, GCC 12 vectorises only loops that need no run-time alias check, which
  # left element-wise loops (add_relu, the SGD update) scalar: PSPNet step 4 % faster.
  CFLAGS  += -O3 -g -march=$(ARCH)
endif
ifeq ($(OMP),1)
  CFLAGS  += -fopenmp
  LDFLAGS += -fopenmp
else
  CFLAGS  += -Wno-unknown-pragmas
endif
# Both BLAS libraries come in Debian builds that thread with pthreads or with OpenMP; we
# link the OpenMP build by its own folder (not the system-wide alternative), so that the
# GEMMs and our loops share one pool of threads. With two pools on two cores, the BLAS's
# idle threads spin while our loops run and the other way round (measured: a UNet step
# 2.48 s with OpenBLAS's pthread build, 1.91 s with its OpenMP build, 2 threads).
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
ifeq ($(BLAS),blis)
  BLAS_DIR := blis-openmp
  CFLAGS   += -DUSE_BLIS
  BLAS_LIB := -lblis
else
  BLAS_DIR := openblas-openmp
  CFLAGS   += -DUSE_OPENBLAS
  BLAS_LIB := -lopenblas
endif
# What the results' bits depend on (engine_build(), recorded in every run's config.json).
BUILD_DESC := $(if $(filter 1,$(DEBUG)),-O1 sanitizers,-O3 -march=$(ARCH)) $(if $(filter 1,$(OMP)),OpenMP,no OpenMP)
CFLAGS  += -DREUSENET_BUILD_FLAGS='"$(BUILD_DESC)"'
BLAS_CFLAGS  := -isystem /usr/include/$(MULTIARCH)/$(BLAS_DIR)
BLAS_LDFLAGS := -L/usr/lib/$(MULTIARCH)/$(BLAS_DIR) -Wl,-rpath,/usr/lib/$(MULTIARCH)/$(BLAS_DIR)
CFLAGS  += $(BLAS_CFLAGS)
LDFLAGS += $(BLAS_LDFLAGS)
LDLIBS  := $(BLAS_LIB) $(LDLIBS)

LIB_SRC  := $(wildcard engine/*.c util/*.c models/*.c datasets/*.c train/*.c reuse/*.c report/*.c transfer/*.c)
CLI_SRC  := $(wildcard cli/*.c)
TEST_SRC := $(wildcard tests/test_*.c)
BENCH_SRC:= $(wildcard bench/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
LIB      := $(BUILD)/libreusenet.a
BIN      := $(BUILD)/reusenet

.SECONDARY:
.PHONY: all deps test test-kernels test-mpi mpi-tests sanitize check-torch valgrind valgrind-tests demo study study-real reproduce bench clean fuzz fuzz-run report-check
all: $(LIB) $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

# Tests link the command implementations too (not main), so they can call cmd_* directly.
CLI_CMD_OBJ := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJ))
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/testutil.o $(BUILD)/tests/testutil_h5.o $(CLI_CMD_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

# Debian packages the build, tests and demo need; installed only when missing.
DEB_PKGS := build-essential libopenblas-openmp-dev libblis-openmp-dev libpng-dev zlib1g-dev libstb-dev \
            libcmocka-dev libcjson-dev libhdf5-dev $(if $(filter 1,$(MPI)),libopenmpi-dev openmpi-bin)
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# Every tests/test_*.c is its own cmocka program; `make test` runs them all and stops on a
# failure, then the bits under the other BLAS kernels (test-kernels).
test: deps
	@sh tests/layers.sh
	@$(MAKE) --no-print-directory all $(TESTS)
	@set -e; for t in $(TESTS); do echo "== $$t"; OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} REUSENET_BIN=$(BIN) $$t; done; echo "all test programs passed"
	@$(if $(filter 0,$(KERNELS)),,$(MAKE) --no-print-directory test-kernels)

# The same bits under every BLAS kernel (README "What the bits depend on"): the GEMM's bits
# at 1, 2 and 3 threads (test_blas) under each OpenBLAS kernel this processor can run
# (tests/kernels.sh), under the one OpenBLAS picks itself, and under BLIS; the training,
# resume and evaluation checks (test_reproducible) also under a second kernel: OpenBLAS's
# own pick when the environment names one in OPENBLAS_CORETYPE, else Haswell.
test-kernels: all $(BUILD)/tests/test_blas $(BUILD)/tests/test_reproducible
	@set -e; export OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-PASSIVE} REUSENET_BIN=$(BIN); \
	for k in $$(sh tests/kernels.sh) picked; do echo "== test_blas, OpenBLAS kernel $$k"; \
	  if [ $$k = picked ]; then env -u OPENBLAS_CORETYPE $(BUILD)/tests/test_blas; \
	  else OPENBLAS_CORETYPE=$$k $(BUILD)/tests/test_blas; fi; done; \
	if [ -n "$${OPENBLAS_CORETYPE:-}" ]; then echo "== test_reproducible, OpenBLAS's own kernel"; \
	  env -u OPENBLAS_CORETYPE $(BUILD)/tests/test_reproducible; \
	elif sh tests/kernels.sh | grep -qx Haswell; then echo "== test_reproducible, kernel Haswell"; \
	  OPENBLAS_CORETYPE=Haswell $(BUILD)/tests/test_reproducible; fi
	@$(MAKE) --no-print-directory BLAS=blis BUILD=$(BUILD)-blis $(BUILD)-blis/reusenet $(BUILD)-blis/tests/test_blas
	@echo "== test_blas, BLIS"; OMP_WAIT_POLICY=PASSIVE REUSENET_BIN=$(BUILD)-blis/reusenet $(BUILD)-blis/tests/test_blas
	@echo "all kernels passed"

# The Open MPI tests (tests/mpi/): test_dist_*.c run under mpirun with 3 ranks (on one
# machine: --oversubscribe; as root Open MPI also needs OMPI_ALLOW_RUN_AS_ROOT=1 and
# OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1, which the recipe sets when run as root); test_mpi_*.c
# start mpirun themselves ($$MPIRUN).
MPIRUN    ?= mpirun --oversubscribe
MPI_TESTS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(wildcard tests/mpi/test_*.c))
test-mpi:
	@$(MAKE) --no-print-directory MPI=1 deps
	@$(MAKE) --no-print-directory MPI=1 mpi-tests
# Each runs twice: under the environment's BLAS kernel and under a second one, as in
# test-kernels (OpenBLAS's own pick when OPENBLAS_CORETYPE is set, else Haswell).
mpi-tests: all $(MPI_TESTS)
	@set -e; if [ "$$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi; \
	export OMP_WAIT_POLICY=PASSIVE; \
	if [ -n "$${OPENBLAS_CORETYPE:-}" ]; then second="env -u OPENBLAS_CORETYPE"; \
	else second="env OPENBLAS_CORETYPE=Haswell"; fi; \
	for kernel in "env" "$$second"; do for t in $(MPI_TESTS); do echo "== $$t ($$kernel)"; \
	  case $$t in */test_dist_*) $$kernel $(MPIRUN) -np 3 $$t;; \
	  *) $$kernel MPIRUN="$(MPIRUN)" REUSENET_BIN=$(BIN) $$t;; esac; done; done; \
	echo "all MPI test programs passed"

sanitize: deps
	@$(MAKE) --no-print-directory DEBUG=1 BUILD=build-san KERNELS=0 test

# libgomp's thread pool is suppressed (tests/valgrind.supp). A test program may start itself
# again with its BLAS and OpenMP settings (engine_configure_process): valgrind follows it
# there, and leaves alone the shell, Python and the reusenet program the tests run (under
# memcheck's virtual processor it would pick another BLAS kernel than the run it is
# compared with, e.g. a training run resumed after a kill). Valgrind does not run AVX-512
# instructions, so its build is for AVX2 machines (x86-64-v3).
VALGRIND_FLAGS := --suppressions=tests/valgrind.supp --trace-children=yes \
                  --trace-children-skip='/bin/*,/usr/bin/*,/usr/local/bin/*,*/reusenet'
valgrind: deps
	@$(MAKE) --no-print-directory ARCH=x86-64-v3 valgrind-tests
valgrind-tests: all $(TESTS)
	@set -e; for t in $(TESTS); do echo "== valgrind $$t"; \
	  OMP_NUM_THREADS=1 REUSENET_BIN=$(BIN) valgrind -q --error-exitcode=1 --leak-check=full $(VALGRIND_FLAGS) $$t; done

# PyTorch equality proof (needs Debian's python3-torch): forward and gradients of both
# models against a PyTorch implementation written from docs/models.md, fresh random weights;
# then ten Adam steps of `reusenet train` against torch.optim.Adam (check_training.py).
TORCH_PY ?= /usr/bin/python3
check-torch: all
	$(TORCH_PY) tests/torch/models.py > /dev/null
	$(TORCH_PY) tests/torch/safetensors_io.py
	$(TORCH_PY) tests/torch/check_roundtrip.py --reusenet $(BIN)
	$(TORCH_PY) tests/torch/check_models.py --reusenet $(BIN)
	$(TORCH_PY) tests/torch/check_recal.py --reusenet $(BIN)
	OMP_NUM_THREADS=1 $(TORCH_PY) tests/torch/check_training.py --reusenet $(BIN)

# libFuzzer targets (clang): each tests/fuzz/fuzz_*.c with the library sources, built with
# the fuzzer and ASan/UBSan into build-fuzz/. `make fuzz-run FUZZ_TIME=60` runs each for
# that long, or `make fuzz-run FUZZ_RUNS=10000000` for that many executions, one after the
# other, from its corpus build-fuzz/corpus/NAME and the seeds in tests/fuzz/seeds/NAME.
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ       := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              $(filter -DUSE_%,$(CFLAGS)) $(BLAS_CFLAGS) $(HDF5_CFLAGS) -Iengine -I.
FUZZ_TIME  ?= 60
FUZZ_RUNS  ?=
FUZZ_LIMIT := $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_TIME))
fuzz: $(FUZZ)
build-fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) $< $(LIB_SRC) $(BLAS_LDFLAGS) $(LDLIBS) -o $@
# the options parser lives with the commands
build-fuzz/fuzz_options: tests/fuzz/fuzz_options.c cli/options.c $(LIB_SRC)
	@mkdir -p build-fuzz
	clang $(FUZZ_FLAGS) $< cli/options.c $(LIB_SRC) $(BLAS_LDFLAGS) $(LDLIBS) -o $@
fuzz-run: fuzz
	@set -e; for f in $(FUZZ); do n=$${f##*/}; c=build-fuzz/corpus/$$n; mkdir -p $$c; \
	  s=tests/fuzz/seeds/$$n; [ -d $$s ] || s=; echo "== $$f ($(FUZZ_LIMIT))"; \
	  $$f $(FUZZ_LIMIT) -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=build-fuzz/ \
	    $$c $$s > build-fuzz/$$n.log 2>&1 || { tail -40 build-fuzz/$$n.log; exit 1; }; \
	  tail -4 build-fuzz/$$n.log; done

# Open a report in headless Chromium and check that it rendered (needs Debian's chromium).
report-check: all
	REUSENET_BIN=$(BIN) sh tests/report/check_render.sh

# The whole study on synthetic data, at demo size (see README).
demo: deps
	@$(MAKE) --no-print-directory all
	sh tools/demo.sh

# The paper's questions with intervals, sized for one 2-core machine (about 1.5 h; see
# README "make study" and docs/FINDINGS.md). Resumable: run it again after an interruption.
# On real data: make study ACDC=/path/to/ACDC/training; under MPI: MPI=1 MPIRUN="mpirun -np R".
study: deps
	@$(MAKE) --no-print-directory all
	BIN=$(BIN) sh tools/study.sh

# The paper's questions on real scans (README "make study-real"; hours, in parts: run it
# again and it goes on): make study-real ACDC_H5=/path/to/ACDC LA_H5=/path/to/LA (the SSL4MIS
# HDF5 folders), or ACDC=/path/to/training for the ACDC release; under Open MPI:
# make study-real MPI=1 MPIRUN="mpirun -np R" ...
study-real: deps
	@$(MAKE) --no-print-directory all
	BIN=$(BIN) sh tools/study_real.sh

# The paper-sized study (hours; resumable: run it again after an interruption). On a
# cluster: make reproduce MPI=1 MPIRUN="mpirun -np R" (README "Past one machine").
reproduce: deps
	@$(MAKE) --no-print-directory all
	BIN=$(BIN) sh tools/reproduce.sh

# `make bench` (bench/run.sh; see README "Benchmarks"): conv layers against the sgemm ceiling,
# reusenet bench and PyTorch for every configuration, the swap scan against the naive one;
# writes bench/RESULTS.md. BENCH_QUICK=1 shrinks everything to a smoke test.
# conv_bench is built from bench/*.c with sgemm_rowmajor wrapped at link time, so that it
# can record the GEMMs the engine issues (bench/gemm_ceiling.h).
BENCH_OBJ  := $(BENCH_SRC:%.c=$(BUILD)/%.o)
CONV_BENCH := $(BUILD)/bench/conv_bench
$(CONV_BENCH): $(BENCH_OBJ) $(BUILD)/cli/options.o $(LIB)
	$(CC) $(LDFLAGS) -Wl,--wrap=sgemm_rowmajor -Wl,--wrap=sgemm_rowmajor_serial $^ $(LDLIBS) -o $@
bench: deps
	@$(MAKE) --no-print-directory all $(CONV_BENCH)
	@BIN=$(BIN) CONV_BENCH=$(CONV_BENCH) TORCH_PY=$(TORCH_PY) BENCH_DIR=$(BUILD)/bench BENCH_BLAS=$(BLAS) sh bench/run.sh
-include $(BENCH_OBJ:.o=.d)

clean:
	rm -rf build build-*

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTS:=.d) $(MPI_TESTS:=.d) $(BUILD)/tests/testutil.d $(BUILD)/tests/testutil_h5.d
