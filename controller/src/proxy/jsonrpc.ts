/**
 * JSON-RPC 2.0 message checks at the proxy's edge. The SDK's own checks answer
 * "Invalid JSON-RPC message" without saying what is wrong; these name the field
 * (`[1].method: must be a string`) so a client author can fix the request.
 */
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export type RequestId = string | number;

export interface RpcRequest {
  jsonrpc: "2.0";
  id: RequestId;
  method: string;
  params?: Record<string, unknown>;
}

export interface RpcNotification {
  jsonrpc: "2.0";
  method: string;
  params?: Record<string, unknown>;
}

export interface RpcResponse {
  jsonrpc: "2.0";
  id: RequestId;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

/** Largest JSON-RPC batch accepted (the SDK's limit too). */
export const MAX_BATCH = 100;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Why one message is not JSON-RPC 2.0, or undefined when it is. `at` prefixes the field path. */
export function messageProblem(m: unknown, at: string): string | undefined {
  if (!isObject(m)) return `${at || "body"}: must be a JSON object`;
  const p = at === "" ? "" : `${at}.`;
  if (m["jsonrpc"] !== "2.0") return `${p}jsonrpc: must be "2.0"`;
  const hasId = "id" in m;
  const id = m["id"];
  if (hasId && !(typeof id === "string" || (typeof id === "number" && Number.isInteger(id))))
    return `${p}id: must be a string or an integer`;
  if ("method" in m) {
    if (typeof m["method"] !== "string" || m["method"] === "")
      return `${p}method: must be a non-empty string`;
    if ("params" in m && !isObject(m["params"])) return `${p}params: must be an object`;
    return undefined;
  }
  // A response.
  if (!hasId) return `${p}method: missing (a request or notification needs one; a response needs id)`;
  const hasResult = "result" in m;
  const hasError = "error" in m;
  if (hasResult === hasError) return `${p}result/error: a response carries exactly one of them`;
  if (hasResult && !isObject(m["result"])) return `${p}result: must be an object`;
  if (hasError) {
    const e = m["error"];
    if (!isObject(e)) return `${p}error: must be an object`;
    if (typeof e["code"] !== "number" || !Number.isInteger(e["code"]))
      return `${p}error.code: must be an integer`;
    if (typeof e["message"] !== "string") return `${p}error.message: must be a string`;
  }
  return undefined;
}

export type ParsedBody =
  { ok: true; messages: JSONRPCMessage[]; batch: boolean } | { ok: false; code: number; message: string };

/** Checks a parsed POST body: one message or a batch of 1..MAX_BATCH. */
export function checkBody(body: unknown): ParsedBody {
  if (Array.isArray(body)) {
    if (body.length === 0) return { ok: false, code: -32600, message: "body: an empty batch" };
    if (body.length > MAX_BATCH)
      return {
        ok: false,
        code: -32600,
        message: `body: a batch of ${body.length} messages (at most ${MAX_BATCH})`,
      };
    // Requests and responses in one batch each need their own ids: two tools/call with one id
    // both ran, and the caller could tell only one answer from the other (nor could a trace).
    const seen = new Map<string, number>();
    for (let i = 0; i < body.length; i++) {
      const m: unknown = body[i];
      const problem = messageProblem(m, `[${i}]`);
      if (problem !== undefined) return { ok: false, code: -32600, message: problem };
      const msg = m as Record<string, unknown>;
      if (!("id" in msg)) continue;
      const key = `${"method" in msg ? "request" : "response"}:${typeof msg["id"]}:${String(msg["id"])}`;
      const first = seen.get(key);
      if (first !== undefined)
        return {
          ok: false,
          code: -32600,
          message: `[${i}].id: ${JSON.stringify(msg["id"])} is also the id of [${first}]; each ${"method" in msg ? "request" : "response"} of a batch needs its own id`,
        };
      seen.set(key, i);
    }
    return { ok: true, messages: body as JSONRPCMessage[], batch: true };
  }
  const problem = messageProblem(body, "");
  if (problem !== undefined) return { ok: false, code: -32600, message: problem };
  return { ok: true, messages: [body as JSONRPCMessage], batch: false };
}

export function isRequest(m: JSONRPCMessage): m is JSONRPCMessage & RpcRequest {
  return "method" in m && "id" in m;
}

export function isNotification(m: JSONRPCMessage): m is JSONRPCMessage & RpcNotification {
  return "method" in m && !("id" in m);
}

export function isResponse(m: JSONRPCMessage): m is JSONRPCMessage & RpcResponse {
  return !("method" in m) && "id" in m;
}

export function errorResponse(id: RequestId, code: number, message: string, data?: unknown): JSONRPCMessage {
  const error: { code: number; message: string; data?: unknown } = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error };
}

/** The body of an HTTP error answer: a JSON-RPC error with id null. */
export function errorBody(code: number, message: string, data?: unknown): string {
  const error: { code: number; message: string; data?: unknown } = { code, message };
  if (data !== undefined) error.data = data;
  return JSON.stringify({ jsonrpc: "2.0", id: null, error });
}

/** The first protocol revision without JSON-RPC batches (MCP 2025-06-18 removed them). */
export const NO_BATCH_SINCE = "2025-06-18";

/** Why a batch is refused under protocol revision `version` (dates compare as text), or undefined. */
export function batchProblem(version: string | undefined): string | undefined {
  if (version === undefined || version < NO_BATCH_SINCE) return undefined;
  return `body: a JSON-RPC batch, but protocol version ${version} has no batches (removed in ${NO_BATCH_SINCE}): send one message per POST`;
}
