# kctr: build, test, regenerate, benchmark. `make test` is the test command CI runs.
SWIFT ?= swift
PREFIX ?= /usr/local

.PHONY: build release test unit integration generate check-generated bench clean fuzz fuzz-smoke

build:
	$(SWIFT) build

# The Swift runtime and Foundation linked in: ~15 ms less start-up, and the
# binary runs where no Swift toolchain is installed.
release:
	$(SWIFT) build -c release -Xswiftc -static-stdlib

# XCTest only: the suites are XCTest, and Swift Testing's empty summary must
# not be the last line CI reads.
test:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --disable-swift-testing

unit:
	$(SWIFT) test --disable-swift-testing --filter 'KctrRPCTests|KctrCoreTests'

integration:
	$(SWIFT) test --disable-swift-testing --filter KctrIntegrationTests

generate:
	bash Protos/generate.sh

# Fails when Generated/ differs from what Protos/generate.sh writes.
check-generated: generate
	git diff --exit-code --stat -- Generated
	@test -z "$$(git status --porcelain -- Generated)" || { git status --porcelain -- Generated; echo "Generated/ is stale: run make generate and commit" >&2; exit 1; }

bench: release
	python3 scripts/bench

# libFuzzer over the parsers of untrusted input (scripts/fuzz): FUZZ_SECONDS per target (default 60),
# FUZZ_TARGETS to choose (archive json toml yaml crilog). Built in .build/fuzz, apart from the normal build.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz

# What CI runs after make test: a few seconds per target.
fuzz-smoke:
	FUZZ_SECONDS=5 bash scripts/fuzz

clean:
	rm -rf .build
