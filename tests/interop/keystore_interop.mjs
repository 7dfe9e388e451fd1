// keystore_interop.mjs — the independent side of test_keystore_interop.sh:
// @chainsafe/bls-keystore reads and writes the EIP-2335 keystores and
// @noble/curves computes the public keys, so no tkms code is involved.
//
//   node keystore_interop.mjs decrypt KEYSTORE PASSWORD_FILE
//       Validates KEYSTORE against the package's schema, decrypts it and
//       prints the secret's public key (0x…). Fails when the keystore's own
//       pubkey field says otherwise.
//   node keystore_interop.mjs create KEYSTORE PASSWORD_FILE scrypt|pbkdf2
//       Writes a keystore holding a fresh random secret and prints its
//       public key (0x…).
//
// The password is the whole of PASSWORD_FILE as UTF-8, with no newline
// (the caller writes it that way); the package applies EIP-2335's NFKD and
// control-code stripping itself.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  Keystore, create, defaultPbkdfModule, defaultScryptModule,
} from '@chainsafe/bls-keystore';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { bytesToHex } from '@noble/curves/utils.js';

const bls = bls12_381.longSignatures;
const publicKeyOf = (secret) => bls.getPublicKey(secret).toBytes(true);
const hex = (bytes) => `0x${bytesToHex(bytes)}`;

// A cheaper scrypt than the EIP default keeps the test quick; PBKDF2 uses
// the package's default (c = 262144), as a real keystore would.
function kdfModule(kind) {
  if (kind === 'pbkdf2') return defaultPbkdfModule();
  if (kind === 'scrypt') {
    const mod = defaultScryptModule();
    return { ...mod, params: { ...mod.params, n: 16384 } };
  }
  throw new Error(`unknown kdf '${kind}'`);
}

async function decryptCommand(keystorePath, passwordFile) {
  const keystore = Keystore.parse(readFileSync(keystorePath, 'utf8'));
  const secret = await keystore.decrypt(readFileSync(passwordFile, 'utf8'));
  const pubkey = hex(publicKeyOf(secret));
  if (keystore.pubkey && `0x${keystore.pubkey.toLowerCase()}` !== pubkey)
    throw new Error(`${keystorePath}: pubkey field ${keystore.pubkey} is not the secret's key ${pubkey}`);
  return pubkey;
}

async function createCommand(keystorePath, passwordFile, kind) {
  const secret = bls12_381.utils.randomSecretKey();
  const pubkey = publicKeyOf(secret);
  const keystore = await create(readFileSync(passwordFile, 'utf8'), secret, pubkey,
    'm/12381/3600/0/0/0', 'made by @chainsafe/bls-keystore', kdfModule(kind));
  writeFileSync(keystorePath, JSON.stringify(keystore, null, 2), { mode: 0o600 });
  return hex(pubkey);
}

const [command, ...args] = process.argv.slice(2);
const commands = { decrypt: decryptCommand, create: createCommand };
if (!(command in commands)) {
  console.error('usage: keystore_interop.mjs decrypt KEYSTORE PASSWORD_FILE\n' +
                '       keystore_interop.mjs create KEYSTORE PASSWORD_FILE scrypt|pbkdf2');
  process.exit(2);
}
try {
  console.log(await commands[command](...args));
} catch (e) {
  console.error(`keystore_interop.mjs ${command}: ${e.message}`);
  process.exit(1);
}
