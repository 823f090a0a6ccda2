# dialup-admin: two commands on a fresh Debian 12 machine (as root):
#   make demo   installs what is needed, then runs the main job
#   make test   installs what is needed, then runs the whole test suite
SHELL := /bin/bash
PYTHON ?= /usr/bin/python3
VENV := .venv
STAMPS := .stamps
# Everything the tool and its tests run for real: pppd/chat, mgetty, a kernel with PPP
# (user-mode Linux), shadow-utils, busybox for the guests, nft, a compiler for mgetty,
# FreeRADIUS and its radtest/radclient (the RADIUS pool; openssl checks SHA-512 crypt).
# The tool's libraries are Debian's own (python3-click, -jinja2, -pexpect), the versions the
# .deb depends on; python3-hatchling builds the wheel (as pybuild does).
APT_PACKAGES := python3 python3-venv python3-click python3-jinja2 python3-pexpect python3-hatchling \
	ppp mgetty socat user-mode-linux busybox-static \
	nftables iproute2 build-essential dpkg-dev passwd login util-linux procps strace ca-certificates \
	freeradius freeradius-utils openssl $(DEB_PACKAGES)
# `make deb` (Debian's own tooling) and its test (a fresh Debian 12 chroot, man, completion).
DEB_PACKAGES := debhelper dh-python pybuild-plugin-pyproject python3-all lintian debootstrap man-db

.PHONY: all demo test test-fast typecheck bench deps clean mgetty-src lab-debs deb

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
	@# The venv sees Debian's dist-packages: the suite runs on apt's click/jinja2/pexpect, and only
	@# the test tools (pytest, hypothesis, mypy, build...) come from PyPI. An older venv without
	@# them is made again.
	grep -qsx 'include-system-site-packages = true' $(VENV)/pyvenv.cfg || { rm -rf $(VENV); $(PYTHON) -m venv --system-site-packages $(VENV); }
	@# No "pip install --upgrade pip": Debian 12's pip (23.0) installs all of this, and an
	@# upgrade that cannot reach PyPI still exits 0, so it only ever failed silently.
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
	@# (imported, not run with -m: the lab package imports debs first, and runpy would warn)
	$(VENV)/bin/python -c 'import sys; from dialup_admin.lab import debs; sys.exit(debs.main(sys.argv[1:]))' || echo "make: lab packages not fetched; the sysvinit (or systemd) lab tests will skip"

demo: deps
	$(VENV)/bin/python -m dialup_admin.demo

test: deps mgetty-src lab-debs
	$(VENV)/bin/python -m pytest -q --durations=25

test-fast: deps
	$(VENV)/bin/python -m pytest -q -m 'not e2e and not slow'

typecheck: deps
	$(VENV)/bin/mypy

bench: deps
	@for b in bench/[!_]*.py; do m=bench.$$(basename $$b .py); echo "== $$m"; $(VENV)/bin/python -m $$m || exit 1; done

# dist/dialup-admin_VERSION_all.deb, built by dpkg-buildpackage (debhelper, pybuild) from a copy
# of this tree under build/deb (dpkg-buildpackage writes next to the source), then lintian.
DIST ?= dist
DEB_BUILD ?= build/deb
DEB_PATH := /usr/sbin:/usr/bin:/sbin:/bin
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' dialup_admin/__init__.py)
deb: $(STAMPS)/apt
	rm -rf $(DEB_BUILD) && mkdir -p $(DEB_BUILD)/dialup-admin $(DIST)
	tar -cf - --exclude-vcs --exclude=./.venv --exclude=./build --exclude=./dist --exclude=./.cache \
	  --exclude=./.stamps --exclude=__pycache__ --exclude=./.pytest_cache --exclude=./.mypy_cache \
	  --exclude=./.hypothesis --exclude=./$(DIST) --exclude=./$(DEB_BUILD) . | tar -xf - -C $(DEB_BUILD)/dialup-admin
	@# Debian's own python3 and tools only, whatever else is first on PATH.
	cd $(DEB_BUILD)/dialup-admin && env PATH=$(DEB_PATH) dpkg-buildpackage -b --no-sign -us -uc
	cp $(DEB_BUILD)/dialup-admin_$(VERSION)_all.deb $(DIST)/
	env PATH=$(DEB_PATH) lintian --fail-on error,warning --info --display-info $(DIST)/dialup-admin_$(VERSION)_all.deb
	@echo "make: built $(DIST)/dialup-admin_$(VERSION)_all.deb"

clean:
	rm -rf $(VENV) $(STAMPS) .pytest_cache .mypy_cache dist build
