/** JSON schemas of the REST API's inputs: route validation and the OpenAPI document share them. */
import { ACTIONS } from "../enforce/policy.js";

const STATES = ["pending", "audited", "applied", "reverted", "expired", "refused", "failed"];

export const schemas = {
  alertsQuery: {
    type: "object",
    additionalProperties: false,
    properties: {
      provider: { type: "string", minLength: 1 },
      rule: { type: "string", minLength: 1 },
      severity: { type: "string", enum: ["info", "low", "medium", "high", "critical"] },
      since: { type: "string", format: "date-time" },
      limit: { type: "integer", minimum: 1, maximum: 10000, default: 100 },
      follow: { type: "boolean", default: false },
    },
  },
  enforcementsQuery: {
    type: "object",
    additionalProperties: false,
    properties: {
      provider: { type: "string", minLength: 1 },
      namespace: { type: "string", minLength: 1 },
      state: { type: "string", enum: STATES },
      limit: { type: "integer", minimum: 1, maximum: 10000, default: 100 },
    },
  },
  idParams: {
    type: "object",
    properties: { id: { type: "string", pattern: "^e[0-9a-f]{12}$" } },
    required: ["id"],
  },
  nameParams: {
    type: "object",
    properties: { name: { type: "string", pattern: "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" } },
    required: ["name"],
  },
  enforcementBody: {
    type: "object",
    additionalProperties: false,
    required: ["provider", "namespace", "action"],
    properties: {
      id: { type: "string", maxLength: 256 },
      alertId: { type: "string", maxLength: 256 },
      provider: { type: "string", minLength: 1, maxLength: 63 },
      namespace: { type: "string", minLength: 1, maxLength: 63 },
      action: { type: "string", enum: [...ACTIONS] },
      destination: { type: "string", maxLength: 300 },
      ttlSeconds: { type: "integer", minimum: 1 },
      reason: { type: "string", maxLength: 1000 },
    },
  },
} as const;
