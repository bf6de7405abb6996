#ifndef STELE_VULN_VERSION_H
#define STELE_VULN_VERSION_H

/*
 * Package version ordering, as each package manager orders its own
 * versions (docs/vuln.md).
 *
 *  - deb: dpkg's own comparison, libdpkg's dpkg_version_compare(), over a
 *    version split as dpkg's parseversion() splits it ([epoch:]upstream
 *    [-revision], revision after the last hyphen).  What dpkg refuses
 *    (empty, embedded blanks, a non-numeric, negative or too big epoch,
 *    nothing after the colon, an empty revision or upstream part) is
 *    STELE_EINVALID; what dpkg only warns about is compared as dpkg does.
 *  - apk: apk-tools' rules: numeric components, one letter, suffixes
 *    _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p,
 *    each with an optional number, a ~hash (ignored), then -rN.  A version
 *    that does not follow that grammar is STELE_EINVALID.
 *  - rpm: librpm's own comparison, rpmverParse() and rpmverCmp() of
 *    librpmio (loaded on first use, util/lazy.h): [epoch:]version[-release],
 *    a missing epoch is 0, as librpm orders them (rpm 4.18: a version
 *    without a release before the same version with one).
 *    An empty version, or one librpm does not parse, is STELE_EINVALID.
 */
enum stele_vuln_scheme { STELE_VULN_DEB = 1, STELE_VULN_APK, STELE_VULN_RPM };

/* *out < 0, 0 or > 0 as `a` orders before, equal to or after `b`.
 * On error *out is 0 and the message names the version. */
int stele_vuln_version_cmp(int *out, enum stele_vuln_scheme scheme,
			   const char *a, const char *b);

#endif
