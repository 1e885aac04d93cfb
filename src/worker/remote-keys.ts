/**
 * CURVE keys as ZeroMQ writes them: Z85 text (ZeroMQ RFC 32), 40 characters for 32 bytes. A
 * client secret key determines its public key (Curve25519, the X25519 of Node's crypto), so a
 * client that brings its own pair may give the secret alone.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));
/** A CURVE key in Z85: 40 characters of the Z85 alphabet. */
export const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** Z85 text (a multiple of 5 characters) → bytes. */
export function z85Decode(text: string): Buffer {
  if (text.length % 5 !== 0) throw new RangeError("Z85 text must be a multiple of 5 characters");
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) {
      const digit = VALUE.get(text[i + j]!);
      if (digit === undefined) throw new RangeError("not a Z85 character");
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) throw new RangeError("Z85 group out of range");
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** Bytes (a multiple of 4) → Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError("Z85 input must be a multiple of 4 bytes");
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = view.readUInt32BE(i);
    let group = "";
    for (let j = 0; j < 5; j++) {
      group = ALPHABET[value % 85]! + group;
      value = Math.floor(value / 85);
    }
    out += group;
  }
  return out;
}

// PKCS#8 header of a raw X25519 private key (RFC 8410); the 32 key bytes follow it.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a Z85 CURVE secret key (Z85 too). */
export function curvePublicKey(secretKey: string): string {
  const secret = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, z85Decode(secretKey)]),
    format: "der",
    type: "pkcs8",
  });
  const spki = createPublicKey(secret).export({ format: "der", type: "spki" });
  return z85Encode(spki.subarray(spki.length - 32));
}
