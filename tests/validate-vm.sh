#!/usr/bin/env bash
# azihsm validate in a guest (issue 11 section 1, paths a and b): the NIST
# CAVP files (python3-cryptography-vectors, only the files validate reads)
# and the ACVP sets (tests/data/acvp) go into the guest; `azihsm validate
# --path all` runs them through libazihsm + ioctl (path device) and through
# AF_ALG by our driver's algorithm names (path kcapi); every vector that
# runs passes, and both paths ran vectors of each algorithm they can. A
# second boot with the test-only device property fault-corrupt=aes-cbc must
# make validate fail on AES-CBC, on both paths, and on nothing else. TAP.
#
#   tests/validate-vm.sh [6.1|6.12] [SAMPLE]
# SAMPLE: vectors per file (default 6, what `make check` runs); 0 runs every
# vector (scripts/validate-full). The fault boot always runs a sample of 3.
# VALIDATE_OUT=DIR: keep the first boot's report there (validate-device-
# kcapi.json, .xml, .txt).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
sample=${2:-6}
cavp=${AZIHSM_CAVP_DIR:-/usr/lib/python3/dist-packages/cryptography_vectors}
dir=$(mktemp -d /tmp/azihsm-validate-vm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

# The CAVP files validate reads (not the whole 200 MB package).
mkdir -p "$dir/in/cavp"
"$top/build/bin/azihsm" validate --list | awk '$3 == "cavp" { print $4 }' |
	while read -r f; do
		mkdir -p "$dir/in/cavp/$(dirname "$f")"
		cp "$cavp/$f" "$dir/in/cavp/$f"
	done
ok $? "copy the CAVP files validate reads ($(du -sh "$dir/in/cavp" | cut -f1))"

cat >"$dir/in/run.sh" <<EOF
printf 'CU-default-PIN-1\n' >/tmp/pin.default
printf 'user-pin-val-042\n' >/tmp/pin.user
azihsm login --pin-file /tmp/pin.default --change-pin --new-pin-file /tmp/pin.user >/dev/null
echo "LOGIN \$?"
modprobe -a algif_skcipher algif_aead algif_hash
start=\$(date +%s)
azihsm validate --pin-file /tmp/pin.user --path all --sample "\$1" --no-progress \
	--vectors /root/in/cavp --acvp /root/in/acvp --json /tmp/r.json --junit /tmp/r.xml \
	>/tmp/out 2>&1
echo "RC \$?"
echo "SECONDS \$((\$(date +%s) - start))"
sed 's/^/OUT /' /tmp/out
sed 's/^/JSON /' /tmp/r.json
sed 's/^/JUNIT /' /tmp/r.xml
EOF
cp -r "$top/tests/data/acvp" "$dir/in/acvp"

# boot SAMPLE [VM-RUN-ARGS...]: run the script in a guest; its output in $out.
boot() {
	guest "sh /root/in/run.sh $1" "${@:2}"
}
guest_opts=(--timeout 3000
	--module algif_skcipher --module algif_aead --module algif_hash
	--module xts --module ecb --module ctr --module gcm --module ghash_generic)
# counts PATH ALG MODE: "run passed failed n/a" of the report line
counts() { sed -n 's/^OUT //p' <<<"$out" | awk -v p="$1" -v a="$2" -v m="$3" \
	'$1 == p && $2 == a && $3 == m { print $4, $5, $6, $7 }'; }

boot "$sample"
ok $? "boot, run azihsm validate --path all --sample $sample"
grep -q '^LOGIN 0$' <<<"$out"
ok $? "the user's PIN changed"
secs=$(sed -n 's/^SECONDS //p' <<<"$out")
grep -q '^RC 0$' <<<"$out"
ok $? "validate: exit 0 on both paths (${secs:-?} s in the guest)"
grep -q '^RC 0$' <<<"$out" || sed -n 's/^OUT //p' <<<"$out" | grep -v 'n/a' | sed 's/^/#   | /'

for pa in "device AES-ECB KAT" "device AES-CBC MMT" "device AES-CTR ACVP" \
	"device AES-GCM decrypt" "device AES-XTS 256" "device HMAC-SHA-256 ACVP" \
	"device HMAC-SHA-512 ACVP" "device ECDSA SigGen" "device ECDSA SigVer-ACVP" \
	"device RSA-PKCS1 SigGen" "device RSA-PKCS1 SigVer" "device RSA-PSS SigGen" \
	"device RSA-PSS SigVer" "device HKDF RFC5869" \
	"kcapi AES-ECB KAT" "kcapi AES-ECB MMT" "kcapi AES-CBC KAT" "kcapi AES-CBC MMT" \
	"kcapi AES-CTR ACVP" "kcapi AES-GCM encrypt" "kcapi AES-GCM decrypt" \
	"kcapi AES-GCM ACVP" "kcapi AES-XTS 128" "kcapi AES-XTS 256" \
	"kcapi SHA-256 short" "kcapi SHA-256 long" "kcapi SHA-384 short" "kcapi SHA-384 long" \
	"kcapi SHA-512 short" "kcapi SHA-512 long" "kcapi HMAC-SHA-256 ACVP" \
	"kcapi HMAC-SHA-384 ACVP" "kcapi HMAC-SHA-512 ACVP"; do
	read -r p a m <<<"$pa"
	read -r nrun npass nfail _ <<<"$(counts "$p" "$a" "$m")"
	[[ ${nrun:-0} -gt 0 && $npass == "$nrun" && $nfail == 0 ]]
	ok $? "$p $a $m: vectors ran and passed (run ${nrun:-none}, passed ${npass:-none})"
done
read -r nrun _ _ nna <<<"$(counts device AES-GCM encrypt)"
[[ ${nrun:-x} == 0 && ${nna:-0} -gt 0 ]]
ok $? "device AES-GCM encrypt: not applicable (the device draws partition GCM IVs)"
sed -n 's/^JSON //p' <<<"$out" >"$dir/r.json"
if [[ -n ${VALIDATE_OUT:-} ]]; then
	mkdir -p "$VALIDATE_OUT"
	cp "$dir/r.json" "$VALIDATE_OUT/validate-device-kcapi.json"
	sed -n 's/^JUNIT //p' <<<"$out" >"$VALIDATE_OUT/validate-device-kcapi.xml"
	sed -n 's/^OUT //p' <<<"$out" >"$VALIDATE_OUT/validate-device-kcapi.txt"
fi
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert d["paths"] == ["device", "kcapi"] and d["totals"]["failed"] == 0, d["totals"]
print("# totals:", d["totals"])' "$dir/r.json"
ok $? "--json from the guest: paths device and kcapi, no failure"

# The planted fault: AES-CBC output flipped in the device. The kernel's own
# self-tests would catch it first (a testmgr WARN, a panic under
# panic_on_warn): they are off for this boot.
boot 3 --qemu-arg -global --qemu-arg azihsm.fault-corrupt=aes-cbc --append cryptomgr.notests=1
ok $? "boot with fault-corrupt=aes-cbc"
grep -q '^RC 1$' <<<"$out"
ok $? "validate exits 1"
for p in device kcapi; do
	read -r nrun _ nfail _ <<<"$(counts $p AES-CBC KAT)"
	[[ ${nfail:-0} -gt 0 && $nfail == "$nrun" ]]
	ok $? "$p AES-CBC KAT: every vector fails (${nfail:-?} of ${nrun:-?})"
done
failing=$(sed -n 's/^OUT //p' <<<"$out" | awk '/FAILED$/ { print $1 "/" $2 }' | sort -u |
	tr '\n' ' ')
[[ $failing == "device/AES-CBC kcapi/AES-CBC " ]]
ok $? "only AES-CBC fails (${failing:-none})"

tap_done
