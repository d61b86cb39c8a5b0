# strobe — the entry points a user types. `make run` and `make test` are the two that matter;
# both install what is missing first (scripts/bootstrap), then build.
SHELL := /bin/bash
.DEFAULT_GOAL := help

JOBS      ?= $(shell nproc)
# ccache hits across clones (CI builds a fresh clone each time): hash paths relative to here.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true
RELEASE   := build/release
CTEST     := ctest --output-on-failure --no-tests=error -j $(JOBS)
# Labels `make test` runs. Sanitizer builds run only unit and stress tests.
TEST_LABELS ?=

.PHONY: help bootstrap configure build run test bench format format-check lint sanitize asan tsan fuzz clean package

help:
	@echo "make run       install, build (release) and start strobe"
	@echo "make test      install, build and run every test suite"
	@echo "make build     install and build the release preset"
	@echo "make bench     run every benchmark; JSON under $(RELEASE)/bench-results/"
	@echo "make sanitize  unit and stress tests under ASan+UBSan and TSan"
	@echo "make fuzz      run each libFuzzer target for FUZZ_SECONDS (default 30); fails on a finding"
	@echo "make format    clang-format all sources; make lint runs clang-tidy"
	@echo "make package   build (release), then strobe_<version>_<arch>.deb in $(RELEASE)/packages"

bootstrap:
	@scripts/bootstrap

$(RELEASE)/build.ninja: CMakeLists.txt CMakePresets.json
	@cmake --preset release >/dev/null

configure: bootstrap
	@cmake --preset release >/dev/null

build: configure
	@cmake --build $(RELEASE) -j $(JOBS)

run: build
	@scripts/run-demo

# scripts/test-labels prints the number of tests per label (a vanished test shows as a changed
# count) and fails on a TEST_LABELS part that matches no label.
test: build
	@scripts/test-labels $(RELEASE) '$(TEST_LABELS)'
	@cd $(RELEASE) && $(CTEST) $(if $(TEST_LABELS),-L '$(TEST_LABELS)')

# The operator's .deb (packaging/deb/build_deb.py: dpkg-deb, no debhelper); docs/deploy.md.
package: build
	@/usr/bin/python3 packaging/deb/build_deb.py --strobe $(RELEASE)/bin/strobe --source . \
	  --out $(RELEASE)/packages \
	  --version $$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' $(RELEASE)/CMakeCache.txt)

bench: build
	@scripts/run-benchmarks $(RELEASE)

sanitize: asan tsan

# Builds only the targets these tests run (sanitize_tests); fuzz corpora replay under ASan too.
# Both use clang (cold ASan build at -O0: 739 s against ~28 min with g++ -O1; see docs/development.md).
asan tsan: bootstrap
	@cmake --preset $@ >/dev/null
	@cmake --build build/$@ -j $(JOBS) --target sanitize_tests
	@scripts/test-labels build/$@
	@cd build/$@ && $(CTEST) -L '$(if $(filter asan,$@),unit|stress|fuzz,unit|stress)'

# The ASan build (clang) links the fuzz targets with libFuzzer, so fuzzing shares its objects.
FUZZ_SECONDS ?= 30
# Every target in build/asan/fuzzers.txt runs FUZZ_SECONDS; a finding fails with its reproducer.
fuzz: bootstrap
	@cmake --preset asan >/dev/null
	@cmake --build build/asan -j $(JOBS) --target fuzz_targets
	@scripts/run-fuzzers build/asan $(FUZZ_SECONDS)

SOURCES = git ls-files -co --exclude-standard '*.h' '*.cc' '*.c'

format:
	@$(SOURCES) | xargs -r clang-format -i

format-check:
	@$(SOURCES) | xargs -r clang-format --dry-run --Werror

lint: configure
	@git ls-files '*.cc' | grep -v '_fuzz_test.cc$$' | xargs clang-tidy -p $(RELEASE) --quiet

clean:
	rm -rf build
