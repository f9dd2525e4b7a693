// Licensing of the enterprise modules: documents, keys, the decision and its runtime gate.
export * from "./cluster.js";
export * from "./gate.js";
export * from "./jcs.js";
export * from "./keys.js";
export * from "./license.js";
export * from "./policy.js";
export * from "./setup.js";
