#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/tools/tap-import, the TAP checker of tests/run, on crafted
# streams: each stream's records must be exactly the expected ones, so a
# checker that lets a short plan, a missing plan, a bail out or a silent
# crash through fails here. Installed by tests/host/Makefile with @TOP@
# replaced by the source tree.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/tap.sh
. "$here/tap.sh"	# installed beside it from tests/tap.sh
tool=${AZIHSM_TAP_IMPORT:-@TOP@/tests/tools/tap-import}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT

# check NAME EXPECTED [tap-import options...] <<STREAM: EXPECTED is the
# records, one a line, with "|" between the fields, "D|" lines left out.
check() {
	local name=$1 want=$2 got
	shift 2
	cat >"$w/in"
	got=$("$tool" "$@" P "$w/in" | tr '\037' '|' | grep -v '^D|')
	if [[ $got == "$want" ]]; then
		ok 0 "$name"
	else
		ok 1 "$name"
		diff <(echo "$want") <(echo "$got") | sed 's/^/#   /'
	fi
}

check "plan first, all pass" \
"R|ok|P: a|
R|ok|P: b|" <<'EOF'
TAP version 13
1..2
ok 1 - a
ok 2 - b
EOF

check "plan last, noise lines ignored" \
"R|ok|P: a|
R|ok|P: b|" <<'EOF'
some program output
ok 1 - a
# a comment
ok 2 b
1..2
EOF

check "a failure is a failure" \
"R|ok|P: a|
R|not ok|P: b|" <<'EOF'
1..2
ok 1 - a
not ok 2 - b
EOF

check "missing plan fails" \
"R|ok|P: a|
R|not ok|P: TAP: No plan found in TAP output|" <<'EOF'
ok 1 - a
EOF

check "no TAP at all fails" \
"R|not ok|P: no TAP output|" <<'EOF'
segmentation fault
EOF

check "empty output fails" \
"R|not ok|P: no TAP output|" </dev/null

check "short plan fails" \
"R|ok|P: a|
R|ok|P: b|
R|not ok|P: TAP: Bad plan.  You planned 3 tests but ran 2.|" <<'EOF'
1..3
ok 1 - a
ok 2 - b
EOF

check "more results than planned fails" \
"R|ok|P: a|
R|ok|P: b|
R|not ok|P: TAP: Bad plan.  You planned 1 tests but ran 2.|" <<'EOF'
1..1
ok 1 - a
ok 2 - b
EOF

check "out of sequence fails" \
"R|ok|P: a|
R|ok|P: b|
R|not ok|P: TAP: Tests out of sequence.  Found (3) but expected (2)|" <<'EOF'
1..2
ok 1 - a
ok 3 - b
EOF

check "Bail out! fails" \
"R|ok|P: a|
R|not ok|P: Bail out! device gone|" <<'EOF'
1..3
ok 1 - a
Bail out! device gone
EOF

check "# inside a description is not a directive" \
"R|ok|P: PKCS#1 v1.5 padding|
R|ok|P: rsa # 12s|
R|ok|P: #hash|" <<'EOF'
1..3
ok 1 - PKCS#1 v1.5 padding
ok 2 - rsa # 12s
ok 3 - #hash
EOF

check "skips keep their reason" \
"R|ok|P: a|SKIP no AES queue
R|ok|P: b|SKIP" <<'EOF'
1..2
ok 1 - a # SKIP no AES queue
ok 2 - b # skip
EOF

check "a whole-stream skip is one skip" \
"R|ok|P|SKIP driver not loaded" <<'EOF'
TAP version 13
1..0 # SKIP driver not loaded
EOF

check "todo: reported, not counted as a failure" \
"R|not ok|P: a|TODO not yet" <<'EOF'
1..1
not ok 1 - a # TODO not yet
EOF

check "a non-zero exit after all passed fails" \
"R|ok|P: a|
R|not ok|P: exited 134|" --exit 134 <<'EOF'
1..1
ok 1 - a
EOF

check "a non-zero exit with a failure shown adds nothing" \
"R|not ok|P: a|" --exit 1 <<'EOF'
1..1
not ok 1 - a
EOF

# The kselftest runner's layout (tests/guest/run-all).
check "nested: results of each program, skips kept" \
"R|ok|P: one: t.a|
R|ok|P: one: t.b|
R|ok|P: two|SKIP no device
R|ok|P: three|SKIP" --nested <<'EOF'
TAP version 13
1..3
# selftests: azihsm: one
# TAP version 13
# 1..2
# # Starting 2 tests
# ok 1 t.a
# ok 2 t.b
# # PASSED: 2 / 2 tests passed.
ok 1 one # 0s
# selftests: azihsm: two
# TAP version 13
# 1..0 # SKIP no device
ok 2 two # SKIP
# selftests: azihsm: three
ok 3 three # SKIP
# azihsm guest tests: pass:1 skip:2 fail:0
EOF

check "nested: a program cut short fails once" \
"R|ok|P: one: t.a|
R|not ok|P: one: TAP: Bad plan.  You planned 3 tests but ran 1.|" --nested <<'EOF'
TAP version 13
1..1
# selftests: azihsm: one
# TAP version 13
# 1..3
# ok 1 t.a
not ok 1 one # exit=139
EOF

check "nested: a failing program with all cases passed fails" \
"R|ok|P: one: t.a|
R|not ok|P: one # TIMEOUT 300s|" --nested <<'EOF'
1..1
# selftests: azihsm: one
# 1..1
# ok 1 t.a
not ok 1 one # TIMEOUT 300s
EOF

check "nested: an ok program with no TAP fails" \
"R|not ok|P: one: exited 0 with no TAP|" --nested <<'EOF'
1..1
# selftests: azihsm: one
# hello
ok 1 one # 0s
EOF

check "nested: a failing case is reported once" \
"R|ok|P: one: t.a|
R|not ok|P: one: t.b|" --nested <<'EOF'
1..1
# selftests: azihsm: one
# 1..2
# ok 1 t.a
# not ok 2 t.b
not ok 1 one # exit=1
EOF

check "nested: a guest that died half way fails" \
"R|ok|P: one: t.a|
R|not ok|P: TAP: Bad plan.  You planned 2 tests but ran 1.|" --nested <<'EOF'
TAP version 13
1..2
# selftests: azihsm: one
# 1..1
# ok 1 t.a
ok 1 one # 0s
# selftests: azihsm: two
EOF

check "nested: Bail out! in a program fails" \
"R|ok|P: one: t.a|
R|not ok|P: one: Bail out! no material|" --nested <<'EOF'
1..1
# selftests: azihsm: one
# 1..2
# ok 1 t.a
# Bail out! no material
ok 1 one # 0s
EOF

check "nested: no output at all fails" \
"R|not ok|P: no TAP output|" --nested --exit 1 </dev/null

# tests/run's own emit and tap_import (taken from the script as they are)
# count what the checker reports: a TODO failure and a skip are not
# failures, a bail out is.
run_fns=$(sed -n '/^emit() {/,/^}/p;/^tap_import() {/,/^}/p' "${AZIHSM_TESTS_RUN:-@TOP@/tests/run}")
counts=$(
	top=@TOP@ n=0 passed=0 failed=0 skipped=0
	[[ -n ${AZIHSM_TAP_IMPORT:-} ]] && top=$(cd "$(dirname "$AZIHSM_TAP_IMPORT")/../.." && pwd)
	eval "$run_fns"
	printf '1..5\nok 1 a\nok 2 b # SKIP x\nnot ok 3 c # TODO y\nnot ok 4 d\nBail out! e\n' >"$w/in"
	tap_import X "$w/in" flat 1 >/dev/null
	echo "$passed passed, $failed failed, $skipped skipped"
)
[[ $counts == "1 passed, 2 failed, 2 skipped" ]]
ok $? "tests/run counts the checker's records ($counts)"

tap_done
