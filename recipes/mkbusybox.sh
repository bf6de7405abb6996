#!/bin/sh
# Make a minimal busybox-static root filesystem in DIR (for `stele import`).
# Usage: mkbusybox.sh DIR
set -eu
dir=$1
bb=$(command -v busybox || echo /bin/busybox)
mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/root"
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for a in sh echo cat ls id env uname sleep true false printf wc head sed grep mkdir rm; do
	ln -sf busybox "$dir/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65532:65532:nobody:/nonexistent:/bin/false\n' >"$dir/etc/passwd"
printf 'root:x:0:\nnobody:x:65532:\n' >"$dir/etc/group"
