/**
 * A throwaway PKI for tests of TLS and mTLS (the agent hub, the MCP proxy to pods, OTLP):
 * a CA, a server certificate and a client certificate, made with openssl (P-256 keys, valid
 * one day) as files in a directory the test owns.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { TestkitError } from "./errors.js";

export interface TestCertOptions {
  /** Subject CN of the CA. Default "hangar-test-ca". */
  readonly caCn?: string;
  /** Subject CN of the server certificate. Default "hangar-controller". */
  readonly serverCn?: string;
  /** subjectAltName of the server certificate. Default "DNS:hangar-controller,IP:127.0.0.1". */
  readonly serverSan?: string;
  /** Subject CN of the client certificate. Default "hangar-agent". */
  readonly clientCn?: string;
  /** subjectAltName of the client certificate, e.g. "DNS:node-a" (the node an agent speaks for). Default none. */
  readonly clientSan?: string;
}

/** Paths of what `writeTestCerts` made: `ca.crt`/`ca.key`, `srv.crt`/`srv.key`, `cli.crt`/`cli.key`. */
export interface TestCerts {
  readonly ca: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

function openssl(...args: string[]): void {
  try {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  } catch (cause) {
    const stderr = (cause as { stderr?: Buffer }).stderr?.toString().trim() ?? String(cause);
    throw new TestkitError("HANGAR_ERR_TESTKIT_SETUP_FAILED", `openssl ${args[0] ?? ""}: ${stderr}`, {
      cause,
    });
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"];

/** A leaf certificate `<name>.crt`/`<name>.key` in `dir`, signed by the CA there (`ca.crt`/`ca.key`). */
function writeLeaf(dir: string, name: string, cn: string, ...ext: string[]): void {
  const pem = (f: string): string => join(dir, f);
  openssl(
    "req",
    "-x509",
    "-CA",
    pem("ca.crt"),
    "-CAkey",
    pem("ca.key"),
    ...EC,
    "-keyout",
    pem(`${name}.key`),
    "-out",
    pem(`${name}.crt`),
    "-subj",
    `/CN=${cn}`,
    ...ext.flatMap((e) => ["-addext", e]),
  );
}

/**
 * One more client certificate (clientAuth), `<name>.crt`/`<name>.key`, signed by the CA that
 * `writeTestCerts` made in `dir`: e.g. one agent certificate per node (`san: "DNS:node-a"`).
 */
export function writeClientCert(
  dir: string,
  name: string,
  opts: { readonly cn: string; readonly san?: string },
): { readonly cert: string; readonly key: string } {
  writeLeaf(
    dir,
    name,
    opts.cn,
    ...(opts.san !== undefined ? [`subjectAltName=${opts.san}`] : []),
    "extendedKeyUsage=clientAuth",
  );
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** Writes a CA, a server certificate (serverAuth) and a client certificate (clientAuth) into `dir`. */
export function writeTestCerts(dir: string, opts: TestCertOptions = {}): TestCerts {
  const pem = (name: string): string => join(dir, name);
  openssl(
    "req",
    "-x509",
    ...EC,
    "-keyout",
    pem("ca.key"),
    "-out",
    pem("ca.crt"),
    "-subj",
    `/CN=${opts.caCn ?? "hangar-test-ca"}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
  );
  writeLeaf(
    dir,
    "srv",
    opts.serverCn ?? "hangar-controller",
    `subjectAltName=${opts.serverSan ?? "DNS:hangar-controller,IP:127.0.0.1"}`,
    "extendedKeyUsage=serverAuth",
  );
  writeClientCert(dir, "cli", {
    cn: opts.clientCn ?? "hangar-agent",
    ...(opts.clientSan !== undefined ? { san: opts.clientSan } : {}),
  });
  return {
    ca: pem("ca.crt"),
    caKey: pem("ca.key"),
    serverCert: pem("srv.crt"),
    serverKey: pem("srv.key"),
    clientCert: pem("cli.crt"),
    clientKey: pem("cli.key"),
  };
}
