import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";

/** A throwaway self-signed certificate and its key, as files (for `--ssl-key`/`--ssl-cert`/`--ca`) and bytes. */
export interface SelfSignedCert {
  keyFile: string;
  certFile: string;
  /** The certificate (PEM); trusting it as a CA is how clients verify the server without disabling checks. */
  cert: Buffer;
  /** Deletes the temporary directory. */
  cleanup(): Promise<void>;
}

/**
 * Generates a one-day self-signed RSA certificate for `localhost` and `127.0.0.1` with the `openssl` CLI, in a
 * fresh temporary directory. The subjectAltName matters: Node checks the host against it, not the CN.
 */
export async function createSelfSignedCert(): Promise<SelfSignedCert> {
  const dir = await mkdtemp(path.join(tmpdir(), "llmux-tls-"));
  const keyFile = path.join(dir, "key.pem");
  const certFile = path.join(dir, "cert.pem");
  await promisify(execFile)("openssl", [
    "req", "-x509", "-newkey", "rsa:2048", "-nodes",
    "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
    "-days", "1",
    "-keyout", keyFile,
    "-out", certFile,
  ]);
  return { keyFile, certFile, cert: await readFile(certFile), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
