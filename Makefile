# The two commands a newcomer needs: `make run` and `make test`.
# Everything else is a building block of those two.
SHELL := /bin/bash
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
DEMO_ARGS ?=

.PHONY: deps build build-all build-asan run test bench clean format tidy

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

# Only the binary: `make run` should not wait for the test and benchmark programs.
build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS) --target apitrail

build-all: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DAPITRAIL_SANITIZE=ON -DAPITRAIL_BUILD_BENCH=OFF

build-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target apitrail_unit_tests apitrail

run: build
	./$(BUILD)/apitrail demo $(DEMO_ARGS)

# Every test under ASan+UBSan first (unit tests, and the integration tests driving the
# sanitized binary), then every test of the normal build, whose ctest summary line is
# printed last.
test: build-all build-asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	@# ctest prints its label and time summaries after the pass/fail line; repeat that line
	@# last, so the run ends with it (and keep ctest's exit status).
	cd $(BUILD) && set -o pipefail && ctest --output-on-failure -j $(JOBS) --timeout 300 | tee make-test.log; \
	  status=$$?; grep -E '^[0-9]+% tests passed' make-test.log | tail -1; exit $$status

bench: build
	bash bench/gateway.sh

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

# clang-tidy with .clang-tidy over src/ (Debian's clang-tidy, installed when missing); reports
# findings without failing. The compile database is GCC's, hence the unknown-warning flag.
tidy: build-all
	@command -v run-clang-tidy >/dev/null || apt-get install -y clang-tidy
	run-clang-tidy -p $(BUILD) -quiet -extra-arg=-Wno-unknown-warning-option -j $(JOBS) '$(CURDIR)/src/' || true

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
