/**
 * The controller's REST API as a fastify factory: `buildApp(opts)` wires the
 * routes to the enforcer, the alert store and the baseline view, and is tested
 * with `inject()`; only `server.ts` listens. Errors are JSON
 * `{ "error": { "code", "message" } }` with a fitting status, every one of them: the
 * framework's own (body too large, media type, invalid JSON, a request the HTTP parser
 * refused) are mapped to the documented `HANGAR_ERR_API_*` codes, never passed through.
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ControllerError } from "../errors.js";
import type { Enforcer } from "../enforce/engine.js";
import type { BaselineViewPort } from "../baselines/baselines.js";
import type { EnforcementRecord } from "../enforce/store.js";
import type { ACTIONS } from "../enforce/policy.js";
import type { AlertFilter, AlertStore } from "./alerts.js";
import { Followers, type FollowOptions } from "./follow.js";
import type { Authenticator, Principal, Role } from "./auth.js";
import { openApiDocument } from "./openapi.js";
import { schemas } from "./schemas.js";

export interface AppOptions {
  enforcer: Enforcer;
  alerts: AlertStore;
  baseline: BaselineViewPort;
  auth: Authenticator;
  /** Whether the controller is ready (for /readyz); reasons when not. */
  ready?: () => Promise<{ ready: boolean; checks: Record<string, string> }>;
  /** Whether this replica holds the Lease (reported by /readyz and on enforcement routes). */
  isLeader?: () => boolean;
  /** fastify logger option (default off). */
  logger?: boolean;
  /** SSE keep-alive comment interval. Default 15 s. */
  keepAliveMs?: number;
  /** Bounds of `?follow` (buffered bytes per follower, grace of a dropped one) and its counters. */
  follow?: Omit<FollowOptions, "keepAliveMs">;
}

declare module "fastify" {
  interface FastifyRequest {
    principal?: Principal;
  }
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/** Request bodies larger than this are refused with 413 (fastify's default, said in the docs). */
export const API_BODY_LIMIT = 1024 * 1024;
/** Request header fields larger than this are refused with 431 (node's default, said in the docs). */
export const API_HEADER_LIMIT = 16 * 1024;

type FrameworkError = Error & {
  validation?: unknown;
  validationContext?: string;
  statusCode?: number;
  code?: string;
};

/** A framework error (fastify's FST_ERR_*, or any other) as a status and a documented code. */
function mapError(err: FrameworkError): { status: number; code: string; message: string } {
  if (err.validation !== undefined)
    return {
      status: 400,
      code: "HANGAR_ERR_API_REQUEST",
      message: `${err.validationContext ?? "request"}: ${err.message}`,
    };
  if (err instanceof ControllerError) {
    const status =
      err.code === "HANGAR_ERR_ENFORCE_NOT_FOUND"
        ? 404
        : err.code === "HANGAR_ERR_ENFORCE_CONFLICT"
          ? 409
          : err.code === "HANGAR_ERR_ENFORCE_REQUEST" || err.code === "HANGAR_ERR_API_REQUEST"
            ? 400
            : 502;
    return { status, code: err.code, message: err.message };
  }
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        status: 413,
        code: "HANGAR_ERR_API_TOO_LARGE",
        message: `body: larger than ${API_BODY_LIMIT} bytes`,
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return {
        status: 415,
        code: "HANGAR_ERR_API_MEDIA_TYPE",
        message: "body: content-type must be application/json",
      };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return {
        status: 400,
        code: "HANGAR_ERR_API_REQUEST",
        message: "body: empty, with content-type application/json",
      };
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return {
        status: 400,
        code: "HANGAR_ERR_API_REQUEST",
        message: "body: its length does not match content-length",
      };
    default:
      break;
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500)
    return { status: 400, code: "HANGAR_ERR_API_REQUEST", message: `request: ${err.message}` };
  return {
    status: 500,
    code: "HANGAR_ERR_API_INTERNAL",
    message: "internal error; the controller's log has the cause",
  };
}

/**
 * The JSON body parser: JSON.parse, with a message that says where the JSON breaks, and
 * keys that would poison a prototype (`__proto__`, `constructor.prototype`) refused by name.
 */
function parseJsonBody(text: string): unknown {
  if (text === "") throw Object.assign(new Error("empty body"), { code: "FST_ERR_CTP_EMPTY_JSON_BODY" });
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (
        key === "__proto__" ||
        (key === "constructor" && typeof value === "object" && value !== null && "prototype" in value)
      )
        throw new ForbiddenKey(key === "__proto__" ? "__proto__" : "constructor.prototype");
      return value;
    });
  } catch (err) {
    if (err instanceof ForbiddenKey)
      throw new ControllerError(
        "HANGAR_ERR_API_REQUEST",
        `body: the key ${err.key} is not allowed (it could poison a prototype)`,
      );
    throw new ControllerError(
      "HANGAR_ERR_API_REQUEST",
      `body: not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

class ForbiddenKey extends Error {
  constructor(readonly key: string) {
    super(key);
  }
}

/**
 * A request node's HTTP parser refused before fastify saw it (header fields too large,
 * malformed, too slow): answered in the API's error shape, then the connection closes.
 */
function clientError(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "HANGAR_ERR_API_TOO_LARGE", `headers: larger than ${API_HEADER_LIMIT} bytes`]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "HANGAR_ERR_API_REQUEST", "request: not received in time"]
        : [400, "HANGAR_ERR_API_REQUEST", "request: not a valid HTTP request"];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: "array", allErrors: false } },
    // Errors fastify raises before routing (a path that is not valid percent-encoding, `%ZZ`)
    // get the documented shape too, not fastify's own body with FST_ERR_BAD_URL.
    frameworkErrors: (err, _req, reply) => {
      const e =
        err.code === "FST_ERR_BAD_URL"
          ? {
              status: 400,
              code: "HANGAR_ERR_API_REQUEST",
              message: `the path is not valid percent-encoding: ${err.message}`,
            }
          : mapError(err);
      void (reply as unknown as FastifyReply).code(e.status).send(errorBody(e.code, e.message));
    },
    bodyLimit: API_BODY_LIMIT,
    clientErrorHandler: clientError,
  });
  const isLeader = opts.isLeader ?? (() => true);
  const followers = new Followers({
    ...opts.follow,
    ...(opts.keepAliveMs !== undefined ? { keepAliveMs: opts.keepAliveMs } : {}),
  });

  // JSON only: no text/plain body reaches a route (415), and JSON is parsed here (above).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err: FrameworkError, req, reply) => {
    const e = mapError(err);
    if (e.status === 500) req.log.error({ err }, "REST API request failed");
    return reply.code(e.status).send(errorBody(e.code, e.message));
  });
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(errorBody("HANGAR_ERR_API_NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`)),
  );

  const guard =
    (need: Role) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const r = await opts.auth.check(req.headers.authorization, need);
      if (!r.ok) {
        if (r.status === 401) void reply.header("www-authenticate", 'Bearer realm="hangar-controller"');
        await reply
          .code(r.status)
          .send(
            errorBody(
              r.status === 401 ? "HANGAR_ERR_API_UNAUTHENTICATED" : "HANGAR_ERR_API_FORBIDDEN",
              r.message,
            ),
          );
        return;
      }
      req.principal = r.principal;
    };

  app.get("/healthz", () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const r = opts.ready !== undefined ? await opts.ready() : { ready: true, checks: {} };
    return reply
      .code(r.ready ? 200 : 503)
      .send({ status: r.ready ? "ready" : "not ready", leader: isLeader(), checks: r.checks });
  });
  app.get("/openapi.json", () => openApiDocument());

  app.get("/v1/providers", { onRequest: guard("read") }, async () => ({
    providers: await opts.baseline.providers(),
  }));
  app.get<{ Params: { name: string } }>(
    "/v1/providers/:name/baseline",
    { onRequest: guard("read"), schema: { params: schemas.nameParams } },
    async (req, reply) => {
      const b = await opts.baseline.baseline(req.params.name);
      if (b === undefined)
        return reply
          .code(404)
          .send(errorBody("HANGAR_ERR_API_NOT_FOUND", `provider ${req.params.name} has no baseline`));
      return b;
    },
  );

  app.get<{ Querystring: AlertFilter & { limit: number; follow: boolean } }>(
    "/v1/alerts",
    {
      onRequest: guard("read"),
      schema: { querystring: schemas.alertsQuery },
      // `?follow` without a value means follow.
      preValidation: (req, _reply, done) => {
        const q = req.query as unknown as Record<string, unknown>;
        if (q["follow"] === "") q["follow"] = "true";
        done();
      },
    },
    (req, reply) => {
      const { limit, follow, ...filter } = req.query;
      const backlog = opts.alerts.list(filter, limit);
      if (!follow) return reply.send({ alerts: backlog });
      // Server-sent events: the backlog, then every new match, until the client goes or
      // stops reading (./follow.ts bounds what a follower may hold).
      reply.hijack();
      followers.follow(reply.raw, opts.alerts, filter, backlog);
      return reply;
    },
  );

  app.get<{ Querystring: { provider?: string; namespace?: string; state?: string; limit: number } }>(
    "/v1/enforcements",
    { onRequest: guard("read"), schema: { querystring: schemas.enforcementsQuery } },
    async (req) => {
      const q = req.query;
      const all = (await opts.enforcer.list())
        .filter(
          (r) =>
            (q.provider === undefined || r.request.provider === q.provider) &&
            (q.namespace === undefined || r.request.namespace === q.namespace) &&
            (q.state === undefined || r.state === q.state),
        )
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .slice(0, q.limit);
      return { enforcements: all.map(summary) };
    },
  );
  app.get<{ Params: { id: string } }>(
    "/v1/enforcements/:id",
    { onRequest: guard("read"), schema: { params: schemas.idParams } },
    async (req, reply) => {
      const r = await opts.enforcer.get(req.params.id);
      if (r === undefined)
        return reply
          .code(404)
          .send(errorBody("HANGAR_ERR_ENFORCE_NOT_FOUND", `no enforcement ${req.params.id}`));
      return r;
    },
  );
  app.post<{
    Body: {
      provider: string;
      namespace: string;
      action: (typeof ACTIONS)[number];
      id?: string;
      alertId?: string;
      destination?: string;
      ttlSeconds?: number;
      reason?: string;
    };
  }>(
    "/v1/enforcements",
    { onRequest: guard("admin"), schema: { body: schemas.enforcementBody } },
    async (req, reply) => {
      const b = req.body;
      const who = `hangar-ctl:${req.principal?.user ?? "?"}`;
      const r = await opts.enforcer.submit(
        {
          id: b.id ?? "",
          alertId: b.alertId ?? "",
          ruleId: "",
          provider: b.provider,
          namespace: b.namespace,
          action: b.action,
          ...(b.destination !== undefined ? { destination: b.destination } : {}),
          ...(b.ttlSeconds !== undefined ? { ttlSeconds: b.ttlSeconds } : {}),
          ...(b.reason !== undefined ? { reason: b.reason } : {}),
        },
        who,
      );
      return reply.code(r.state === "pending" ? 202 : 201).send(r);
    },
  );
  app.post<{ Params: { id: string } }>(
    "/v1/enforcements/:id/revert",
    { onRequest: guard("admin"), schema: { params: schemas.idParams } },
    async (req, reply) => {
      // On a replica without the Lease the revert is handed to the leader; 202 when it has
      // not finished within the wait (the record carries the request).
      const r = await opts.enforcer.revert(req.params.id, `hangar-ctl:${req.principal?.user ?? "?"}`);
      return reply.code(r.revertRequest !== undefined ? 202 : 200).send(r);
    },
  );
  return app;
}

/** A list row: the record without the manifests and history. */
export function summary(r: EnforcementRecord): Record<string, unknown> {
  return {
    id: r.id,
    state: r.state,
    mode: r.mode,
    action: r.request.action,
    provider: r.request.provider,
    namespace: r.request.namespace,
    destination: r.request.destination ?? "",
    object: r.objectKind !== undefined ? `${r.objectKind}/${r.objectName ?? ""}` : "",
    alertId: r.request.alertId,
    actor: r.actor,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt ?? "",
    error: r.error ?? "",
  };
}
