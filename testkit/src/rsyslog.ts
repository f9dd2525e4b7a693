/**
 * A real rsyslog (Debian's rsyslogd) on loopback for tests of the SIEM export: TCP (both
 * framings, auto-detected per message by imtcp), TLS (RFC 5425, OpenSSL driver, certificates
 * made with openssl for the test), and UDP, each on its own free port. Every message is parsed
 * by rsyslog itself: the syslog header by its RFC 5424/3164 parsers, and the message as CEF by
 * mmnormalize (liblognorm's `cef` parser). What it received is written as JSON lines that
 * `received()` returns. Also: `lognormalize()` runs liblognorm's CLI over lines offline.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { TestkitError } from "./errors.js";
import { freePorts } from "./ports.js";
import { isExecutable } from "./tools.js";

const execFileAsync = promisify(execFile);

export const RSYSLOG_INSTALL =
  "apt-get install -y rsyslog rsyslog-openssl liblognorm-utils (bash .ci/run does it)";

export interface RsyslogOptions {
  /** rsyslogd binary (default /usr/sbin/rsyslogd, or HANGAR_RSYSLOGD_BIN). */
  readonly rsyslogdPath?: string;
  /** Require a client certificate signed by the test CA on the TLS port (default false: anonymous clients). */
  readonly mutualTls?: boolean;
  /** rsyslog's maxMessageSize (default 64 KiB; rsyslog's own default of 8 KiB truncates). */
  readonly maxMessageSize?: number;
  /**
   * The IPv4 address the inputs listen on (default 127.0.0.1), e.g. an address of this machine
   * that pods of a test node reach. It is also in the server certificate.
   */
  readonly address?: string;
  readonly readyTimeoutMs?: number;
  readonly tmpRoot?: string;
}

/** One message as rsyslog saw it. */
export interface RsyslogMessage {
  /** TIMESTAMP as rsyslog parsed it, RFC 3339. */
  readonly timereported: string;
  /** When rsyslog received the message, RFC 3339 in UTC with microseconds (rsyslog's clock). */
  readonly timegenerated: string;
  readonly input: "tcp" | "tls" | "udp";
  readonly host: string;
  readonly app: string;
  readonly procid: string;
  readonly msgid: string;
  readonly pri: number;
  readonly facility: number;
  readonly severity: number;
  /** "1" for RFC 5424, "0" for RFC 3164. */
  readonly protocolVersion: string;
  /** The MSG part that was parsed as CEF (for RFC 3164 without a tag, rsyslog's TAG + MSG). */
  readonly msg: string;
  /** mmnormalize's parse, when the message is valid CEF. */
  readonly cef?: {
    readonly DeviceVendor: string;
    readonly DeviceProduct: string;
    readonly DeviceVersion: string;
    readonly SignatureID: string;
    readonly Name: string;
    readonly Severity: string;
    readonly Extensions: Readonly<Record<string, string>>;
  };
  /** Set by mmnormalize when the message did not parse. */
  readonly unparsed?: string;
}

export interface Rsyslog {
  /** The address the inputs listen on (`address`, default 127.0.0.1). */
  readonly host: string;
  readonly ports: { readonly tcp: number; readonly tls: number; readonly udp: number };
  /** PEM of the CA that signed the server certificate (and the client certificate). */
  readonly caFile: string;
  /** A client certificate and key signed by the CA (for mutual TLS). */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** The name in the server certificate (also IP 127.0.0.1). */
  readonly serverName: "localhost";
  readonly dir: string;
  readonly logFile: string;
  readonly pid: number;
  /** Every message received so far (probes excluded), in arrival order. */
  received(): Promise<RsyslogMessage[]>;
  /** Waits until at least `n` messages arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<RsyslogMessage[]>;
  /**
   * Stops the daemon, keeping its ports, files and messages: the destination is "down".
   * SIGTERM (default) lets rsyslog close connections; SIGKILL drops them with whatever the
   * kernel had not yet handed to rsyslog.
   */
  pause(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts it again on the same ports. */
  resume(): Promise<void>;
  /** Stops it and removes its directory. Safe to call more than once. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export type RsyslogAvailability =
  { readonly ok: true; readonly rsyslogd: string } | { readonly ok: false; readonly reason: string };

export function rsyslogdPath(env: NodeJS.ProcessEnv = process.env): string {
  const o = env["HANGAR_RSYSLOGD_BIN"];
  return o !== undefined && o !== "" ? o : "/usr/sbin/rsyslogd";
}

/** Whether rsyslog (with mmnormalize and the OpenSSL driver), openssl and lognormalizer are here. */
export function rsyslogAvailable(env: NodeJS.ProcessEnv = process.env): RsyslogAvailability {
  const bin = rsyslogdPath(env);
  const reasons: string[] = [];
  if (!isExecutable(bin)) reasons.push(`rsyslogd not found at ${bin}`);
  const modules = spawnSync(
    "sh",
    ["-c", `ls /usr/lib/*/rsyslog/lmnsd_ossl.so /usr/lib/*/rsyslog/mmnormalize.so`],
    {
      stdio: "ignore",
    },
  );
  if (modules.status !== 0)
    reasons.push("rsyslog's lmnsd_ossl.so or mmnormalize.so is missing (packages rsyslog, rsyslog-openssl)");
  if (spawnSync("openssl", ["version"], { stdio: "ignore" }).status !== 0)
    reasons.push("openssl is not on PATH");
  if (spawnSync("lognormalizer", ["-V"], { stdio: "ignore" }).error !== undefined) {
    reasons.push("lognormalizer is not on PATH (package liblognorm-utils)");
  }
  if (reasons.length > 0) return { ok: false, reason: `${reasons.join("; ")}; install: ${RSYSLOG_INSTALL}` };
  return { ok: true, rsyslogd: bin };
}

/**
 * For `test(name, { skip: skipUnlessRsyslog() }, fn)`: false when rsyslog can run, otherwise
 * the reason. In CI (`CI=true`) or with `HANGAR_REQUIRE_RSYSLOG=1` it never skips, so a
 * missing package fails the test with the install command.
 */
export function skipUnlessRsyslog(env: NodeJS.ProcessEnv = process.env): false | string {
  const a = rsyslogAvailable(env);
  if (a.ok || env["HANGAR_REQUIRE_RSYSLOG"] === "1" || env["CI"] === "true") return false;
  return `real rsyslog unavailable: ${a.reason}`;
}

const CEF_RULEBASE = "version=2\nrule=:%cef:cef%\n";
const PROBE = "hangar-rsyslog-probe";

function config(dir: string, ports: { tcp: number; tls: number; udp: number }, o: RsyslogOptions): string {
  const q = (s: string): string => JSON.stringify(s);
  const addr = o.address ?? "127.0.0.1";
  return `# written by @hangar/testkit rsyslog.ts for one test run
global(workDirectory=${q(dir)} maxMessageSize=${q(String(o.maxMessageSize ?? 65536))}
  defaultNetstreamDriverCAFile=${q(join(dir, "ca.crt"))}
  defaultNetstreamDriverCertFile=${q(join(dir, "server.crt"))}
  defaultNetstreamDriverKeyFile=${q(join(dir, "server.key"))})
module(load="imtcp" maxSessions="200")
module(load="imudp")
module(load="mmnormalize")
input(type="imtcp" address=${q(addr)} port=${q(String(ports.tcp))} name="tcp")
input(type="imtcp" address=${q(addr)} port=${q(String(ports.tls))} name="tls"
  streamDriver.name="ossl" streamDriver.mode="1"
  streamDriver.authMode=${q(o.mutualTls === true ? "x509/certvalid" : "anon")})
input(type="imudp" address=${q(addr)} port=${q(String(ports.udp))} name="udp")
template(name="hangar_json" type="list") {
  constant(value="{\\"timereported\\":\\"")
  property(name="timereported" dateFormat="rfc3339" format="json")
  constant(value="\\",\\"timegenerated\\":\\"")
  property(name="timegenerated" dateFormat="rfc3339" date.inUTC="on" format="json")
  constant(value="\\",\\"event\\":")
  property(name="$!all-json")
  constant(value="}\\n")
}
# RFC 3164 without a tag: rsyslog reads "CEF:" as the TAG; put it back before parsing.
if $protocol-version == "1" then { set $.m = $msg; } else { set $.m = $syslogtag & $msg; }
action(type="mmnormalize" rulebase=${q(join(dir, "cef.rb"))} variable="$.m")
set $!hdr!input = $inputname;
set $!hdr!host = $hostname;
set $!hdr!app = $app-name;
set $!hdr!procid = $procid;
set $!hdr!msgid = $msgid;
set $!hdr!pri = $pri;
set $!hdr!facility = $syslogfacility;
set $!hdr!severity = $syslogseverity;
set $!hdr!protocol = $protocol-version;
set $!hdr!msg = $.m;
action(type="omfile" file=${q(join(dir, "received.jsonl"))} template="hangar_json")
`;
}

async function freeUdpPort(address: string): Promise<number> {
  const sock = createSocket("udp4");
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, address, () => resolve());
  });
  const port = sock.address().port;
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}

async function makeCerts(dir: string, address: string): Promise<void> {
  const p = (f: string): string => join(dir, f);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"];
  const leaf = async (name: string, cn: string, ext: string[]): Promise<void> => {
    await execFileAsync("openssl", [
      "req",
      "-x509",
      "-CA",
      p("ca.crt"),
      "-CAkey",
      p("ca.key"),
      ...ec,
      "-keyout",
      p(`${name}.key`),
      "-out",
      p(`${name}.crt`),
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "basicConstraints=critical,CA:FALSE",
      ...ext,
    ]);
  };
  try {
    await execFileAsync("openssl", [
      "req",
      "-x509",
      ...ec,
      "-keyout",
      p("ca.key"),
      "-out",
      p("ca.crt"),
      "-subj",
      "/CN=hangar-testkit-syslog-ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await leaf("server", "localhost", [
      "-addext",
      `subjectAltName=DNS:localhost,IP:127.0.0.1${address === "127.0.0.1" ? "" : `,IP:${address}`}`,
      "-addext",
      "extendedKeyUsage=serverAuth",
    ]);
    await leaf("client", "hangar-agent", ["-addext", "extendedKeyUsage=clientAuth"]);
  } catch (cause) {
    const stderr = (cause as { stderr?: unknown }).stderr;
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `openssl could not make the syslog TLS certificates: ${typeof stderr === "string" ? stderr.trim() : String(cause)}`,
      { cause },
    );
  }
}

function parseLine(line: string): RsyslogMessage | undefined {
  const o = JSON.parse(line) as {
    timereported: string;
    timegenerated?: string;
    event: {
      hdr: Record<string, string>;
      cef?: RsyslogMessage["cef"];
      "unparsed-data"?: string;
    };
  };
  const h = o.event.hdr;
  const msg = h["msg"] ?? "";
  if (msg.includes(PROBE)) return undefined;
  return {
    timereported: o.timereported,
    timegenerated: o.timegenerated ?? "",
    input: (h["input"] ?? "tcp") as RsyslogMessage["input"],
    host: h["host"] ?? "",
    app: h["app"] ?? "",
    procid: h["procid"] ?? "",
    msgid: h["msgid"] ?? "",
    pri: Number(h["pri"]),
    facility: Number(h["facility"]),
    severity: Number(h["severity"]),
    protocolVersion: h["protocol"] ?? "",
    msg,
    ...(o.event.cef === undefined ? {} : { cef: o.event.cef }),
    ...(o.event["unparsed-data"] === undefined ? {} : { unparsed: o.event["unparsed-data"] }),
  };
}

export async function startRsyslog(o: RsyslogOptions = {}): Promise<Rsyslog> {
  const availability = rsyslogAvailable();
  const bin = o.rsyslogdPath ?? (availability.ok ? availability.rsyslogd : undefined);
  if (bin === undefined || !isExecutable(bin)) {
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_TOOL_MISSING",
      `cannot start rsyslog: ${availability.ok ? `${String(bin)} is not executable` : availability.reason}`,
      { details: { setup: RSYSLOG_INSTALL } },
    );
  }
  const address = o.address ?? "127.0.0.1";
  const dir = await mkdtemp(join(o.tmpRoot ?? tmpdir(), "hangar-rsyslog-"));
  let child: ChildProcess | undefined;
  let exited: Promise<string> = Promise.resolve("not started");
  const logFile = join(dir, "rsyslogd.log");
  const outFile = join(dir, "received.jsonl");
  let stopped = false;
  try {
    await makeCerts(dir, address);
    await writeFile(join(dir, "cef.rb"), CEF_RULEBASE);
    const [tcp, tls] = (await freePorts(2)) as [number, number];
    const udp = await freeUdpPort(address);
    const ports = { tcp, tls, udp };
    const conf = join(dir, "rsyslog.conf");
    await writeFile(conf, config(dir, ports, o));
    let probes = 0;

    const launch = async (): Promise<void> => {
      const { openSync, closeSync } = await import("node:fs");
      const fd = openSync(logFile, "a");
      try {
        child = spawn(bin, ["-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")], {
          stdio: ["ignore", fd, fd],
        });
      } finally {
        closeSync(fd);
      }
      const c = child;
      exited = new Promise<string>((resolve) => {
        c.once("error", (err) => resolve(`could not be spawned: ${err.message}`));
        c.once("exit", (code, signal) =>
          resolve(signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`),
        );
      });
      // Ready when a probe sent over TCP and one over UDP come out of the pipeline.
      const deadline = Date.now() + (o.readyTimeoutMs ?? 15_000);
      const probeId = ++probes;
      let tcpSeen = false;
      let udpSeen = false;
      for (;;) {
        const state = await Promise.race([exited.then((w) => w), sleep(100).then(() => undefined)]);
        if (state !== undefined) {
          throw new TestkitError(
            "HANGAR_ERR_TESTKIT_PROCESS_EXITED",
            `rsyslogd ${state} before it was ready. Log:\n${await tail(logFile)}`,
          );
        }
        const text = await readFile(outFile, "utf8").catch(() => "");
        tcpSeen ||= text.includes(`${PROBE}-tcp-${probeId}`);
        udpSeen ||= text.includes(`${PROBE}-udp-${probeId}`);
        if (tcpSeen && udpSeen) return;
        if (Date.now() > deadline) {
          throw new TestkitError(
            "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
            `rsyslogd did not pass probes within ${o.readyTimeoutMs ?? 15_000} ms (tcp ${tcpSeen}, udp ${udpSeen}). Log:\n${await tail(logFile)}`,
          );
        }
        if (!tcpSeen)
          await sendTcp(address, tcp, `<14>1 - - probe - - - ${PROBE}-tcp-${probeId}\n`).catch(
            () => undefined,
          );
        if (!udpSeen)
          await sendUdp(address, udp, `<14>1 - - probe - - - ${PROBE}-udp-${probeId}`).catch(() => undefined);
      }
    };
    const halt = async (signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> => {
      const c = child;
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
      c.kill(signal);
      const done = await Promise.race([
        exited.then(() => true),
        sleep(5_000, undefined, { ref: false }).then(() => false),
      ]);
      if (!done) {
        c.kill("SIGKILL");
        await exited;
      }
    };
    await launch();
    const received = async (): Promise<RsyslogMessage[]> => {
      const text = await readFile(outFile, "utf8").catch(() => "");
      const out: RsyslogMessage[] = [];
      for (const line of text.split("\n")) {
        if (line === "") continue;
        const m = parseLine(line);
        if (m !== undefined) out.push(m);
      }
      return out;
    };
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await halt("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    };
    return {
      host: address,
      ports,
      caFile: join(dir, "ca.crt"),
      clientCertFile: join(dir, "client.crt"),
      clientKeyFile: join(dir, "client.key"),
      serverName: "localhost",
      dir,
      logFile,
      get pid() {
        return child?.pid ?? -1;
      },
      received,
      async waitFor(n, timeoutMs = 10_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const got = await received();
          if (got.length >= n) return got;
          if (Date.now() > deadline) {
            throw new TestkitError(
              "HANGAR_ERR_TESTKIT_READY_TIMEOUT",
              `rsyslog received ${got.length} of ${n} messages within ${timeoutMs} ms. Log:\n${await tail(logFile)}`,
            );
          }
          await sleep(50);
        }
      },
      pause: halt,
      resume: launch,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  } catch (err) {
    if (child !== undefined && child.exitCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
    if (err instanceof TestkitError) throw err;
    throw new TestkitError("HANGAR_ERR_TESTKIT_SETUP_FAILED", `starting rsyslog: ${String(err)}`, {
      cause: err,
    });
  }
}

async function tail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, "utf8").catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n") || "(log is empty)";
}

function sendTcp(host: string, port: number, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => s.end(data, () => resolve()));
    s.on("error", reject);
  });
}

function sendUdp(host: string, port: number, data: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.send(data, port, host, (err) => {
      s.close();
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Parses CEF lines with liblognorm's `lognormalizer` (rule `%cef:cef%`), one result per
 * line: the parsed object, or `{ unparsed }` when liblognorm rejected the line.
 */
export async function lognormalizeCef(lines: readonly string[]): Promise<Record<string, unknown>[]> {
  const dir = await mkdtemp(join(tmpdir(), "hangar-lognorm-"));
  try {
    const rb = join(dir, "cef.rb");
    await writeFile(rb, CEF_RULEBASE);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn("lognormalizer", ["-r", rb, "-e", "json"], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      p.on("error", reject);
      p.on("close", (code) =>
        code === 0 ? resolve(stdout) : reject(new Error(`lognormalizer exited ${code}: ${stderr}`)),
      );
      p.stdin.end(lines.map((l) => `${l}\n`).join(""));
    });
    return out
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        return o["unparsed-data"] !== undefined ? { unparsed: o["unparsed-data"] } : o;
      });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
