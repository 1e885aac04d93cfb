/** Z85 and the client key derivation against zeromq.js's own CURVE key pairs (libzmq/libsodium). */
import { curveKeyPair } from "zeromq";
import { describe, expect, it } from "vitest";
import { curvePublicKey, Z85_KEY, z85Decode, z85Encode } from "../../src/worker/remote-keys.js";

describe("CURVE keys in Z85", () => {
  it("the public key derived from a secret key is libzmq's, for many random pairs", () => {
    for (let i = 0; i < 50; i++) {
      const pair = curveKeyPair();
      expect(Z85_KEY.test(pair.publicKey) && Z85_KEY.test(pair.secretKey)).toBe(true);
      expect(curvePublicKey(pair.secretKey)).toBe(pair.publicKey);
      expect(z85Encode(z85Decode(pair.secretKey))).toBe(pair.secretKey);
    }
  });

  it("Z85 matches the RFC 32 test vector", () => {
    const bytes = Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    expect(z85Encode(bytes)).toBe("HelloWorld");
    expect([...z85Decode("HelloWorld")]).toEqual([...bytes]);
  });

  it("rejects text that is not Z85", () => {
    expect(() => z85Decode("abc")).toThrow(RangeError);
    expect(() => z85Decode('abc"d')).toThrow(RangeError);
    expect(Z85_KEY.test("x".repeat(39))).toBe(false);
  });
});
