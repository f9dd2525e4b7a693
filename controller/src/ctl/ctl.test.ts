import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { usageError, type CtlCommand, type CtlIO } from "./command.js";
import { ctl } from "./ctl.js";

function capture(): CtlIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (t: string) => {
      io.out += t;
    },
    stderr: (t: string) => {
      io.err += t;
    },
  };
  return io;
}

const fake: CtlCommand = {
  name: "echo",
  summary: "prints its arguments",
  run(args, io) {
    if (args[0] === "--bad") throw usageError("--bad is not an option");
    if (args[0] === "--fail") throw Object.assign(new Error("it broke"), { code: "HANGAR_ERR_X" });
    io.stdout(`${args.join(" ")}\n`);
    return Promise.resolve(0);
  },
};

describe("hangar-ctl", () => {
  it("lists the commands on --help (exit 0) and without a command (exit 2, on stderr)", async () => {
    const help = capture();
    assert.equal(await ctl(["--help"], help, [fake]), 0);
    assert.match(help.out, /^ {2}echo\s+prints its arguments$/m);
    const none = capture();
    assert.equal(await ctl([], none, [fake]), 2);
    assert.equal(none.out, "");
    assert.match(none.err, /Usage: hangar-ctl <command>/);
  });

  it("rejects an unknown command with exit 2", async () => {
    const io = capture();
    assert.equal(await ctl(["frobnicate"], io, [fake]), 2);
    assert.match(io.err, /unknown command "frobnicate"/);
  });

  it("runs a command with the rest of the words", async () => {
    const io = capture();
    assert.equal(await ctl(["echo", "a", "b"], io, [fake]), 0);
    assert.equal(io.out, "a b\n");
  });

  it("turns a usage error into exit 2 and any other error into exit 1 with its code", async () => {
    const usage = capture();
    assert.equal(await ctl(["echo", "--bad"], usage, [fake]), 2);
    assert.match(usage.err, /hangar-ctl echo: --bad is not an option\nRun 'hangar-ctl echo --help'/);
    const fail = capture();
    assert.equal(await ctl(["echo", "--fail"], fail, [fake]), 1);
    assert.equal(fail.err, "hangar-ctl echo: HANGAR_ERR_X: it broke\n");
  });
});
