// Public API of @hangar/core: the ground every hangar package stands on.
export * from "./args.js";
export * from "./backoff.js";
export * from "./counters.js";
export * from "./describe.js";
export * from "./errors.js";
export * from "./event.js";
export * from "./ipv6.js";
export * from "./memory.js";
export * from "./ports.js";
export * from "./queue.js";
export * from "./spool.js";
export * from "./reports.js";
export * from "./bound.js";
export * from "./hub-protocol.js";
export * from "./license/index.js";
export * from "./proto-json.js";
