# The two commands of README.md: `make demo` and `make test`. Everything else is a helper.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -G Ninja -DCMAKE_CXX_COMPILER_LAUNCHER=ccache

.PHONY: deps build demo test test-unit test-asan bench format check-format

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	@rm -rf loom-data
	@./$(BUILD)/loom demo --data loom-data

# Every test: the whole suite on the release build, then the unit tests under ASan+UBSan.
test: check-format test-unit test-asan

test-unit: build
	@scripts/start-services.sh
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DLOOM_SANITIZE=ON \
	  -DLOOM_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit

bench: build
	@for b in $(BUILD)/bench/bench_*; do echo "== $$b"; $$b; done

format:
	@git ls-files '*.h' '*.cc' | xargs -r clang-format -i

check-format:
	@scripts/check-format.sh
