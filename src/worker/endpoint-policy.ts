/** What a child worker may be told to bind (the served, authenticated TCP case is remote-*.ts). */
import { WorkerStartError } from "../errors.js";

/**
 * The worker has no authentication of its own: an inherited `LMPROBE_WORKER_ENDPOINT=tcp://...`
 * would let any local user (or host) that reaches the port drive it. Refused here, before Python
 * starts (the worker refuses it again, and also an ipc:// socket in a folder others can enter).
 */
export function refuseOpenEndpoint(endpoint: string | undefined): void {
  if (endpoint && !endpoint.startsWith("ipc://")) {
    throw new WorkerStartError(
      `LMPROBE_WORKER_ENDPOINT=${endpoint} is refused: a child worker serves only private ipc:// endpoints, ` +
        "because on TCP anyone who reaches the port could drive it. Unset LMPROBE_WORKER_ENDPOINT; for a worker on " +
        "TCP with CURVE keys, run `lmprobe worker serve --bind tcp://HOST:PORT` and connect with the `connect` " +
        "option (or LMPROBE_WORKER_CONNECT).",
      "",
    );
  }
}
