# SPDX-License-Identifier: BSD-3-Clause
# Thin front end: the real work is in meson (build) and devtools/ (set-up, tests).
#
#   make demo    install what is missing, build, run the demo (the bridge)
#   make test    install what is missing, build, run every test (CI runs this)
#   make bench   the benchmarks, side by side with stock DPDK, as ratios

BUILD      ?= build
ASAN_BUILD ?= build-asan
MESON_OPTS ?=
# Two lcores on two allowed CPUs; with one allowed CPU both share it (they yield).
LCORES     ?= $(shell devtools/lcores.sh)
FWD_LCORES ?= $(shell devtools/lcores.sh --fwd)
RINGBENCH  := $(BUILD)/app/pvb-ringbench/pvb-ringbench
FWD        := $(BUILD)/app/pvb-fwd/pvb-fwd
FUZZ_SECONDS ?= 600

.PHONY: all deps build demo demo-null test bench fuzz hugepages clean

all: build

deps:
	@devtools/setup-deps.sh

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(MESON_OPTS) >/dev/null
	@ninja -C $(BUILD) >/dev/null && echo "build: ok ($(BUILD)/)"

hugepages:
	@devtools/hugepages.sh

# The bridge for 10 s: a netvsc guest (testpmd, net_pvb_netvsc) and a virtio
# peer (testpmd, net_virtio_user) cross-connected by pvb-fwd, both directions,
# with its per-port rates and ref/copied counters (doc/bridge.md).
demo: build hugepages
	@BUILD=$(BUILD) devtools/demo-bridge.sh

# pvb-fwd's built-in demo: two net_null ports cross-connected by two worker
# lcores, every packet crossing lcores on an scring hand-off, for 10 s.
demo-null: build hugepages
	$(FWD) $(FWD_LCORES) --no-pci $$(devtools/hugepages.sh --eal) --log-level=error

test: build hugepages
	@BUILD=$(BUILD) ASAN_BUILD=$(ASAN_BUILD) LCORES="$(LCORES)" devtools/run-tests.sh

bench: build hugepages
	$(RINGBENCH) $(LCORES) --no-pci $$(devtools/hugepages.sh --eal) --log-level=error -- \
		--quiet --rounds 7 --json $(BUILD)/ringbench.json --plot $(BUILD)/ringbench-plots
	devtools/bench-fwd.py --build $(BUILD) --rounds 5 --json $(BUILD)/bench-fwd.json
	devtools/bench-netvsc.py --build $(BUILD) --rounds 5 --json $(BUILD)/bench-netvsc.json
	devtools/bench-vhost.py --build $(BUILD) --rounds 5 --json $(BUILD)/bench-vhost.json
	devtools/bench-bridge.py --build $(BUILD) --rounds 5 --json $(BUILD)/bench-bridge.json
	devtools/bench-offload.py --build $(BUILD) --rounds 4 --json $(BUILD)/bench-offload.json

# A longer fuzzing run of every target (ASan+UBSan build).
fuzz: build
	@BUILD=$(BUILD) ASAN_BUILD=$(ASAN_BUILD) devtools/run-tests.sh --fuzz-only $(FUZZ_SECONDS)

clean:
	rm -rf $(ASAN_BUILD)
	@[ ! -d $(BUILD) ] || find $(BUILD) -mindepth 1 -maxdepth 1 ! -name dpdk-sdk -exec rm -rf {} +
