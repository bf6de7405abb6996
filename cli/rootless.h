#ifndef STELE_CLI_ROOTLESS_H
#define STELE_CLI_ROOTLESS_H

/*
 * Rootless builds: run as a user other than root, `stele build` runs
 * itself again inside a user namespace and a mount namespace of its own
 * (util-linux's unshare), where it is root: the user is id 0, and the
 * first range /etc/subuid and /etc/subgid give it maps ids 1..N (as podman
 * does; newuidmap sets that up), else the user alone is mapped (then files
 * owned by other ids cannot be made).  There layers are extracted with
 * their owners, overlayfs mounts, and runc runs RUN steps as it does for
 * root, so the layers are the same bytes as a root build's.
 *
 * Returns 0 when nothing is done (already root, or user namespaces do not
 * work here: the build runs as it is), -1 when exec failed (printed);
 * otherwise it does not return.  `argv` is the command's (argv[0] is
 * "build").
 */
int cli_rootless_reexec(int argc, char **argv);

#endif
