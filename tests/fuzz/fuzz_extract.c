/*
 * Layer extraction: stele_extract_fd() on the input as a layer (tar, or
 * gzip or zstd of a tar), read from a memory file, into a fresh directory
 * that is removed afterwards.  Anything written outside that directory is
 * the bug this target exists to find: a canary file beside it must be
 * untouched and nothing else may appear there.  Inside, no device may
 * appear (the target does not pass STELE_EXTRACT_DEVICES).
 *
 * The layer may expand to 16 MiB of files (struct stele_limits); a file
 * written past 64 MiB (RLIMIT_FSIZE) means the limits failed, and SIGXFSZ
 * ends the run as a finding rather than filling the disk.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci/extract.h"
#include "tests/fuzz/fuzz.h"

#define FILE_LIMIT (64u << 20)
static const struct stele_limits limits = { 16u << 20, 10000 };
#define CANARY "canary: nothing may touch this file\n"

static int memfd = -1;
static char *base, *canary;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct rlimit rl = { FILE_LIMIT, FILE_LIMIT };

	(void)argc;
	(void)argv;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0 ||
	    (memfd = memfd_create("stele-fuzz-layer", MFD_CLOEXEC)) < 0)
		abort();
	base = stele_path_join(fuzz_scratch(), "x");
	canary = stele_path_join(fuzz_scratch(), "canary");
	if (stele_fs_write_atomic(canary, CANARY, strlen(CANARY), 0644) < 0)
		abort();
	return 0;
}

/* The scratch directory holds the canary and at most `root`. */
static void
check_outside(void)
{
	struct stele_buf b = STELE_BUF_INIT(4096);
	struct dirent *de;
	DIR *d = opendir(fuzz_scratch());

	if (!d)
		abort();
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, "x") && strcmp(de->d_name, "canary")) {
			fprintf(stderr, "extraction wrote outside its root: %s\n",
				de->d_name);
			abort();
		}
	closedir(d);
	if (stele_fs_read(&b, canary) < 0 || b.len != strlen(CANARY) ||
	    memcmp(b.ptr, CANARY, b.len)) {
		fprintf(stderr, "extraction changed a file outside its root\n");
		abort();
	}
	stele_buf_release(&b);
}

static int
no_device(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)type;
	(void)f;
	if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		fprintf(stderr, "extraction made a device: %s\n", path);
		abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(memfd, 0) < 0 ||
	    stele_fs_write_all(memfd, data, size) < 0 ||
	    lseek(memfd, 0, SEEK_SET) != 0)
		abort();
	if (mkdir(base, 0755) < 0)
		abort();
	(void)stele_extract_fd(memfd, base, STELE_EXTRACT_NO_CHOWN, "fuzz",
			       &limits);
	check_outside();
	if (nftw(base, no_device, 16, FTW_PHYS) < 0)
		abort();
	/* stele_fs_rm_rf() opens up unreadable directories itself. */
	if (stele_fs_rm_rf(base) < 0)
		abort();
	return 0;
}
