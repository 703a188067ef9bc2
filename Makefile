# kctr: build, test, regenerate, benchmark. `make test` is the test command CI runs.
SWIFT ?= swift
PREFIX ?= /usr/local

.PHONY: build release dist image install test unit integration generate check-generated lint bench clean fuzz fuzz-smoke sanitize sanitize-address sanitize-thread fresh-check

build:
	$(SWIFT) build

# The Swift runtime and Foundation linked in: ~15 ms less start-up, and the
# binary runs where no Swift toolchain is installed.
release:
	$(SWIFT) build -c release -Xswiftc -static-stdlib

# One file to copy onto a node: the release objects relinked fully static
# (glibc included: no loader, no shared library), stripped, naming its
# commit; bash/zsh/fish completions and the man page next to it (scripts/release/dist.py).
dist: release
	python3 scripts/release/dist.py

# dist/kctr-image.tar: an OCI image archive with dist/kctr as its only file,
# reproducible (same commit, same digest), written without a container engine
# (scripts/release/image.py). IMAGE_NAME names it (default kctr, i.e. docker.io/library/kctr:VERSION).
IMAGE_NAME ?= kctr
image: dist
	python3 scripts/release/image.py --name $(IMAGE_NAME)

# Installs what `make dist` built (building it first when missing). DESTDIR is honoured.
BASHCOMPDIR ?= /usr/share/bash-completion/completions
ZSHCOMPDIR ?= /usr/share/zsh/vendor-completions
FISHCOMPDIR ?= /usr/share/fish/vendor_completions.d
MANDIR ?= $(PREFIX)/share/man
install:
	@test -x dist/kctr -a -f dist/kctr.1 || $(MAKE) dist
	install -D -m 0755 dist/kctr $(DESTDIR)$(PREFIX)/bin/kctr
	install -D -m 0644 dist/kctr.bash $(DESTDIR)$(BASHCOMPDIR)/kctr
	install -D -m 0644 dist/_kctr $(DESTDIR)$(ZSHCOMPDIR)/_kctr
	install -D -m 0644 dist/kctr.fish $(DESTDIR)$(FISHCOMPDIR)/kctr.fish
	install -D -m 0644 dist/kctr.1 $(DESTDIR)$(MANDIR)/man1/kctr.1

# XCTest only: the suites are XCTest, and Swift Testing's empty summary must
# not be the last line CI reads.
test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

unit:
	$(SWIFT) test --disable-swift-testing --filter 'KctrRPCTests|KctrCoreTests'

integration:
	$(SWIFT) test --disable-swift-testing --filter KctrIntegrationTests

# AddressSanitizer (LeakSanitizer included) and ThreadSanitizer over the RPC
# layer: KctrRPCTests (codec) and KctrRPCLiveTests (unary, streaming, many
# tasks, cancellation, deadlines against a private containerd), then the
# sanitized kctr through real commands (scripts/ci/sanitize-kctr). Each
# sanitizer builds in its own scratch path; the normal .build is untouched.
# Leaks are checked in the kctr runs only: the XCTest bundle itself leaks at
# exit on Linux (XCTest's suite objects, Foundation's String(contentsOf:)
# buffer and Process.run's weak references), none of it kctr's code.
SANITIZE_TESTS ?= KctrRPCTests|KctrRPCLiveTests

sanitize: sanitize-address sanitize-thread

sanitize-address:
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --disable-swift-testing --sanitize=address --scratch-path .build-asan --filter '$(SANITIZE_TESTS)'
	bash scripts/ci/sanitize-kctr .build-asan/debug/kctr

sanitize-thread:
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	$(SWIFT) test --skip-build --disable-swift-testing --sanitize=thread --scratch-path .build-tsan --filter '$(SANITIZE_TESTS)'
	bash scripts/ci/sanitize-kctr .build-tsan/debug/kctr

generate:
	bash Protos/generate.sh

# Fails when Generated/ differs from what Protos/generate.sh writes.
check-generated: generate
	git diff --exit-code --stat -- Generated
	@test -z "$$(git status --porcelain -- Generated)" || { git status --porcelain -- Generated; echo "Generated/ is stale: run make generate and commit" >&2; exit 1; }

# pyflakes over every Python script (.ci/run runs it); a Python script must be named .py to be checked.
lint:
	@for f in $$(find scripts -type f ! -name '*.py'); do \
		if head -n1 "$$f" | grep -q python; then echo "$$f is a Python script: name it $$f.py" >&2; exit 1; fi; \
	done
	pyflakes3 $$(find scripts -name '*.py' | sort)

# What operators run: the one-file build (make dist). Writes scripts/bench/BENCHMARKS.md too;
# scripts/bench/bench.py --help for rows, runs and --kctr. It builds kctr-lab (debug, `swift build --product
# kctr-lab`) for its names and pods; kctr-lab is test tooling, never in dist/.
bench: dist
	python3 scripts/bench/bench.py --kctr dist/kctr --write-md

# libFuzzer over the parsers of untrusted input (scripts/fuzz/fuzz): FUZZ_SECONDS per target (default 60),
# FUZZ_TARGETS to choose (archive json toml yaml crilog reply cache). Built in .build/fuzz, apart from the normal build.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz/fuzz

# What CI runs after make test: a few seconds per target.
fuzz-smoke:
	FUZZ_SECONDS=5 bash scripts/fuzz/fuzz

# README's quickstart and .ci/run in a new debootstrapped Debian 12 root (scripts/ci/fresh-check --help):
# proves scripts/deps and .ci/run install what they need. ~36 min on 2 busy cores; FRESH_CHECK_ARGS=--only-ci etc.
fresh-check:
	bash scripts/ci/fresh-check $(FRESH_CHECK_ARGS)

clean:
	rm -rf .build dist .build-asan .build-tsan
