# dialup-admin: two commands on a fresh Debian 12 machine (as root):
#   make demo   installs what is needed, then runs the main job
#   make test   installs what is needed, then runs the whole test suite
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
STAMPS := .stamps
# Everything the tool and its tests run for real: pppd/chat, mgetty, a kernel with PPP
# (user-mode Linux), shadow-utils, busybox for the guests, nft, a compiler for mgetty.
APT_PACKAGES := python3 python3-venv ppp mgetty socat user-mode-linux busybox-static \
	nftables iproute2 build-essential dpkg-dev passwd login util-linux procps strace ca-certificates

.PHONY: all demo test test-fast typecheck bench deps clean mgetty-src lab-debs

all: test

$(STAMPS)/apt: Makefile
	@mkdir -p $(STAMPS)
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "make: missing system packages: $$missing (run make as root, or apt-get install them)" >&2; exit 1; fi; \
	  echo "make: installing system packages:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

$(STAMPS)/venv: pyproject.toml $(STAMPS)/apt
	@mkdir -p $(STAMPS)
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	@touch $@

deps: $(STAMPS)/venv

# The upstream mgetty tarball (checked against Debian's .dsc) for the build tests; reused offline.
MGETTY_CACHE := .cache/mgetty-src
mgetty-src: deps
	$(VENV)/bin/python -m dialup_admin.mgetty.source $(MGETTY_CACHE) || echo "make: mgetty source not fetched; the build tests will skip"

# sysvinit-core (and udev where this machine lacks it) for the lab's init guests: downloaded with
# apt-get download and unpacked into the tool's cache, never installed (see dialup_admin/lab/debs.py).
lab-debs: deps
	$(VENV)/bin/python -m dialup_admin.lab.debs || echo "make: lab packages not fetched; the sysvinit (or systemd) lab tests will skip"

demo: deps
	$(VENV)/bin/python -m dialup_admin.demo

test: deps mgetty-src lab-debs
	$(VENV)/bin/python -m pytest -q

test-fast: deps
	$(VENV)/bin/python -m pytest -q -m 'not e2e and not slow'

typecheck: deps
	$(VENV)/bin/mypy

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache .mypy_cache dist build
