#!/usr/bin/env bash
# Identity and attestation through the whole stack (issue 10, section 1):
# the guest's CLI fetches the certificate chain and an attestation report;
# here on the host, outside the guest, OpenSSL verifies the chain against
# the build's root (and refuses it after a flipped byte), and the CLI's
# verify-report checks the report (and refuses a changed claim, a wrong
# nonce, and a report from another device instance: a second boot is a
# new volatile device with an identity of its own). TAP.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-id.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cli=$top/build/bin/azihsm
root=$top/build/pki/root.pem
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

mkdir -p "$dir/in"
printf 'CO-default-PIN-1\n' >"$dir/in/pin.default"
printf 'officer-pin-0042\n' >"$dir/in/pin.officer"

# Every guest: volatile, with openssl and $dir/in.
guest_opts=(--add /usr/bin/openssl)

nonce=00112233445566778899aabbccddeeff0123456789abcdef
attest_script='
set -e
cd /root/in
azihsm cert chain --out /tmp
azihsm login --role officer --pin-file pin.default --new-pin-file pin.officer --change-pin
azihsm key generate --role officer --pin-file pin.officer --type ec-p384 --label att1 --usage sign --persistent
azihsm key attest --role officer --pin-file pin.officer --label att1 --nonce '$nonce' --out /tmp/r.cbor
azihsm key public --role officer --pin-file pin.officer --label att1 --out /tmp/att1.pem
openssl verify -CAfile /etc/azihsm/root.pem -untrusted /tmp/device.pem /tmp/partition.pem
for f in root device partition att1; do echo "$f-BEGIN"; cat /tmp/$f.pem; echo "$f-END"; done
echo "REPORT-BEGIN"; openssl base64 -in /tmp/r.cbor; echo "REPORT-END"
'

# fetch DEST: the chain, key and report of the last guest into DEST.
fetch() {
	mkdir -p "$1"
	for f in root device partition att1; do between "$f" >"$1/$f.pem"; done
	between REPORT | openssl base64 -d >"$1/r.cbor"
}

guest "$attest_script"
ok $? "guest: cert chain, key generate, key attest"
grep -q ': OK$' <<<"$out"
ok $? "guest: openssl verify accepts the chain against the installed root"
fetch "$dir/a"
openssl verify -CAfile "$root" -untrusted "$dir/a/device.pem" "$dir/a/partition.pem" >/dev/null 2>&1
ok $? "host: openssl verify -CAfile build/pki/root.pem -untrusted device.pem partition.pem"
cmp -s "$root" "$dir/a/root.pem" || diff <(openssl x509 -in "$root" -outform DER | sha256sum) \
	<(openssl x509 -in "$dir/a/root.pem" -outform DER | sha256sum) >/dev/null
ok $? "the device's root certificate is the build's"
openssl x509 -in "$dir/a/partition.pem" -noout -text | grep -q '2.25.303846789733324411842530501833274005558'
ok $? "the partition certificate carries the measurement extension"

# A flipped byte in the signed part of either certificate.
for f in device partition; do
	openssl x509 -in "$dir/a/$f.pem" -outform DER -out "$dir/$f.der"
	byte=$(od -An -tu1 -j 60 -N1 "$dir/$f.der" | tr -d ' ')
	printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$dir/$f.der" bs=1 seek=60 conv=notrunc status=none
	cp "$dir/a/device.pem" "$dir/dev.pem"
	cp "$dir/a/partition.pem" "$dir/part.pem"
	if [[ $f == device ]]; then
		openssl x509 -inform DER -in "$dir/$f.der" -out "$dir/dev.pem" 2>/dev/null
	else
		openssl x509 -inform DER -in "$dir/$f.der" -out "$dir/part.pem" 2>/dev/null
	fi
	[[ -s $dir/$f.der ]] &&
		! openssl verify -CAfile "$root" -untrusted "$dir/dev.pem" "$dir/part.pem" >/dev/null 2>&1
	ok $? "host: openssl verify refuses the chain with a byte of the $f certificate flipped"
done

# ... and of the root (the device's copy used as the trust anchor).
openssl x509 -in "$dir/a/root.pem" -outform DER -out "$dir/root.der"
byte=$(od -An -tu1 -j 60 -N1 "$dir/root.der" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$dir/root.der" bs=1 seek=60 conv=notrunc status=none
[[ -s $dir/root.der ]] && ! { openssl x509 -inform DER -in "$dir/root.der" -out "$dir/root-bad.pem" 2>/dev/null &&
	openssl verify -CAfile "$dir/root-bad.pem" -untrusted "$dir/a/device.pem" "$dir/a/partition.pem" \
		>/dev/null 2>&1; }
ok $? "host: openssl verify refuses the chain with a byte of the root certificate flipped"

"$cli" verify-report --root "$root" --chain "$dir/a" --report "$dir/a/r.cbor" --nonce "$nonce" \
	--json >"$dir/v.json" 2>"$dir/v.err"
ok $? "host: verify-report accepts the report with the nonce"
grep -q '"verified": true' "$dir/v.json" && grep -q '"key_type": "ec-p384"' "$dir/v.json" &&
	grep -q '"extractable": false' "$dir/v.json" && grep -q '"generated": true' "$dir/v.json"
ok $? "host: it prints the claims (ec-p384, generated, not extractable)"
pub=$(openssl pkey -pubin -in "$dir/a/att1.pem" -outform DER | od -An -tx1 -v | tr -d ' \n')
grep -q "\"public_key\": \"$pub\"" "$dir/v.json"
ok $? "host: the attested public key is the key's (azihsm key public)"

"$cli" verify-report --root "$root" --chain "$dir/a" --report "$dir/a/r.cbor" \
	--nonce "${nonce%??}00" >/dev/null 2>"$dir/v.err"
[[ $? == 1 ]] && grep -q 'nonce' "$dir/v.err"
ok $? "host: a wrong nonce is refused ($(cat "$dir/v.err"))"

# A changed claim: flip a bit in the report's last claim (the serial).
cp "$dir/a/r.cbor" "$dir/changed.cbor"
size=$(stat -c %s "$dir/changed.cbor")
off=$((size - 100))
byte=$(od -An -tu1 -j $off -N1 "$dir/changed.cbor" | tr -d ' ')
printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$dir/changed.cbor" bs=1 seek=$off conv=notrunc status=none
"$cli" verify-report --root "$root" --chain "$dir/a" --report "$dir/changed.cbor" >/dev/null 2>"$dir/v.err"
[[ $? == 1 && $size -gt 200 ]] && grep -q 'signature' "$dir/v.err"
ok $? "host: a report with a changed byte is refused ($(cat "$dir/v.err"))"

guest "$attest_script"
ok $? "guest 2 (another device instance): cert chain and report"
fetch "$dir/b"
"$cli" verify-report --root "$root" --chain "$dir/b" --report "$dir/b/r.cbor" --nonce "$nonce" \
	>/dev/null 2>&1
ok $? "host: the second device's report verifies with its own chain"
! cmp -s "$dir/a/partition.pem" "$dir/b/partition.pem"
ok $? "host: the two devices have different partition certificates"
"$cli" verify-report --root "$root" --chain "$dir/a" --report "$dir/b/r.cbor" --nonce "$nonce" \
	>/dev/null 2>"$dir/v.err"
[[ $? == 1 ]] && grep -q 'signature' "$dir/v.err"
ok $? "host: another device's report is refused against this device's chain"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$dir/k.pem" 2>/dev/null
openssl req -new -x509 -key "$dir/k.pem" -subj /CN=other -days 1 -out "$dir/other.pem" 2>/dev/null
"$cli" verify-report --root "$dir/other.pem" --chain "$dir/a" --report "$dir/a/r.cbor" \
	>/dev/null 2>"$dir/v.err"
[[ $? == 1 ]] && grep -q 'trusted root' "$dir/v.err"
ok $? "host: a chain that does not lead to the trusted root is refused"

# A device made under another manufacturer's root: the guest's library,
# which trusts the build's root, refuses to send it a PIN.
"$top/scripts/mkpki" root "$dir/pki2" || echo "# mkpki root failed"
guest '
cd /root/in
azihsm cert chain --out /tmp && echo CHAIN-FETCHED
azihsm login --role officer --pin-file pin.default --new-pin-file pin.officer --change-pin
echo "LOGIN-RC=$?"
' --pki "$dir/pki2"
ok $? "guest with a device of another root boots"
grep -q '^CHAIN-FETCHED$' <<<"$out" && grep -q '^LOGIN-RC=1$' <<<"$out"
ok $? "its chain is public, but login fails"
grep -q 'trusted root' <<<"$out"
ok $? "with a clear error: $(grep -m1 'trusted root' <<<"$out")"

tap_done
