# quench — build, run, test, install, package (.deb).
# `make run` and `make test` work on a fresh Debian machine with Swift: they install what is missing first.

PREFIX   ?= /usr/local
DESTDIR  ?=
SWIFT    ?= swift
PYTHON   ?= python3
VENV     := .venv
VENV_EIO3 := .venv-eio3
ARGS     ?=
# -z now: full RELRO (the GOT read-only after start-up), as Debian's hardening flags do.
# -enforce-exclusivity=unchecked: the debug build and `swift test` keep Swift's run-time exclusivity
# checks; the shipped binary drops them (about 6% of the instructions per reply, measured with callgrind).
# Plain -O, not -Osize: 10% fewer instructions per reply for 1.5% more binary.
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -enforce-exclusivity=unchecked -Xlinker -z -Xlinker now
RELEASE_BIN   := .build/release/quench

.PHONY: all deps deb-deps test-deps build release run test unit-test interop-test venv venv-eio3 deb install uninstall clean bench bench-tools bench-cluster cluster-bench-tools fuzz sanitize soak redis-server rabbitmq-server bench-floors

all: release

## deps: install the system packages the build needs, when they are missing (root: apt-get):
## libwebsockets-dev, libssl-dev (OpenSSL's headers, for the rediss:// client), librabbitmq-dev (rabbitmq-c,
## for the amqp:// message queue) and libcrypt-dev (crypt_r, for the Admin UI's bcrypt hashes; Debian installs
## it with libc6-dev).
deps:
	@if ! pkg-config --exists libwebsockets openssl librabbitmq libcrypt 2>/dev/null; then \
		echo "installing libwebsockets-dev, libssl-dev, librabbitmq-dev, libcrypt-dev and pkg-config"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libwebsockets-dev libssl-dev librabbitmq-dev libcrypt-dev pkg-config; \
	fi

## build: debug build of every target.
build: deps
	$(SWIFT) build

## release: the shipped binary — optimised, Swift runtime linked in statically.
release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

## run: build the release binary and start it (pass flags with ARGS="--port 8080").
run: release
	$(RELEASE_BIN) $(ARGS)

## venv: the Python environment for the interop tests' real clients.
venv: $(VENV)/.installed
$(VENV)/.installed: Tests/Interop/requirements.txt
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r Tests/Interop/requirements.txt
	touch $@

## venv-eio3: a second venv with the last python-socketio/python-engineio releases that speak Engine.IO 3
## (4.6.1 / 3.14.2), for the --allow-eio3 interop tests (Tests/Interop/test_eio3.py runs its clients from it).
venv-eio3: $(VENV_EIO3)/.installed
$(VENV_EIO3)/.installed: Tests/Interop/requirements-eio3.txt
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV_EIO3)
	$(VENV_EIO3)/bin/pip install -q --disable-pip-version-check -r Tests/Interop/requirements-eio3.txt
	touch $@

## test: unit tests, then interop tests of the release binary with real clients.
test: unit-test interop-test

unit-test: deps
	$(SWIFT) test

# Needs the .deb too: Tests/Interop/test_deb.py installs it (as root) and purges it again. The slowest
# tests are listed at the end, to keep the whole run well under its 15 minutes.
interop-test: release venv venv-eio3 deb test-deps
	QUENCH_BIN=$(CURDIR)/$(RELEASE_BIN) $(VENV)/bin/python -m pytest Tests/Interop -q -p no:cacheprovider --durations=20

## test-deps: the programs the interop tests drive, when missing (one apt-get for all): Chromium (the
## browser tests), redis-server and rabbitmq-server (the message queues), haproxy (the round-robin balancer in front of a
## cluster), curl, openssl, ss (iproute2), mandoc (the man page), and promtool (the /metrics check), which
## is taken out of Debian's prometheus package into build/tools/ rather than installed: installing it would enable a Prometheus server on this machine.
TEST_PROGRAMS := chromium:chromium redis-server:redis-server rabbitmq-server:rabbitmq-server haproxy:haproxy curl:curl openssl:openssl ss:iproute2 mandoc:mandoc
PROMTOOL      := build/tools/usr/bin/promtool
test-deps: deps deb-deps $(PROMTOOL)
	@missing=""; for pair in $(TEST_PROGRAMS); do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(PROMTOOL):
	@mkdir -p build/tools
	@echo "fetching promtool (Debian's prometheus package, unpacked into build/tools, not installed)"
	cd build/tools && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; } && \
		dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb
	@test -x $@

## deb: build/quench_<version>_<arch>.deb from the release binary (packaging/build-deb.sh).
deb: release deb-deps
	packaging/build-deb.sh $(RELEASE_BIN)

## deb-deps: packaging tools, when missing: dpkg-dev builds the .deb, lintian and man-db check it.
deb-deps:
	@if ! command -v dpkg-shlibdeps >/dev/null || ! command -v lintian >/dev/null || ! command -v man >/dev/null; then \
		echo "installing dpkg-dev, lintian and man-db"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dpkg-dev lintian man-db; \
	fi

## bench: quench beside the lws floor and the seed app (../shared/reference), and three quench nodes behind
## haproxy beside one (issue 21), one run, into BENCHMARKS.md.
SHARED_REF := $(CURDIR)/../shared/reference
SEED_VENV  := .venv-seed
bench: release bench-tools
	$(PYTHON) Tests/Bench/bench.py --output BENCHMARKS.md

## bench-cluster: issue 21's section alone (three nodes, Redis and haproxy), into build/cluster-bench.md.
bench-cluster: release cluster-bench-tools
	$(PYTHON) Tests/Bench/bench.py --only cluster --output build/cluster-bench.md

## bench-floors: issue 26's section alone (long-polling and wss:// beside their floors), into build/floors-bench.md.
bench-floors: release cluster-bench-tools build/lws_floor build/poll_floor build/tls_floor
	$(PYTHON) Tests/Bench/bench.py --only floors --output build/floors-bench.md

## bench-tools: the load tool, the C floors (lws_floor; poll_floor and tls_floor, issue 26; send_floor), the seed
## app's venv and wrk (installed when missing).
bench-tools: deps build/lws_floor build/poll_floor build/tls_floor build/send_floor $(SEED_VENV)/.installed cluster-bench-tools
	@command -v wrk >/dev/null || { echo "installing wrk"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

## cluster-bench-tools: the load tool, and redis-server and haproxy for the cluster section (installed when missing).
cluster-bench-tools: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product quench-bench
	@missing=""; for pair in redis-server:redis-server haproxy:haproxy; do \
		command -v "$${pair%%:*}" >/dev/null || missing="$$missing $${pair#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build/lws_floor: $(wildcard $(SHARED_REF)/lws_floor.c)
	@test -f $(SHARED_REF)/lws_floor.c || { echo "bench: $(SHARED_REF) is missing (the shared folder must sit beside the repository, at ../shared)"; exit 1; }
	@mkdir -p build
	cc -O2 -o $@ $(SHARED_REF)/lws_floor.c -lwebsockets

## The long-poll floor: the least a long-polling chat server on lws 4.1 does (Tests/Bench/poll_floor.c).
build/poll_floor: Tests/Bench/poll_floor.c
	@mkdir -p build
	cc -O2 -Wall -o $@ $< -lwebsockets

## The TLS floor: lws_floor.c itself, included whole, with TLS on as quench's --tls-cert has it.
build/tls_floor: Tests/Bench/tls_floor.c $(wildcard $(SHARED_REF)/lws_floor.c)
	@test -f $(SHARED_REF)/lws_floor.c || { echo "bench: $(SHARED_REF) is missing (the shared folder must sit beside the repository, at ../shared)"; exit 1; }
	@mkdir -p build
	cc -O2 -Wall -I$(SHARED_REF) -o $@ $< -lwebsockets

build/send_floor: Tests/Bench/send_floor.c
	@mkdir -p build
	cc -O2 -Wall -o $@ $<

$(SEED_VENV)/.installed:
	@test -f $(SHARED_REF)/seed_app.py || { echo "bench: $(SHARED_REF)/seed_app.py is missing (../shared beside the repository)"; exit 1; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(SEED_VENV)
	$(SEED_VENV)/bin/pip install -q --disable-pip-version-check flask-socketio simple-websocket python-socketio uvicorn
	touch $@

## fuzz: every decoder of client and Redis bytes under libFuzzer + AddressSanitizer, FUZZ_SECONDS each
## (Tests/Fuzz/fuzz.sh; builds into build/fuzz/, reproducers of crashes in build/fuzz/crashes/<target>/),
## then random pipelined HTTP sequences against the release binary (the `http` target).
FUZZ_SECONDS ?= 60
fuzz: release
	Tests/Fuzz/fuzz.sh run $(FUZZ_SECONDS)

## sanitize: the unit tests and a named part of the interop suite (Tests/Sanitize/sanitize.sh lists it) under
## ThreadSanitizer, then AddressSanitizer; builds in .build-tsan and .build-asan, reports in build/sanitize/.
sanitize: deps venv redis-server rabbitmq-server
	Tests/Sanitize/sanitize.sh

## soak: the release binary under a mixed load of real clients for SOAK_SECONDS, a Redis restart half-way;
## fails unless sessions, descriptors and memory come back. Report and plot in build/soak/.
SOAK_SECONDS ?= 600
soak: release venv redis-server
	$(VENV)/bin/python Tests/Soak/soak.py --seconds $(SOAK_SECONDS) --quench $(CURDIR)/$(RELEASE_BIN)

## redis-server: for the Redis parts of sanitize and soak, when missing.
redis-server:
	@command -v redis-server >/dev/null || { echo "installing redis-server"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

## rabbitmq-server: for the AMQP part of sanitize, when missing.
rabbitmq-server:
	@command -v rabbitmq-server >/dev/null || { echo "installing rabbitmq-server"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server; }

## install: the binary (stripped) and the man page under $(DESTDIR)$(PREFIX).
install: release
	install -D -s -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/quench
	install -D -m 0644 man/quench.1 $(DESTDIR)$(PREFIX)/share/man/man1/quench.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/quench $(DESTDIR)$(PREFIX)/share/man/man1/quench.1

clean:
	rm -rf .build .build-tsan .build-asan build $(VENV) $(VENV_EIO3)
