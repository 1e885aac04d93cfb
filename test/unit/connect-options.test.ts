/**
 * `PythonRuntime({ connect })` and the LMPROBE_WORKER_* variables are checked in the constructor,
 * before anything connects (no server runs in this file: a connection attempt would need one).
 */
import { inspect } from "node:util";
import { curveKeyPair } from "zeromq";
import { describe, expect, it } from "vitest";
import { InvalidOptionError, PythonRuntime, REMOTE_ENV } from "../../src/index.js";
import { remoteTarget } from "../../src/worker/remote-options.js";

const server = curveKeyPair();
const client = curveKeyPair();
const endpoint = "tcp://127.0.0.1:5555";

function optionError(make: () => unknown): InvalidOptionError {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return err as InvalidOptionError;
  }
  throw new Error("expected an InvalidOptionError");
}

describe("connect options", () => {
  it("a missing or malformed field is an InvalidOptionError naming it, thrown by the constructor", () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ endpoint }, "connect.serverPublicKey", /is missing.*40-character Z85 server public key/],
      [{ endpoint, serverPublicKey: "short" }, "connect.serverPublicKey", /40-character Z85/],
      [{ serverPublicKey: server.publicKey }, "connect.endpoint", /is missing.*tcp:\/\/HOST:PORT/],
      [{ endpoint: "ipc:///tmp/x", serverPublicKey: server.publicKey }, "connect.endpoint", /got "ipc:\/\/\/tmp\/x"/],
      [{ endpoint: "tcp://h:70000", serverPublicKey: server.publicKey }, "connect.endpoint", /port 1-65535/],
      [{ endpoint: "tcp://*:5555", serverPublicKey: server.publicKey }, "connect.endpoint", /tcp:\/\/HOST:PORT/],
      [{ endpoint, serverPublicKey: server.publicKey, secretKey: "x" }, "connect.secretKey", /Z85/],
      [{ endpoint, serverPublicKey: server.publicKey, publicKey: client.publicKey }, "connect.secretKey", /needs/],
      [{ endpoint, serverPublicKey: server.publicKey, colour: 1 }, "connect", /unknown field\(s\) colour/],
    ];
    for (const [connect, option, message] of cases) {
      const err = optionError(() => new PythonRuntime({ connect: connect as never }));
      expect(err.option, JSON.stringify(connect)).toBe(option);
      expect(err.message).toMatch(message);
    }
  });

  it("a public key that is not the secret key's pair is refused", () => {
    const other = curveKeyPair();
    const connect = {
      endpoint,
      serverPublicKey: server.publicKey,
      secretKey: client.secretKey,
      publicKey: other.publicKey,
    };
    expect(optionError(() => new PythonRuntime({ connect })).option).toBe("connect.publicKey");
  });

  it("no secret key's value appears in any error, even a malformed one", () => {
    const almost = client.secretKey.slice(0, 39) + "\u00e9"; // 40 characters, one outside Z85
    for (const secretKey of [almost, client.secretKey + "x", client.secretKey.slice(1)]) {
      const err = optionError(
        () => new PythonRuntime({ connect: { endpoint, serverPublicKey: server.publicKey, secretKey } }),
      );
      expect(err.message).not.toContain(client.secretKey.slice(0, 30));
      expect(JSON.stringify(err) + String(err.stack)).not.toContain(client.secretKey.slice(0, 30));
    }
  });

  it("without a client key, each runtime gets a fresh (ephemeral) pair; with one, its public key is derived", () => {
    const a = remoteTarget({ endpoint, serverPublicKey: server.publicKey }, {})!;
    const b = remoteTarget({ endpoint, serverPublicKey: server.publicKey }, {})!;
    expect(a.ephemeral && b.ephemeral).toBe(true);
    expect(a.publicKey).not.toBe(b.publicKey);
    const mine = remoteTarget({ endpoint, serverPublicKey: server.publicKey, secretKey: client.secretKey }, {})!;
    expect(mine.ephemeral).toBe(false);
    expect(mine.publicKey).toBe(client.publicKey);
    expect(mine.socketOptions()).toEqual({
      curveServerKey: server.publicKey,
      curvePublicKey: client.publicKey,
      curveSecretKey: client.secretKey,
      heartbeatInterval: 5000,
      heartbeatTimeout: 30000,
    });
    // What a log line would show of it: no secret.
    expect(inspect(mine) + JSON.stringify(mine) + String(mine)).not.toContain(client.secretKey);
  });

  it("the environment names a served worker when connect is not given; connect wins over it", () => {
    const env = {
      [REMOTE_ENV.endpoint]: "tcp://gpu-box.lan:7000",
      [REMOTE_ENV.serverPublicKey]: server.publicKey,
      [REMOTE_ENV.secretKey]: client.secretKey,
    };
    expect(new PythonRuntime({ env }).servedEndpoint).toBe("tcp://gpu-box.lan:7000");
    expect(remoteTarget(undefined, env)!.publicKey).toBe(client.publicKey);
    expect(new PythonRuntime({ env, connect: { endpoint, serverPublicKey: server.publicKey } }).servedEndpoint).toBe(
      endpoint,
    );
    expect(new PythonRuntime({ env: {} }).servedEndpoint).toBeUndefined();
    const err = optionError(() => new PythonRuntime({ env: { [REMOTE_ENV.endpoint]: endpoint } }));
    expect(err.option).toBe("LMPROBE_WORKER_SERVER_KEY");
    expect(optionError(() => new PythonRuntime({ env: { ...env, [REMOTE_ENV.secretKey]: "bad" } })).option).toBe(
      "LMPROBE_WORKER_SECRET_KEY",
    );
  });
});
