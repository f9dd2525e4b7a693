/**
 * `@modelcontextprotocol/sdk`'s declarations name the DOM type `HeadersInit`,
 * which Node's types provide only as an export of undici-types (this repository
 * compiles without the DOM lib and with skipLibCheck off). This declares it the
 * way Node's own fetch defines it. `proxy/index.ts` imports this module, so a
 * workspace that imports `@hangar/controller` gets the declaration too.
 */
import type { HeadersInit as UndiciHeadersInit } from "undici-types";

declare global {
  type HeadersInit = UndiciHeadersInit;
}

export {};
