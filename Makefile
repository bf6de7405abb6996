# stele: one non-recursive GNU Makefile.  `make demo` and `make test` install
# what is missing first (scripts/deps.sh), then re-enter make.
PKGS    := libarchive libgit2 libsodium jansson libcrypto libcurl zlib libzstd sqlite3 libdeflate libmicrohttpd libdpkg libisal rpm
CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
BUILD   ?= build

WARN := -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wdate-time -fno-common \
	-Wno-missing-field-initializers

# Evaluated lazily, so `make deps` works before the libraries exist.
PKG_CF = $(shell pkg-config --cflags $(PKGS))
# libgit2, libcurl and librpmio are loaded on first use (util/lazy.h): compiled
# against, not linked; dlopen takes the sonames found here.
# libmicrohttpd and libarchive too (the unit tests, which call libarchive
# themselves, link it).
PKGS_LAZY := libgit2 libcurl rpm libmicrohttpd libarchive
PKG_LD = $(shell pkg-config --libs $(filter-out $(PKGS_LAZY),$(PKGS))) -lpthread
soname = $(shell objdump -p "$$(pkg-config --variable=libdir $(1))/$(2)" 2>/dev/null | awk '/SONAME/ { print $$2 }')
LIBGIT2_SO = $(call soname,libgit2,libgit2.so)
LIBCURL_SO = $(call soname,libcurl,libcurl.so)
LIBRPMIO_SO = $(call soname,rpm,librpmio.so)
LIBMHD_SO = $(call soname,libmicrohttpd,libmicrohttpd.so)
LIBARCHIVE_SO = $(call soname,libarchive,libarchive.so)

VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)

ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) \
	$(PKG_CF) -I. -MMD -MP -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
	-ffile-prefix-map=$(CURDIR)=. $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS)
ifdef DEVELOPER
ALL_CFLAGS += -Werror
endif
ifdef SANITIZE
ALL_CFLAGS += -O1 -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC := $(sort $(wildcard util/*.c oci/*.c builder/*.c keys/*.c deploy/*.c sbom/*.c vuln/*.c \
	signer/*.c verify/*.c registry/*.c))
CLI_SRC := $(sort $(wildcard cli/*.c))
FORMAT_SRC = $(LIB_SRC) $(CLI_SRC) $(sort $(wildcard util/*.h oci/*.h builder/*.h keys/*.h deploy/*.h \
	sbom/*.h vuln/*.h signer/*.h verify/*.h registry/*.h cli/*.h bench/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# libFuzzer targets (docs/fuzzing.md): clang, ASan + UBSan, in build-fuzz/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_MAKE = $(MAKE) --no-print-directory BUILD=build-fuzz CC='$(FUZZ_CC)' \
	SANITIZE=address,undefined,fuzzer-no-link CFLAGS='-O1 -g' fuzz-bins
# make check runs the short fuzz pass (tests/e2e/t90-fuzz.sh) unless TESTS
# selects other tests.
CHECK_FUZZ := $(if $(findstring fuzz,$(or $(TESTS),fuzz)),fuzz-if-clang)

ifndef V
QUIET_CC = @echo '   CC $@';
QUIET_LD = @echo '   LD $@';
QUIET_AR = @echo '   AR $@';
endif

.PHONY: all test check asan demo deps bench lint format install clean unit e2e \
	fuzz fuzz-bins fuzz-if-clang

all: $(BUILD)/stele

# A flag change rebuilds everything (as git's GIT-CFLAGS).
$(BUILD)/CFLAGS: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(VERSION)' > $@.new
	@cmp -s $@.new $@ || mv $@.new $@; rm -f $@.new
FORCE:

$(BUILD)/%.o: %.c $(BUILD)/CFLAGS
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/cli/main.o: ALL_CFLAGS += -DSTELE_VERSION='"$(VERSION)"'
$(BUILD)/util/lazy.o: ALL_CFLAGS += -DSTELE_LIBGIT2_SO='"$(LIBGIT2_SO)"' \
	-DSTELE_LIBCURL_SO='"$(LIBCURL_SO)"' -DSTELE_LIBRPMIO_SO='"$(LIBRPMIO_SO)"' \
	-DSTELE_LIBMHD_SO='"$(LIBMHD_SO)"' -DSTELE_LIBARCHIVE_SO='"$(LIBARCHIVE_SO)"'
$(BUILD)/util/lazy.o: util/lazy.c
	@test -n '$(LIBGIT2_SO)' && test -n '$(LIBCURL_SO)' && test -n '$(LIBRPMIO_SO)' && \
		test -n '$(LIBMHD_SO)' && test -n '$(LIBARCHIVE_SO)' || \
		{ echo 'cannot find the sonames of libgit2, libcurl, librpmio, libmicrohttpd and libarchive (objdump, pkg-config)'; exit 1; }
	@mkdir -p $(dir $@)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libstele.a: $(LIB_OBJ)
	$(QUIET_AR)rm -f $@ && ar rcs $@ $^

$(BUILD)/stele: $(CLI_OBJ) $(BUILD)/libstele.a
	$(QUIET_LD)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libstele.a $(PKG_LD)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libstele.a $(BUILD)/CFLAGS
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
		$(filter %.o,$^) $(BUILD)/libstele.a \
		$(PKG_LD) $(shell pkg-config --libs libarchive) \
		$(shell pkg-config --cflags --libs cmocka)

# cli/'s environment and terminal code has unit tests of its own.
$(BUILD)/tests/test_cli: $(BUILD)/cli/env.o $(BUILD)/cli/tty.o

deps:
	@sh scripts/deps.sh test

# The README's two commands.
test: deps
	@$(MAKE) --no-print-directory check

demo:
	@sh scripts/deps.sh demo
	@$(MAKE) --no-print-directory $(BUILD)/stele
	@sh recipes/demo.sh $(BUILD)/stele

check: $(BUILD)/stele $(UNIT_BIN) $(CHECK_FUZZ)
	@sh tests/run.sh $(BUILD) $(TESTS)

asan:
	@sh scripts/deps.sh test
	@$(MAKE) --no-print-directory BUILD=build-asan SANITIZE=address,undefined \
		CFLAGS='-O1 -g' check

# `make fuzz FUZZ_SECONDS=N` runs each fuzz target for N seconds.  make check
# builds them when clang can; when it cannot, t90-fuzz says why it skips.
fuzz:
	@sh tests/fuzz/run.sh --can-build '$(FUZZ_CC)'
	@$(FUZZ_MAKE)
	@sh tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

fuzz-if-clang:
	+@if sh tests/fuzz/run.sh --can-build '$(FUZZ_CC)' >/dev/null 2>&1; then \
		$(FUZZ_MAKE); fi

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/libstele.a $(BUILD)/CFLAGS
	@mkdir -p $(dir $@)
	$(QUIET_LD)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(BUILD)/libstele.a $(PKG_LD)

bench: $(BUILD)/stele
	@sh bench/run.sh $(BUILD)/stele

lint: $(BUILD)/libstele.a
	@# The library exports nothing without the stele_ prefix (docs/architecture.md).
	@bad=$$(nm -g --defined-only $(BUILD)/libstele.a | \
		awk 'NF == 3 && $$2 ~ /[A-Z]/ && $$3 !~ /^stele_/ { print $$3 }' | sort -u); \
	if [ -n "$$bad" ]; then echo "libstele.a exports names without stele_:" $$bad; exit 1; fi
	@# Includes follow the module order (docs/architecture.md).
	sh scripts/layers.sh
	cppcheck --quiet --error-exitcode=1 --std=c11 --suppress=unknownMacro -I. $(LIB_SRC) $(CLI_SRC)
	@# SC2016/SC2034/SC1083: test bodies are single-quoted strings run by eval.
	shellcheck -s sh -e SC2016,SC2034,SC1083,SC2046,SC1091 scripts/*.sh tests/*.sh \
		tests/e2e/*.sh tests/fuzz/*.sh recipes/*.sh bench/*.sh
	@# The sources and headers are as clang-format 14 writes them (.clang-format);
	@# run `make format` before committing.
	clang-format --dry-run -Werror $(FORMAT_SRC)

format:
	clang-format -i $(FORMAT_SRC)

install: $(BUILD)/stele
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/stele $(DESTDIR)$(PREFIX)/bin/stele

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(FUZZ_BIN:=.d)
