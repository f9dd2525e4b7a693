/**
 * `@modelcontextprotocol/sdk`'s declarations name the DOM type `HeadersInit`, which Node's types
 * provide only as an export of undici-types (no DOM lib, skipLibCheck off). This declares it for
 * testkit's own compilation, as `controller/src/proxy/sdk-globals.ts` does for the controller and
 * every workspace that imports it. It is a `.d.ts` outside testkit's emitted declarations, so a
 * workspace that imports `@hangar/testkit/mcp` and the controller sees one declaration, not two.
 */
import type { HeadersInit as UndiciHeadersInit } from "undici-types";

declare global {
  type HeadersInit = UndiciHeadersInit;
}
