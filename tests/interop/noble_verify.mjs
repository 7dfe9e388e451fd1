// noble_verify.mjs — the @noble/curves side of tests/interop/test_noble.sh:
// an independent BLS12-381 implementation checks what the tkms CLI wrote.
//
// Ciphersuite: Ethereum's, BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_
// (public keys in G1, signatures in G2 = noble's longSignatures). noble's
// own default DST is the _NUL_ one, so the DST is always passed explicitly.
//
// Usage:
//   node noble_verify.mjs check CASES.json
//       CASES.json is an array of checks, each {"name", "op", ..., "expect"}:
//         op "verify":    pubkey, message, signature[, dst]   -> boolean
//         op "fast":      pubkeys[], message, signature        -> boolean
//         op "aggregate": pubkeys[], messages[], signature     -> boolean
//         op "feldman":   commitments[], index, pubkey
//                         (pubkey == sum_j C_j * index^j)       -> boolean
//         op "equal":     a, b (hex strings)                    -> boolean
//       A point that fails to decode counts as `false` (rejected).
//       Prints "ok - NAME" or "not ok - NAME: why" per check; exit 1 if any
//       check did not give `expect`.
//   node noble_verify.mjs aggregate 0xSIG...   prints the sum of the signatures
//   node noble_verify.mjs lagrange I:0xSIG...  prints sum_i lambda_i(0) * sig_i
//       (the threshold combine, done by noble over Fr)
// All hex is 0x-prefixed, as tkms prints it.
import { readFileSync } from "node:fs";
import { bls12_381 } from "@noble/curves/bls12-381.js";

const POP_DST = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const bls = bls12_381.longSignatures;
const G1 = bls12_381.G1.Point;
const Fr = bls12_381.fields.Fr;

const strip = (hex) => {
  if (typeof hex !== "string" || !hex.startsWith("0x")) throw new Error(`not 0x-hex: ${hex}`);
  return hex.slice(2);
};
const bytes = (hex) => Uint8Array.from(Buffer.from(strip(hex), "hex"));
const g1 = (hex) => {
  const p = G1.fromHex(strip(hex));
  p.assertValidity();
  if (p.is0()) throw new Error("public key is the identity");
  return p;
};
const g2 = (hex) => {
  const p = bls.Signature.fromHex(strip(hex));
  p.assertValidity();
  return p;
};
const H = (msgHex, dst = POP_DST) => bls.hash(bytes(msgHex), dst);

const ops = {
  verify: (c) => bls.verify(g2(c.signature), H(c.message, c.dst ?? POP_DST), g1(c.pubkey)),
  fast: (c) =>
    bls.verify(g2(c.signature), H(c.message), bls.aggregatePublicKeys(c.pubkeys.map(g1))),
  aggregate: (c) =>
    bls.verifyBatch(
      g2(c.signature),
      c.pubkeys.map((pk, i) => ({ message: H(c.messages[i]), publicKey: g1(pk) })),
    ),
  feldman: (c) => {
    // Horner: ((C_{K-1}·i + C_{K-2})·i + …)·i + C_0
    const i = BigInt(c.index);
    let acc = G1.ZERO;
    for (let j = c.commitments.length - 1; j >= 0; j--)
      acc = acc.multiply(i).add(g1(c.commitments[j]));
    return acc.equals(g1(c.pubkey));
  },
  equal: (c) => c.a === c.b,
};

function check(file) {
  const cases = JSON.parse(readFileSync(file, "utf8"));
  let bad = 0;
  for (const c of cases) {
    let got, why = "";
    try {
      if (!(c.op in ops)) throw new Error(`unknown op ${c.op}`);
      got = ops[c.op](c);
    } catch (e) {
      got = false;
      why = ` (rejected: ${e.message})`;
    }
    if (got === c.expect) {
      console.log(`ok - ${c.name}${why}`);
    } else {
      bad++;
      console.log(`not ok - ${c.name}: expected ${c.expect}, got ${got}${why}`);
    }
  }
  return bad === 0 ? 0 : 1;
}

function aggregate(sigs) {
  console.log("0x" + bls.Signature.toHex(bls.aggregateSignatures(sigs.map(g2))));
  return 0;
}

function lagrange(args) {
  const parts = args.map((a) => {
    const [i, sig] = a.split(":");
    return { x: BigInt(i), sig: g2(sig) };
  });
  let acc = bls12_381.G2.Point.ZERO;
  for (const p of parts) {
    // lambda_p(0) = prod_{q != p} x_q / (x_q - x_p)
    let num = Fr.ONE, den = Fr.ONE;
    for (const q of parts) {
      if (q === p) continue;
      num = Fr.mul(num, q.x);
      den = Fr.mul(den, Fr.sub(q.x, p.x));
    }
    acc = acc.add(p.sig.multiply(Fr.div(num, den)));
  }
  console.log("0x" + bls.Signature.toHex(acc));
  return 0;
}

const [cmd, ...args] = process.argv.slice(2);
const run = { check: () => check(args[0]), aggregate: () => aggregate(args), lagrange: () => lagrange(args) }[cmd];
if (!run) {
  console.error("usage: node noble_verify.mjs check CASES.json | aggregate 0xSIG... | lagrange I:0xSIG...");
  process.exit(2);
}
process.exit(run());
