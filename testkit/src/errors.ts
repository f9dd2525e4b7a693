/**
 * The testkit's one error class, with a closed set of codes. Every code is listed in
 * `testkit/README.md`; a test keeps the two in step.
 */
export const TestkitErrorCodes = {
  HANGAR_ERR_TESTKIT_TOOL_MISSING:
    "a Kubernetes tool binary (etcd, kube-apiserver, ...) or openssl is not installed",
  HANGAR_ERR_TESTKIT_SETUP_FAILED:
    "preparing the control plane failed (temp dir, certificates, keys, free ports)",
  HANGAR_ERR_TESTKIT_PROCESS_EXITED:
    "etcd or kube-apiserver exited (or could not be spawned) before it was ready",
  HANGAR_ERR_TESTKIT_READY_TIMEOUT:
    "etcd /health or kube-apiserver /readyz did not succeed within the timeout",
} as const;

export type TestkitErrorCode = keyof typeof TestkitErrorCodes;

export class TestkitError extends Error {
  override readonly name = "TestkitError";
  readonly code: TestkitErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: TestkitErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
  }
}
