import assert from "node:assert/strict";
import { it } from "node:test";
import { destination, runSampleServerCli } from "./sample-server.js";

it("--upstream and --exfil take IP:PORT (IPv6 in brackets) and refuse names and bad ports, naming the flag", async () => {
  assert.deepEqual(destination("127.0.0.1:4443", "--exfil"), { ip: "127.0.0.1", port: 4443 });
  assert.deepEqual(destination("[::1]:443", "--upstream"), { ip: "::1", port: 443 });
  for (const bad of ["api.weather.example:443", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", "::1:443"])
    assert.throws(() => destination(bad, "--exfil"), /--exfil must be IP:PORT/, bad);
  let err = "";
  const code = await runSampleServerCli(
    ["--exfil", "evil.example:443"],
    { stdout: () => undefined, stderr: (s) => (err += s) },
    AbortSignal.abort(),
  );
  assert.equal(code, 2);
  assert.match(err, /--exfil must be IP:PORT/);
});
