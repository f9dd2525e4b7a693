/** The OpenAPI 3.1 document of the REST API, served at `/openapi.json`; route schemas come from `app.ts`. */
import { schemas } from "./schemas.js";

const err = { $ref: "#/components/schemas/Error" };
const errors = (...codes: number[]): Record<string, unknown> =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      { description: DESCR[c] ?? "error", content: { "application/json": { schema: err } } },
    ]),
  );
const DESCR: Record<number, string> = {
  400: "invalid request (the message names the field)",
  401: "no or unknown bearer token",
  403: "the token's role is not enough",
  404: "not found",
  409: "conflict: a newer enforcement sits on the object, or it is not applied",
  502: "the Kubernetes API failed",
};

function queryParams(schema: { properties: Record<string, unknown> }): unknown[] {
  return Object.entries(schema.properties).map(([name, s]) => ({
    name,
    in: "query",
    required: false,
    schema: s,
  }));
}

export function openApiDocument(): Record<string, unknown> {
  const secured = [{ bearer: [] }];
  const json = (schema: unknown, description = "OK"): Record<string, unknown> => ({
    description,
    content: { "application/json": { schema } },
  });
  return {
    openapi: "3.1.0",
    info: {
      title: "hangar-controller API",
      version: "1",
      description:
        "Providers and baselines, alerts, and enforcements of MCP Hangar. Bearer tokens: role read for GET, admin for POST.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } } },
          },
        },
        Enforcement: {
          type: "object",
          description: "An enforcement record (request, mode, state, manifest, diff, prior, history)",
        },
        EnforcementRequest: schemas.enforcementBody,
      },
    },
    paths: {
      "/healthz": { get: { summary: "liveness", responses: { "200": json({ type: "object" }) } } },
      "/readyz": {
        get: {
          summary: "readiness (and whether this replica leads)",
          responses: { "200": json({ type: "object" }), "503": json({ type: "object" }, "not ready") },
        },
      },
      "/openapi.json": { get: { summary: "this document", responses: { "200": json({ type: "object" }) } } },
      "/v1/providers": {
        get: {
          summary: "providers and their baseline state",
          security: secured,
          responses: { "200": json({ type: "object" }), ...errors(401, 403) },
        },
      },
      "/v1/providers/{name}/baseline": {
        get: {
          summary: "one provider's learned baseline",
          security: secured,
          parameters: [
            { name: "name", in: "path", required: true, schema: schemas.nameParams.properties.name },
          ],
          responses: { "200": json({ type: "object" }), ...errors(400, 401, 403, 404) },
        },
      },
      "/v1/alerts": {
        get: {
          summary: "recent alerts, filtered; with follow=true (or ?follow) a text/event-stream of them",
          security: secured,
          parameters: queryParams(schemas.alertsQuery),
          responses: {
            "200": {
              description: "alerts, or a server-sent event stream (event: alert, data: the alert as JSON)",
              content: {
                "application/json": { schema: { type: "object" } },
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            ...errors(400, 401, 403),
          },
        },
      },
      "/v1/enforcements": {
        get: {
          summary: "enforcements, newest first",
          security: secured,
          parameters: queryParams(schemas.enforcementsQuery),
          responses: { "200": json({ type: "object" }), ...errors(400, 401, 403, 502) },
        },
        post: {
          summary: "request an enforcement by hand (mode and limits apply as to any request)",
          security: secured,
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/EnforcementRequest" } } },
          },
          responses: {
            "201": json(
              { $ref: "#/components/schemas/Enforcement" },
              "decided (audited, applied, refused or failed)",
            ),
            "202": json({ $ref: "#/components/schemas/Enforcement" }, "stored for the leader"),
            ...errors(400, 401, 403, 502),
          },
        },
      },
      "/v1/enforcements/{id}": {
        get: {
          summary: "one enforcement with its manifest, diff, prior state and history",
          security: secured,
          parameters: [{ name: "id", in: "path", required: true, schema: schemas.idParams.properties.id }],
          responses: {
            "200": json({ $ref: "#/components/schemas/Enforcement" }),
            ...errors(400, 401, 403, 404),
          },
        },
      },
      "/v1/enforcements/{id}/revert": {
        post: {
          summary:
            "undo an enforcement: the prior object is restored exactly (deleted if the enforcement created it)",
          security: secured,
          parameters: [{ name: "id", in: "path", required: true, schema: schemas.idParams.properties.id }],
          responses: {
            "200": json({ $ref: "#/components/schemas/Enforcement" }),
            "202": json(
              { $ref: "#/components/schemas/Enforcement" },
              "asked on a replica without the Lease and not yet carried out by the leader; the record carries revertRequest",
            ),
            ...errors(400, 401, 403, 404, 409, 502),
          },
        },
      },
    },
  };
}
