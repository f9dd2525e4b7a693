/** Free loopback TCP ports for the processes the test harnesses start. */
import { createServer } from "node:net";
import { TestkitError } from "./errors.js";

/** `n` distinct free ports on 127.0.0.1 (all held at once, so the kernel hands out n different ones). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const srv = createServer();
      return new Promise<{ srv: typeof srv; port: number }>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => {
          const addr = srv.address();
          if (addr === null || typeof addr === "string") reject(new Error("no port assigned"));
          else resolve({ srv, port: addr.port });
        });
      });
    }),
  ).catch((cause: unknown) => {
    throw new TestkitError(
      "HANGAR_ERR_TESTKIT_SETUP_FAILED",
      `cannot find free loopback ports: ${String(cause)}`,
      { cause },
    );
  });
  await Promise.all(servers.map(({ srv }) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  return servers.map(({ port }) => port);
}
