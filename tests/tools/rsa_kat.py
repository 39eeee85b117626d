#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The RSA known answers of qemu-device/fw/crypto/hsm_selftest_kat.h, taken from
published vectors in Debian's python3-cryptography-vectors:

  sign:    NIST CAVP "SigGen PKCS#1 Ver 1.5" (CAVS 11.4), FIPS_186-2/
           SigGen15_186-2.txt, [mod = 2048], the first SHAAlg = SHA256 vector
           (n, e, d given in the file, the signature S deterministic);
  decrypt: PKCS #1 v2.1 test vectors (RSA Laboratories, pkcs-1v2-1d2-vec/
           oaep-vect.txt), Example 10 (the 2048-bit key), Example 10.1, OAEP
           with SHA-1 and MGF1-SHA-1, empty label.

  rsa_kat.py print [DIR]   print the C tables
  rsa_kat.py check [HDR] [DIR]   exit 0 when the header's tables equal the files'
"""
import hashlib, re, sys

DIR = "/usr/lib/python3/dist-packages/cryptography_vectors/asymmetric/RSA"

def siggen(d):
    txt = open(d + "/FIPS_186-2/SigGen15_186-2.txt").read()
    blk = txt.split("[mod = 2048]")[1].split("[mod =")[0]
    kv = lambda k, s: re.search(r"^%s = ([0-9a-fA-F]+)" % k, s, re.M).group(1)
    n, e, dd = int(kv("n", blk), 16), int(kv("e", blk), 16), int(kv("d", blk), 16)
    v = blk[blk.index("SHAAlg = SHA256"):]
    return n, e, dd, bytes.fromhex(kv("Msg", v)), bytes.fromhex(kv("S", v))

def oaep(d):
    txt = open(d + "/pkcs-1v2-1d2-vec/oaep-vect.txt").read()
    ex = txt.split("# Example 10: A 2048-bit RSA key pair")[1]
    priv = ex.split("# Private key")[1].split("# RSA-OAEP encryption")[0]
    def field(name, s):
        m = re.search(r"^# %s:[ ]*\n((?:[0-9a-f]{2}[ \n]*)+)" % re.escape(name), s, re.M)
        return bytes.fromhex("".join(m.group(1).split()))
    key = {k: int.from_bytes(field(t, priv), "big") for k, t in
           (("n", "Modulus"), ("e", "Public exponent"), ("d", "Exponent"),
            ("p", "Prime 1"), ("q", "Prime 2"), ("dp", "Prime exponent 1"),
            ("dq", "Prime exponent 2"), ("qinv", "Coefficient"))}
    assert key["p"] * key["q"] == key["n"]
    e1 = ex.split("# OAEP Example 10.1")[1]
    return key, field("Message", e1), field("Encryption", e1)

def b(x, length=None):
    length = length or (x.bit_length() + 7) // 8
    return x.to_bytes(length, "big")

def tables(d):
    n, e, dd, msg, sig = siggen(d)
    # The vector is sound: S^e mod n is the PKCS#1 v1.5 encoding of SHA-256(Msg).
    di = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(msg).digest()
    em = b"\x00\x01" + b"\xff" * (256 - 3 - len(di)) + b"\x00" + di
    assert pow(int.from_bytes(sig, "big"), e, n).to_bytes(256, "big") == em
    k, pt, ct = oaep(d)
    # The vector is sound: RSADP then the OAEP-SHA1 decoding gives the message.
    em = pow(int.from_bytes(ct, "big"), k["d"], k["n"]).to_bytes(256, "big")
    mgf = lambda seed, ln: b"".join(hashlib.sha1(seed + i.to_bytes(4, "big")).digest()
                                    for i in range(ln // 20 + 1))[:ln]
    mseed, mdb = em[1:21], em[21:]
    seed = bytes(x ^ y for x, y in zip(mseed, mgf(mdb, 20)))
    db = bytes(x ^ y for x, y in zip(mdb, mgf(seed, len(mdb))))
    assert em[0] == 0 and db[:20] == hashlib.sha1(b"").digest()
    assert db[20:].lstrip(b"\0")[0] == 1 and db[20:].lstrip(b"\0")[1:] == pt
    return [("kat_rsa_sig_n", b(n, 256)), ("kat_rsa_sig_e", b(e)), ("kat_rsa_sig_d", b(dd, 256)),
            ("kat_rsa_sig_msg", msg), ("kat_rsa_sig", sig),
            ("kat_rsa_oaep_n", b(k["n"], 256)), ("kat_rsa_oaep_e", b(k["e"])),
            ("kat_rsa_oaep_d", b(k["d"], 256)), ("kat_rsa_oaep_p", b(k["p"], 128)),
            ("kat_rsa_oaep_q", b(k["q"], 128)), ("kat_rsa_oaep_dp", b(k["dp"], 128)),
            ("kat_rsa_oaep_dq", b(k["dq"], 128)), ("kat_rsa_oaep_qinv", b(k["qinv"], 128)),
            ("kat_rsa_oaep_msg", pt), ("kat_rsa_oaep_ct", ct)]

def c_table(name, data):
    out = "static const uint8_t %s[%d] = {\n" % (name, len(data))
    for i in range(0, len(data), 12):
        out += "\t" + " ".join("0x%02x," % x for x in data[i:i + 12]) + "\n"
    return out + "};\n"

def header_table(src, name):
    m = re.search(r"\b%s\[\d+\] = \{(.*?)\};" % name, src, re.S)
    return m and bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1)))

if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "print":
        for name, data in tables(sys.argv[2] if len(sys.argv) > 2 else DIR):
            sys.stdout.write(c_table(name, data))
        sys.exit(0)
    hdr = sys.argv[2] if len(sys.argv) > 2 else "qemu-device/fw/crypto/hsm_selftest_kat.h"
    src = open(hdr).read()
    bad = [n for n, data in tables(sys.argv[3] if len(sys.argv) > 3 else DIR)
           if header_table(src, n) != data]
    print("rsa_kat: %s" % ("tables agree with the published vectors" if not bad else
                           "differ: " + " ".join(bad)))
    sys.exit(1 if bad else 0)
