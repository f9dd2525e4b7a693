/** One line per event, for people (the local stack, debugging). */
import { hangar } from "@hangar/proto";
import type { RuntimeEvent } from "./ports.js";

function hhmmss(ev: RuntimeEvent): string {
  const t = ev.time;
  if (t === undefined) return "--:--:--.---";
  return new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6)).toISOString().slice(11, 23);
}

export function describeEvent(ev: RuntimeEvent): string {
  const d = ev.detail;
  let what: string;
  switch (d.case) {
    case "exec":
      what = `exec ${ev.process?.binary ?? "?"} ${ev.process?.arguments ?? ""}`.trimEnd();
      break;
    case "exit":
      what = `exit ${ev.process?.binary ?? "?"} status=${d.value.status}${d.value.signal === "" ? "" : ` signal=${d.value.signal}`}`;
      break;
    case "connect":
      what = `connect ${ev.process?.binary ?? "?"} → ${d.value.destinationIp}:${d.value.destinationPort}/${d.value.protocol || "?"} (${d.value.hook})`;
      break;
    case "dns":
      what = `dns ${d.value.response ? "answer" : "query"} ${d.value.query}${d.value.ips.length > 0 ? ` → ${d.value.ips.join(",")}` : ""}`;
      break;
    case "file":
      what = `file ${(hangar.FileOperation[d.value.operation] ?? "?").toLowerCase()} ${d.value.path} by ${ev.process?.binary ?? "?"}`;
      break;
    case "flow":
      what = `flow ${d.value.direction} ${d.value.sourceIp}:${d.value.sourcePort} → ${d.value.destinationIp}:${d.value.destinationPort}/${d.value.protocol} ${d.value.verdict}${d.value.destinationNames.length > 0 ? ` (${d.value.destinationNames.join(",")})` : ""}`;
      break;
    case "privilege":
      what = `privilege ${d.value.hook}${d.value.targetUid === undefined ? "" : ` uid→${d.value.targetUid}`}${d.value.targetGid === undefined ? "" : ` gid→${d.value.targetGid}`}${d.value.denied ? " (denied)" : ""}`;
      break;
    case "socket":
      what = `socket ${d.value.operation || "?"} ${ev.process?.binary ?? "?"} ${d.value.localIp}:${d.value.localPort}${d.value.remoteIp === "" ? "" : ` ↔ ${d.value.remoteIp}:${d.value.remotePort}`} ${[d.value.family, d.value.type, d.value.protocol].filter((x) => x !== "").join("/")} (${d.value.hook})`;
      break;
    case "dup":
      what = `dup ${ev.process?.binary ?? "?"} fd ${d.value.oldFd ?? "?"} → ${d.value.newFd ?? "?"} (${d.value.target}${d.value.path === "" ? "" : ` ${d.value.path}`})`;
      break;
    case "module":
      what = `module ${d.value.operation} ${d.value.name || d.value.path} by ${ev.process?.binary ?? "?"}`;
      break;
    case "namespace":
      what = `namespace ${d.value.operation} ${d.value.types.join(",") || "?"} by ${ev.process?.binary ?? "?"}`;
      break;
    case "ptrace":
      what = `ptrace ${d.value.request} pid ${d.value.targetPid ?? "?"} by ${ev.process?.binary ?? "?"}`;
      break;
    case "mount":
      what = `mount ${d.value.operation} ${d.value.source} on ${d.value.target}${d.value.fstype === "" ? "" : ` (${d.value.fstype})`} by ${ev.process?.binary ?? "?"}`;
      break;
    case "ioUring":
      what = `io_uring ${d.value.operation} by ${ev.process?.binary ?? "?"}`;
      break;
    case "toolCall":
      what = `tool_call ${d.value.trace?.method ?? ""} ${d.value.trace?.tool ?? ""}`;
      break;
    case undefined:
      what = "event";
      break;
  }
  const pod = ev.pod === undefined ? "" : `${ev.pod.namespace}/${ev.pod.name}`;
  const sensor = (hangar.Sensor[ev.sensor] ?? "?").toLowerCase();
  const call = ev.attributions[0];
  const n = ev.attributions.length;
  // How the call was found, when it is not the plain case (one call in flight):
  // by lineage (the process was started by the call), and how unsure overlapping calls make it.
  const how = [
    call?.reason === hangar.AttributionReason.LINEAGE ? "via lineage" : "",
    n > 1 ? `1 of ${n} overlapping calls, confidence ${call?.confidence.toFixed(2) ?? "?"}` : "",
  ]
    .filter((x) => x !== "")
    .join("; ");
  const during =
    call === undefined
      ? ""
      : `  ← during ${call.tool} (session ${call.sessionId}, caller ${call.caller})${how === "" ? "" : ` [${how}]`}`;
  return `${hhmmss(ev)}  ${ev.provider.padEnd(10)} ${sensor.padEnd(8)} ${what}  [${pod}]${during}`;
}
