/** Call traces of the MCP proxy as `tool_call` runtime events (sensor: proxy). */
import type { hangar } from "@hangar/proto";
import { EventKind, Sensor, newEvent, newPod, type RuntimeEvent } from "@hangar/core";

/** A call trace as a tool_call runtime event (sensor: proxy). */
export function traceEvent(trace: hangar.CallTrace): RuntimeEvent {
  const ev = newEvent(EventKind.TOOL_CALL, Sensor.PROXY, {
    case: "toolCall",
    value: { $typeName: "hangar.v1.ToolCallDetail", trace },
  });
  ev.id = `call:${trace.traceId}:${trace.spanId}`;
  ev.provider = trace.provider;
  ev.node = trace.node;
  if (trace.startTime !== undefined) ev.time = trace.startTime;
  if (trace.podName !== "" || trace.podNamespace !== "") {
    const pod = newPod(trace.podNamespace, trace.podName, {});
    pod.uid = trace.podUid;
    ev.pod = pod;
  }
  return ev;
}
