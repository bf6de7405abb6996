#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/rootless.h"

/*
 * The first range of `file` (/etc/subuid or /etc/subgid) for the user,
 * named or by number: "NAME:START:COUNT".  0 when there is none.
 */
static int
subid_range(unsigned long *start, unsigned long *count, const char *file,
	    const char *name, uid_t uid)
{
	char line[512], num[32];
	FILE *f = fopen(file, "r");
	int found = 0;

	if (!f)
		return 0;
	snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
	while (!found && fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *end;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = '\0';
		if (strcmp(line, num) && (!name || strcmp(line, name)))
			continue;
		*start = strtoul(c1 + 1, &end, 10);
		if (end != c2)
			continue;
		*count = strtoul(c2 + 1, &end, 10);
		if ((*end && *end != '\n') || !*count)
			continue;
		found = 1;
	}
	fclose(f);
	return found;
}

/* Whether `argv` (an unshare command line ending in "--", PROGRAM) works
 * here: run it with /bin/true. */
static int
works(char **argv, size_t n)
{
	pid_t pid;
	int ws, null;

	if ((pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		if ((null = open("/dev/null", O_RDWR)) >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		argv[n] = (char *)"true";
		argv[n + 1] = NULL;
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

int
cli_rootless_reexec(int argc, char **argv)
{
	unsigned long us = 0, uc = 0, gs = 0, gc = 0;
	struct passwd *pw = getpwuid(getuid());
	char *self = NULL, **av, mu[80], mg[80];
	size_t n = 0;
	int i, full;

	if (geteuid() == 0)
		return 0;
	full = subid_range(&us, &uc, "/etc/subuid", pw ? pw->pw_name : NULL,
			   getuid()) &&
		subid_range(&gs, &gc, "/etc/subgid", pw ? pw->pw_name : NULL,
			    getuid());
	if (!(self = realpath("/proc/self/exe", NULL)))
		return 0;
	av = calloc((size_t)argc + 12, sizeof(*av));
	if (!av) {
		free(self);
		return 0;
	}
	av[n++] = (char *)"unshare";
	av[n++] = (char *)"--user";
	av[n++] = (char *)"--mount";
	av[n++] = (char *)"--map-root-user";
	if (full) {
		/* Container ids 1..count on the user's subordinate ids, as
		 * podman maps them; 0 is the user. */
		snprintf(mu, sizeof(mu), "--map-users=%lu,1,%lu", us, uc);
		snprintf(mg, sizeof(mg), "--map-groups=%lu,1,%lu", gs, gc);
		av[n++] = mu;
		av[n++] = mg;
	}
	av[n++] = (char *)"--";
	if (full && !works(av, n)) {
		/* No newuidmap, or ranges it refuses: one id. */
		n -= 3;
		av[n++] = (char *)"--";
		full = 0;
	}
	if (!full && !works(av, n)) {
		free(av);
		free(self);
		return 0; /* no user namespaces here: run as we are */
	}
	av[n++] = self;
	for (i = 0; i < argc; i++)
		av[n++] = argv[i];
	av[n] = NULL;
	execvp(av[0], av);
	fprintf(stderr, "stele: cannot run unshare: %s\n", strerror(errno));
	free(av);
	free(self);
	return -1;
}
