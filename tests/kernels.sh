#!/bin/sh
# The OpenBLAS kernels this processor can run, one per line, from the instruction set
# features it reports (the same features engine/blas.c checks): Sandybridge needs AVX,
# Haswell and Zen AVX2 and FMA, SkylakeX AVX-512 F/BW/DQ/VL, Cooperlake also AVX-512 BF16.
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { for f in "$@"; do case " $flags " in *" $f "*) ;; *) return 1;; esac; done; }
has avx && echo Sandybridge
has avx2 fma && echo Haswell && echo Zen
has avx512f avx512bw avx512dq avx512vl && echo SkylakeX
has avx512f avx512bw avx512dq avx512vl avx512_bf16 && echo Cooperlake
exit 0
