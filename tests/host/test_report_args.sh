#!/usr/bin/env bash
# scripts/report refuses, before any VM starts, what would lock a device's
# owner out: a persistent state (--state, or one passed through --vm-arg)
# without --pin-file, whose run would change the default PIN to a random
# one it forgets (red team 3). TAP.
set -uo pipefail
top=${AZIHSM_TOP:-@TOP@}
[[ -d $top/scripts ]] || top=$(cd "$(dirname "$0")/../.." && pwd)

n=0 failed=0
ok() { n=$((n + 1)); if [[ $1 == 0 ]]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

refused() {	# description, args...
	local what=$1 rc
	shift
	"$top/scripts/report" --out "$tmp/out" "$@" >"$tmp/o" 2>"$tmp/e"
	rc=$?
	[[ $rc == 2 ]] && grep -q 'needs --pin-file' "$tmp/e"
	ok $? "$what: refused (exit $rc), before any VM: $(head -c 120 "$tmp/e")"
}

refused "--state without --pin-file" --state "$tmp/st"
refused "--vm-arg --state FILE without --pin-file" --vm-arg --state --vm-arg "$tmp/st"
refused "--vm-arg --state=FILE without --pin-file" --vm-arg "--state=$tmp/st"
refused "--vm-arg with a QEMU state= property" --vm-arg --qemu-arg --vm-arg "-global azihsm.state=$tmp/st"
echo "1..$n"
exit $((failed > 0))
