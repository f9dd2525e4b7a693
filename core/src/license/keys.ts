/**
 * The maintainers' public keys that licenses are checked against, built into every release.
 * The private halves never enter the repository (docs/licensing.md: issuing and rotating).
 * To rotate, a new key is appended here and released before licenses signed with it are
 * issued; an old key stays until the licenses it signed have expired past their grace.
 */
import type { TrustedLicenseKey } from "./license.js";

export const BUILTIN_LICENSE_KEYS: readonly TrustedLicenseKey[] = [
  {
    keyId: "hangar-2026-1",
    publicKey: `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAFcUMR/TH1c3DPeretQTBea11s06Kntp4Xo4A1peCjS8=
-----END PUBLIC KEY-----
`,
  },
];
