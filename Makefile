# Makefile - builds build/libattndrop.a, build/attndrop and the tests.
# `make` builds; `make test` runs every test; `make bench` measures against
# PyTorch. NO_OMP=1 builds without OpenMP; SAN=1 with ASan and UBSan.

CC ?= cc
PYTHON ?= /usr/bin/python3
BUILD ?= build

BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
NATIVE := $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)

OPT ?= -O3 $(NATIVE)
CFLAGS += $(OPT) -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Iinclude $(BLAS_CFLAGS) -g
LDLIBS = $(BLAS_LIBS) -lcjson -lm

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

LIB_SRC := $(wildcard src/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TOOL_BIN := $(BUILD)/tests/parity_dump

.PHONY: all test check demo bench fixtures clean
all: $(BUILD)/libattndrop.a $(BUILD)/attndrop $(TEST_BIN) $(TOOL_BIN)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) src/kernels.inc include/attndrop.h | $(BUILD)/obj
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libattndrop.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/attndrop: cli/main.c cli/opts.c cli/opts.h include/attndrop.h $(BUILD)/libattndrop.a
	$(CC) $(CFLAGS) cli/main.c cli/opts.c $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) src/kernels.inc include/attndrop.h $(BUILD)/libattndrop.a | $(BUILD)/tests
	$(CC) $(CFLAGS) -Isrc $< $(BUILD)/libattndrop.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

# Every test: C unit tests, CLI tests, then the live PyTorch comparison.
test: all
	@tests/run_all.sh $(BUILD) $(PYTHON)

# The whole suite three times: the default build, without OpenMP, and under
# AddressSanitizer + UndefinedBehaviorSanitizer. This is the README's test command.
check:
	$(MAKE) test
	$(MAKE) BUILD=$(BUILD)-noomp NO_OMP=1 test
	ASAN_OPTIONS=allocator_may_return_null=1 $(MAKE) BUILD=$(BUILD)-san SAN=1 OPT="-O1 $(NATIVE)" test

# The README's main job until the study lands: a short run on the built-in
# markov text, then a sample from the checkpoint.
demo: all
	$(BUILD)/attndrop train --task markov --batch-size 32 --block-size 64 --n-embd 64 --n-head 4 --n-layer 4 \
		--learning-rate 1e-3 --max-iters 600 --eval-interval 100 --eval-iters 20 --out out --overwrite
	@echo "entropy rate of the markov text (the lowest loss possible): $$($(BUILD)/attndrop text --entropy)"
	$(BUILD)/attndrop sample --ckpt out/model.safetensors --max-new-tokens 300

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

bench: all
	@bench/run.sh $(BUILD) $(PYTHON)

clean:
	rm -rf $(BUILD)
