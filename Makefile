# Thin wrapper over CMake (see README.md).
#   make         build build/tkms (installs missing dependencies first)
#   make check   every test: the normal build, then an ASan+UBSan build
#                with clang that also runs each libFuzzer target briefly
#   make demo    the CLI flow end to end
#   make bench   tkms bench, bench dkg, and the server benchmark (scripts/bench-server)
JOBS ?= $(shell nproc)

.PHONY: all deps build check check-normal check-sanitize demo bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build build -j $(JOBS) -- --no-print-directory

check: check-normal check-sanitize

check-normal: build
	cd build && ctest --output-on-failure -j $(JOBS)

check-sanitize: deps
	@CC=clang cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=Debug \
	    -DTKMS_SANITIZE=ON -DTKMS_FUZZ=ON >/dev/null
	@cmake --build build-sanitize -j $(JOBS)
	cd build-sanitize && ASAN_OPTIONS=detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ctest --output-on-failure -j $(JOBS) -LE 'interop|bench'

demo: build
	@scripts/demo

bench: build
	@build/tkms bench
	@build/tkms bench dkg
	@scripts/bench-server

clean:
	rm -rf build build-sanitize
