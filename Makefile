# kbench: build, test, measure. `make help` lists the targets.
GO      ?= go
BIN     ?= bin
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
LDFLAGS := -X kbench/results.Commit=$(COMMIT)
ARGS    ?=
FUZZTIME ?= 20s

CC      ?= cc

.PHONY: help build twins run quick test vet race unit fuzz smoke bench gate plots clean

help:
	@echo "make run      kbench run --impl=all on the default suite (about two minutes), files in out/"
	@echo "make test     everything CI runs: vet, race-enabled tests, bounded fuzzing, a --quick smoke run"
	@echo "make build    bin/kbench, and the C twins when a C compiler is present"
	@echo "make quick    kbench run --impl=all --quick"
	@echo "make bench    go test benchmarks (fan-in loops, rings) with allocations"
	@echo "make plots    figures and report.html of the newest out/*.json (RESULT=file for another) in plots/<name>/"
	@echo "make gate BASE=rev [RUNS=16] [GATE_RUN='--workload=fanin'] [GATE_FLAGS=]"
	@echo "             build BASE and the working tree, run both RUNS times interleaved, kbench gate them;"
	@echo "             exits with the gate's status: 0 pass, 1 fail, 2 unusable"
	@echo "make vet | race | unit | fuzz | smoke   parts of make test"

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/kbench ./cmd/kbench
	@if command -v $(CC) >/dev/null; then $(MAKE) --no-print-directory twins; else echo "no C compiler: the C twins are skipped"; fi

# The C twins (kbench also builds them on first use into ~/.cache/kbench).
twins:
	@mkdir -p $(BIN)
	cd csrc/fanin && $(CC) -O2 -pthread -I.. -o ../../$(BIN)/fanin-twin fanin.c epoll.c aio.c uring.c
	$(CC) -std=c11 -O2 -pthread -Icsrc -o $(BIN)/ringtwin csrc/ringtwin/ringtwin.c

run: build
	$(BIN)/kbench run --impl=all $(ARGS)

quick: build
	$(BIN)/kbench run --impl=all --quick $(ARGS)

test: vet race fuzz smoke

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

race:
	$(GO) test -race -timeout 20m ./...

unit:
	$(GO) test -timeout 20m ./...

# Bounded fuzzing of every Fuzz target in the tree, FUZZTIME each: the
# kevent implementation against its reference model, the --set parser, the
# result-file reader (kbench plot and gate inputs).
fuzz:
	@for f in $$(grep -rls --include='*_test.go' '^func Fuzz' . | sort); do \
		pkg=./$$(dirname $${f#./}); \
		for t in $$(grep -hos '^func Fuzz[A-Za-z0-9_]*' $$f | sed 's/^func //'); do \
			echo "fuzz $$t in $$pkg for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 3s $$pkg || exit 1; \
		done; \
	done

smoke: build
	$(BIN)/kbench run --impl=all --quick --out $$(mktemp -d)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Figures and the HTML report, from a result file alone.
RESULT ?= $(shell ls -t out/*.json 2>/dev/null | head -1)
plots: build
	@if [ -z "$(RESULT)" ]; then echo "no result file: make run first, or make plots RESULT=file.json"; exit 2; fi
	$(BIN)/kbench plot $(RESULT)

# The regression gate: base and head built side by side, their runs
# interleaved on this machine so that drift reaches both (scripts/gate.sh).
# `make gate` exits with the gate's own status (0 pass, 1 fail, 2 unusable).
# GNU make reports any failed recipe as 2, except in question mode (-q),
# where a recipe's exit 1 stays make's exit 1; so when gate is the only
# goal make runs in question mode, and the recipe is marked + (run even
# then). RUNS, GATE_RUN and GATE_FLAGS pass through to the script.
ifeq ($(MAKECMDGOALS),gate)
MAKEFLAGS += -q
endif
BASE ?=
gate:
	+@if [ -z "$(BASE)" ]; then echo "make gate BASE=<git revision>" >&2; exit 2; fi; \
	GO=$(GO) scripts/gate.sh $(BASE)

clean:
	rm -rf $(BIN)
