#!/usr/bin/env bash
# The documents that name tests as proof (threat-model.md; later the
# security policy) name tests that exist: each `name` in a table's "test"
# column must be a test program, script or fuzzer under tests/, or a
# guest test case "program.case" whose program exists. TAP.
set -uo pipefail
# The Makefile installs this script with the source tree's path in TOP.
top=${AZIHSM_TOP:-@TOP@}
[[ -d $top/Documentation ]] || top=$(cd "$(dirname "$0")/../.." && pwd)

n=0 failed=0
ok() { n=$((n + 1)); if [[ $1 == 0 ]]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }

exists() {	# a name as the documents write it
	local name=${1%%.*} f
	for f in "$top/tests/host/$name.c" "$top/tests/host/$name.sh" "$top/tests/guest/$name.c" \
		"$top/tests/guest/$name.sh" "$top/tests/$1" "$top/tests/fuzz/$name.c"; do
		[[ -f $f ]] && return 0
	done
	return 1
}

for doc in threat-model.md; do
	path=$top/Documentation/$doc
	# The `backticked` words of the last column of each table whose
	# last header cell is "test".
	names=$(awk -F'|' '
		!/^\|/ { intest = 0; hdr = 1; next }
		hdr { c = $(NF - 1); gsub(/ /, "", c); intest = (c == "test"); hdr = 0; next }
		intest && $2 !~ /^-+$/ { print $(NF - 1) }' "$path" |
		grep -o '`[^`]*`' | tr -d '`' | sort -u)
	count=0
	for name in $names; do
		case $name in guest|fuzz) continue ;; esac
		count=$((count + 1))
		exists "$name"
		ok $? "$doc names test '$name', which exists"
	done
	[[ $count -gt 20 ]]
	ok $? "$doc names $count tests (the table was read)"
done
echo "1..$n"
exit $((failed > 0))
