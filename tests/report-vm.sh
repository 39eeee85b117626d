#!/usr/bin/env bash
# The compliance packet (issue 11 section 2), end to end in one guest boot:
# scripts/report runs `azihsm report` in a guest with a bounded NIST sample
# and a make check summary, and in the same guest a second packet whose
# validation results are a crafted file with one failure (its message
# carrying HTML that must be escaped). Here on the host: report.json has
# every section, the chain verifies (and OpenSSL verifies the packet's
# chain against the build's root itself), the attestation verified (and
# verify-report on the host checks the packet's report, refusing a flipped
# byte); headless Chromium renders both pages to PNG (non-blank; red
# pixels only on the failed one) and its DOM has the title, FAIL where the
# check failed and the planted markup as text, never as an element. TAP.
#
#   tests/report-vm.sh [6.1|6.12]
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.1}
dir=$(mktemp -d /tmp/azihsm-report-vm.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cli=$top/build/bin/azihsm
root=$top/build/pki/root.pem
serial=AZIHSM-RPT-0001
# shellcheck source=tests/tap.sh
. "$top/tests/tap.sh"

# The planted failure: one AES-CBC vector failed, its message with markup.
cat >"$dir/fail.json" <<'EOF'
{ "schema": "azihsm-validate/1", "generated": 0, "cavp_dir": "x", "acvp_dir": "y",
  "sample": 1, "paths": ["device"],
  "results": [
    {"path": "device", "algorithm": "AES-ECB", "mode": "KAT", "run": 4, "passed": 4,
     "failed": 0, "not_applicable": 0, "not_applicable_reasons": [], "first_failures": []},
    {"path": "device", "algorithm": "AES-CBC", "mode": "KAT", "run": 5, "passed": 4,
     "failed": 1, "not_applicable": 0, "not_applicable_reasons": [],
     "first_failures": ["CBCGFSbox128.rsp:7: encrypt: output differs <script>window.pwned=1</script> & \"q\""]}],
  "totals": {"run": 9, "passed": 8, "failed": 1, "not_applicable": 0} }
EOF
printf 'ok 1 - a\nnot ok 2 - b # SKIP\n1..2\n# logs: build/logs\n41 passed, 0 failed, 2 skipped\n' \
	>"$dir/summary.txt"

t0=$SECONDS
"$top/scripts/report" --kernel "$kernel" --out "$dir/good" --validate-sample 1 \
	--check-summary "$dir/summary.txt" --vm-arg --serial --vm-arg "$serial" \
	--second-out "$dir/bad" --second-validate-json "$dir/fail.json" \
	>"$dir/out" 2>"$dir/err"
rc=$?
ok $rc "scripts/report: one boot, two packets, exit $rc ($((SECONDS - t0)) s)"
[[ $rc == 0 ]] || { sed 's/^/#   /' "$dir/out" "$dir/err" | tail -40; }
bad_rc=$(sed -n 's/.*second packet in .* (azihsm report exit \([0-9]*\)).*/\1/p' "$dir/err")
[[ ${bad_rc:-0} == 1 ]]
ok $? "the packet with a planted validation failure: azihsm report exit ${bad_rc:-none}"
for f in report.json report.html chain/root.pem chain/device.pem chain/partition.pem \
	attestation/report.cbor attestation/nonce.hex docs/security-policy.md \
	docs/threat-model.md validation/validate.json check/summary.txt; do
	[[ -s $dir/good/$f ]] || { echo "# missing: $f"; false; }
done
ok $? "the packet holds report.json, report.html, the chain, the report, the documents"

python3 - "$dir/good/report.json" "$serial" "$top" "$(git -C "$top" rev-parse HEAD)" \
	"$(cat "$dir/good/attestation/nonce.hex" 2>/dev/null)" <<'EOF'
import hashlib, json, sys
path, serial, top, commit, nonce = sys.argv[1:]
d = json.load(open(path))
st = {c["id"]: c["status"] for c in d["checks"]}
def need(cond, what):
    if not cond:
        print("# FAILED:", what); sys.exit(1)
need(d["schema"] == "azihsm-report/1", "schema")
need(d["result"] == "pass", "result pass: %s" % st)
need(set(st) == {"device", "chain", "attestation", "selftest", "tamper", "validation",
                 "versions", "revision", "documents", "check"}, "check ids %s" % st)
need(all(s == "pass" for s in st.values()), "every check passed: %s" % st)
for c in d["checks"]:
    need(c["commands"] and all(x for x in c["commands"]), "commands for " + c["id"])
dev = d["device"]
need(dev["serial"] == serial, "serial %s" % dev.get("serial"))
need(dev["provisioning"] == "provisioned", "provisioning")
need(len(dev["measurement"]) == 96 and dev["error_state"] is False, "measurement, no error")
need("fips_mode" in dev and "fw_version" in dev and "svn" in dev, "info fields")
ch = d["chain"]
need(ch["verified"] is True and ch["device_root_matches_trusted"] is True, "chain verified")
need(all(len(ch["certificates"][n]["sha256"]) == 64 for n in ("root", "device", "partition")),
     "certificate fingerprints")
at = d["attestation"]
need(at["verified"] is True and at["nonce"] == nonce, "attestation verified with our nonce")
cl = at["claims"]
need(cl["report_data"] == nonce and cl["nonce_checked"] is True, "claims: the nonce")
need(cl["generated"] is True and cl["extractable"] is False and cl["persistent"] is False,
     "claims: generated, not extractable, a session key")
need(cl["measurement"] == dev["measurement"] and cl["serial"] == serial, "claims: measurement")
need(d["selftest"]["passed"] is True and len(d["selftest"]["results"]) > 5, "selftest")
need(d["tamper"]["count"] == 0, "tamper log")
v = d["validation"]
need(v["source"] == "run" and v["totals"]["failed"] == 0 and v["totals"]["run"] > 10,
     "validation %s" % v.get("totals"))
need(len(v["by_algorithm"]) > 5, "validation by algorithm")
ver = d["versions"]
need(ver["kernel"]["release"].startswith(("6.1.", "6.12.")) and ver["driver"]["version"]
     and ver["library"] == "0.1.0", "versions %s" % ver)
s = d["seed_of_trust"]
need(commit in s["revision"] and s["revision_source"] == "given", "revision %s" % s["revision"])
for doc in s["documents"]:
    want = hashlib.sha256(open("%s/Documentation/%s" % (top, doc["name"]), "rb").read())
    need(doc["present"] and doc["sha256"] == want.hexdigest(), "document " + doc["name"])
need(s["check_summary"]["passed"] == 41 and s["check_summary"]["failed"] == 0, "summary")
print("# %d checks, %d vectors, chain and attestation verified" %
      (len(st), v["totals"]["run"]))
EOF
ok $? "report.json: every section, every check passed, chain and attestation verified"

python3 - "$dir/bad/report.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
st = {c["id"]: c["status"] for c in d["checks"]}
assert d["result"] == "fail" and st["validation"] == "fail", st
assert [k for k, s in st.items() if s == "fail"] == ["validation"], st
v = d["validation"]
assert v["source"] == "file" and v["totals"]["failed"] == 1
row = [a for a in v["by_algorithm"] if a["algorithm"] == "AES-CBC"][0]
assert row["failed"] == 1 and row["run"] == 5, row
EOF
ok $? "the planted failure: report.json result fail, only the validation check failed"

# The packet stands on its own: the host checks it with the build's root.
openssl verify -CAfile "$root" -untrusted "$dir/good/chain/device.pem" \
	"$dir/good/chain/partition.pem" >/dev/null 2>&1
ok $? "host: openssl verify of the packet's chain against build/pki/root.pem"
"$cli" verify-report --chain "$dir/good/chain" --report "$dir/good/attestation/report.cbor" \
	--nonce "$(cat "$dir/good/attestation/nonce.hex")" --root "$root" >/dev/null 2>&1
ok $? "host: azihsm verify-report of the packet's attestation"
cp "$dir/good/attestation/report.cbor" "$dir/flip.cbor"
python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[-20] ^= 1
open(p, "wb").write(b)' "$dir/flip.cbor"
! "$cli" verify-report --chain "$dir/good/chain" --report "$dir/flip.cbor" \
	--nonce "$(cat "$dir/good/attestation/nonce.hex")" --root "$root" >/dev/null 2>&1
ok $? "host: the report with one byte flipped is refused"

# --- the pages in Chromium ---------------------------------------------------------
chrome() { timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
	--user-data-dir="$dir/chrome" "$@" 2>>"$dir/chrome.err"; }
# pixels PNG: "distinct-colours red-pixels" of an 8-bit RGB(A) PNG.
pixels() { python3 - "$1" <<'EOF'
import struct, sys, zlib
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat = 8, b""
while pos < len(b):
    n, t = struct.unpack(">I4s", b[pos:pos + 8])
    if t == b"IHDR":
        w, h, depth, ctype, _, _, lace = struct.unpack(">IIBBBBB", b[pos + 8:pos + 21])
    elif t == b"IDAT":
        idat += b[pos + 8:pos + 8 + n]
    pos += 12 + n
assert depth == 8 and ctype in (2, 6) and lace == 0, (depth, ctype, lace)
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, colours, red, i = bytearray(stride), set(), 0, 0
for y in range(h):
    f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    for x in range(stride):
        a = line[x - bpp] if x >= bpp else 0
        c = prev[x - bpp] if x >= bpp else 0
        u = prev[x]
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + u) & 255
        elif f == 3: line[x] = (line[x] + (a + u) // 2) & 255
        elif f == 4:
            p = a + u - c
            pa, pb, pc = abs(p - a), abs(p - u), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else u if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        px = bytes(line[x:x + 3])
        colours.add(px)
        if px[0] > 170 and px[1] < 80 and px[2] < 80:
            red += 1
    prev = line
print(len(colours), red)
EOF
}
# One Chromium run per page: the PNG and the DOM.
for p in good bad; do
	chrome --screenshot="$dir/$p.png" --window-size=1000,1600 --dump-dom \
		"file://$dir/$p/report.html" >"$dir/$p.dom"
done
read -r gcol gred <<<"$(pixels "$dir/good.png" 2>/dev/null)"
[[ ${gcol:-0} -gt 20 ]]
ok $? "Chromium renders the packet's page to PNG, not blank (${gcol:-no} colours)"
[[ ${gred:-1} == 0 ]]
ok $? "the passing packet's page has no red (${gred:-?} red pixels)"
read -r bcol bred <<<"$(pixels "$dir/bad.png" 2>/dev/null)"
[[ ${bcol:-0} -gt 20 && ${bred:-0} -gt 100 ]]
ok $? "the failed packet's page shows red (${bred:-no} red pixels)"
grep -q "<title>azihsm compliance report: $serial</title>" "$dir/good.dom"
ok $? "the DOM has the expected title"
grep -q 'NIST vector validation' "$dir/good.dom" && ! grep -q 'class="st fail"' "$dir/good.dom" &&
	grep -q '<svg' "$dir/good.dom"
ok $? "the passing page: the validation chart, no FAIL"
grep -q '<span class="st fail">FAIL</span>' "$dir/bad.dom" &&
	grep -q 'output differs &lt;script&gt;window.pwned=1&lt;/script&gt; &amp;' "$dir/bad.dom" &&
	grep -q '>FAIL 1/5</text>' "$dir/bad.dom"
ok $? "the failed page: FAIL, the chart's FAIL 1/5, the planted markup shown as text"
! grep -qi '<script' "$dir/bad.dom" &&
	! sed 's|xmlns="http://www.w3.org/2000/svg"||g' "$dir/good/report.html" "$dir/bad/report.html" |
	grep -qiE '<script|<link|<img|src=|https?://'
ok $? "no script element, no external resource or network reference in the pages"
echo "# the suite took $((SECONDS - t0)) s"

tap_done
