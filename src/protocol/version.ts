/**
 * Version of the TS ⇄ worker wire protocol; must equal `PROTOCOL_VERSION` in
 * python_worker/lmprobe_worker/protocol.py.
 */
export const PROTOCOL_VERSION = 1;
