import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { hangar } from "@hangar/proto";
import { tidy } from "./compile/lower.js";
import { HangarDetector } from "./detector.js";
import { compileSources } from "./load.js";
import { lookupField } from "./schema.js";
import { runTests } from "./testing.js";
import { testEvent } from "./testevents.js";

const META = `description "d" severity high mitre T1059 maturity stable`;

function compile(src: string) {
  return compileSources(new Map([["f.rules", src]]));
}
function errors(src: string): string[] {
  return compile(src)
    .diagnostics.filter((d) => d.severity === "error")
    .map((d) => `${d.line}:${d.col}: ${d.code}: ${d.message}`);
}
function fires(
  src: string,
  kind: string,
  fields: Record<string, string | number | boolean | string[]>,
): boolean {
  const r = compile(src);
  assert.deepEqual(
    r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message),
    [],
  );
  const det = new HangarDetector({ rules: r.rules, latenessMs: 0 });
  const ev = testEvent(kind, 0, 0, new Map(Object.entries(fields)));
  return (det.process(ev)?.alerts.length ?? 0) > 0;
}

describe("lists may contain lists", () => {
  const base = `list shells = ["sh", "bash"]\nlist tools = [@shells, "nc"]\n`;
  it("a list names another, expanded in place, and a condition's list may too", () => {
    const rule = `${base}rule r { ${META} event exec where process.name in @tools }`;
    assert.equal(fires(rule, "exec", { "process.binary": "/usr/bin/nc" }), true);
    assert.equal(fires(rule, "exec", { "process.binary": "/bin/bash" }), true);
    assert.equal(fires(rule, "exec", { "process.binary": "/bin/ls" }), false);
    const inline = `${base}rule r { ${META} event exec where process.name in [@shells, "ncat"] }`;
    assert.equal(fires(inline, "exec", { "process.binary": "/bin/sh" }), true);
    assert.equal(fires(inline, "exec", { "process.binary": "/usr/bin/ncat" }), true);
  });
  it("a list that contains itself, an unknown list and mixed types are errors at their place", () => {
    assert.match(
      errors(
        `list a = [@b]\nlist b = ["x", @a]\nrule r { ${META} event exec where process.name in @a }`,
      ).join("\n"),
      /HANGAR_ERR_RULE_VALUE: list @a contains itself \(@a → @b → @a\)/,
    );
    assert.match(
      errors(
        `list a = [@shell, "x"]\nlist shells = ["sh"]\nrule r { ${META} event exec where process.name in @a }`,
      ).join("\n"),
      /1:11: HANGAR_ERR_RULE_UNKNOWN_NAME: unknown list @shell \(did you mean @shells\?\)/,
    );
    assert.match(
      errors(
        `list n = [22, 80]\nlist a = [@n, "x"]\nrule r { ${META} event connect where destination.port in @a }`,
      ).join("\n"),
      /HANGAR_ERR_RULE_TYPE: a list mixes number and string values/,
    );
  });
  it("a list used only inside another used list is not reported unused", () => {
    const r = compile(`${base}rule r { ${META} event exec where process.name in @tools }`);
    assert.deepEqual(
      r.diagnostics.filter((d) => d.code === "HANGAR_WARN_RULE_UNUSED").map((d) => d.message),
      [],
    );
  });
});

describe("case-insensitive operators", () => {
  it("icontains, istartswith, iendswith ignore case on both sides, on strings and list fields", () => {
    const rule = (cond: string) => `rule r { ${META} event exec where ${cond} }`;
    assert.equal(
      fires(rule('process.arguments icontains "PASSWORD"'), "exec", { "process.arguments": "--Password x" }),
      true,
    );
    assert.equal(
      fires(rule('process.binary istartswith "/TMP/"'), "exec", { "process.binary": "/tmp/X" }),
      true,
    );
    assert.equal(
      fires(rule('process.binary iendswith [".SH", ".py"]'), "exec", { "process.binary": "/a/b.Sh" }),
      true,
    );
    assert.equal(
      fires(rule('process.binary iendswith ".sh"'), "exec", { "process.binary": "/a/b.py" }),
      false,
    );
    assert.equal(
      fires(rule('process.cap_effective icontains "sys_admin"'), "exec", {
        "process.cap_effective": ["CAP_SYS_ADMIN"],
      }),
      true,
    );
    assert.equal(
      fires(rule("process.arguments icontains process.cwd"), "exec", {
        "process.arguments": "cd /APP",
        "process.cwd": "/app",
      }),
      true,
    );
  });
  it("Falco operators we do not have get a hint at the syntax error", () => {
    assert.match(
      errors(`rule r { ${META} event file where file.path pmatch ["/etc"] }`).join("\n"),
      /HANGAR_ERR_RULE_SYNTAX: .*Falco's pmatch operator: here use startswith/,
    );
    assert.match(
      errors(`rule r { ${META} event exec where process.name in (sh, bash) }`).join("\n"),
      /lists are written in brackets: x in \["a", "b"\]/,
    );
    assert.match(
      errors(`rule r { ${META} event exec where process.name iequals "sh" }`).join("\n"),
      /compare lowercase: lower\(x\) = "…"/,
    );
  });
});

describe("MITRE ids", () => {
  it("accepts tactics (TA0003) beside techniques", () => {
    assert.deepEqual(
      errors(`rule r { description "d" severity high mitre TA0003, T1543 maturity stable event exec }`),
      [],
    );
    assert.match(
      errors(`rule r { description "d" severity high mitre TA03 maturity stable event exec }`).join("\n"),
      /"TA03" is not a MITRE ATT&CK id: a technique \(T1234, T1234\.001\) or a tactic \(TA0003\)/,
    );
  });
});

describe("unknown fields are suggested by meaning", () => {
  const err = (field: string, kind = "exec") =>
    errors(`rule r { ${META} event ${kind} where ${field} = "x" }`).join("\n");
  it("Falco's names map to ours, with what differs", () => {
    assert.match(err("proc.name"), /unknown field "proc.name" \(Falco's proc.name is process.name here\)/);
    assert.match(err("proc.pname"), /Falco's proc.pname is parent.name here/);
    assert.match(err("k8s.ns.name"), /is pod.namespace here/);
    assert.match(
      err("fd.sip", "connect"),
      /Falco's fd.sip is remote.ip here: the server's address; for a connect, destination.ip/,
    );
    assert.match(err("proc.tty"), /Tetragon reports no terminal/);
    assert.match(err("proc.is_exe_upper_layer"), /Falco's proc.is_exe_upper_layer: no equivalent/);
  });
  it("common synonyms map to ours, then spelling", () => {
    assert.match(err("process.cmdline"), /did you mean "process.arguments"/);
    assert.match(err("dst.ip", "connect"), /did you mean "destination.ip"/);
    assert.match(err("process.binari"), /did you mean "process.binary"/);
  });
});

describe("messages without a tool call read well", () => {
  it("a parenthesized part whose values are all empty is left out; a clause of it too", () => {
    const rule = `rule r { ${META} event exec
      message "{process.binary} started (tool {call.tool}, session {session.id}) [{pod.name}]" }`;
    const r = compile(rule);
    const det = new HangarDetector({ rules: r.rules, latenessMs: 0 });
    const bare = testEvent("exec", 0, 0, new Map([["process.binary", "/bin/sh"]]));
    assert.equal(det.process(bare)?.alerts[0]?.message, "/bin/sh started [test-pod]");
    const half = testEvent("exec", 1000, 1, new Map<string, string>([["call.tool", "run"]]));
    assert.equal(det.process(half)?.alerts[0]?.message, "/usr/local/bin/node started (tool run) [test-pod]");
    const full = testEvent(
      "exec",
      2000,
      2,
      new Map<string, string>([
        ["call.tool", "run"],
        ["session.id", "s1"],
      ]),
    );
    assert.equal(
      det.process(full)?.alerts[0]?.message,
      "/usr/local/bin/node started (tool run, session s1) [test-pod]",
    );
  });
  it("parentheses inside values and groups without values are kept as written", () => {
    assert.equal(tidy("a (b) c"), "a (b) c");
    const r = compile(
      `rule r { ${META} event exec message "{process.arguments} (tool {call.tool}) (see docs)" }`,
    );
    const det = new HangarDetector({ rules: r.rules, latenessMs: 0 });
    const ev = testEvent("exec", 0, 0, new Map([["process.arguments", "-c f(1) )("]]));
    assert.equal(det.process(ev)?.alerts[0]?.message, "-c f(1) )( (see docs)");
  });
});

describe("a failing test says which step did not match and why", () => {
  function failures(src: string): string[] {
    const r = compile(src);
    assert.deepEqual(
      r.diagnostics.filter((d) => d.severity === "error"),
      [],
    );
    return runTests(r).flatMap((t) => t.failures);
  }
  it("single event: the closest event and the conjunct that was false, with the values it read", () => {
    const f = failures(`rule r { ${META}
      event exec where process.name in ["curl", "wget"] and parent.name = "sh"
      test "t" {
        at 0s exec { process.binary: "/usr/bin/curl", parent.binary: "/usr/local/bin/node" }
        at 1s exec { process.binary: "/bin/ls" }
        expect match
      }
    }`);
    assert.equal(f.length, 1);
    assert.match(
      f[0] ?? "",
      /expected a match, got none: the exec condition matched none of the 2 exec events; closest is line 4 \(exec at 0s\), where parent.name = "sh" is false \(parent.name is "node"\)/,
    );
  });
  it("sequence: the first step no event satisfies; a test without that kind says so", () => {
    const seq = (events: string) => `rule r { ${META}
      sequence by process.exec_id maxspan 10s {
        conn: connect where destination.port = 4444
        io: dup where dup.new_fd in [0, 1] and dup.target in ["socket", "unknown"]
      }
      test "t" {
        ${events}
        expect match
      }
    }`;
    const noDup = failures(seq(`at 0s connect { destination.ip: "203.0.113.5", destination.port: 4444 }`));
    assert.match(noDup[0] ?? "", /step "io" \(dup\): the test has no dup event/);
    const wrongFd = failures(
      seq(`at 0s connect { destination.port: 4444 }
        at 1s dup { dup.new_fd: 5 }`),
    );
    assert.match(
      wrongFd[0] ?? "",
      /step "io" \(dup\) matched none of the 1 dup event; closest is line 8 \(dup at 1s\), where dup.new_fd in \[…\] is false \(dup.new_fd is 5\)/,
    );
    const apart = failures(
      seq(`at 0s connect { destination.port: 4444, process.exec_id: "a" }
        at 1s dup { dup.new_fd: 0, process.exec_id: "b" }`),
    );
    assert.match(
      apart[0] ?? "",
      /every step matched an event on its own \(conn → line 7 \(connect at 0s\), io → line 8 \(dup at 1s\)\) but they did not join into one match: check the keys \(by process.exec_id\)/,
    );
  });
});

describe("fields for what Tetragon and Hubble report", () => {
  function value(
    kind: string,
    name: string,
    fields: Record<string, string | number | boolean | string[]>,
  ): unknown {
    const def = lookupField(name);
    assert.ok(def !== undefined, name);
    return def.get(testEvent(kind, 0, 0, new Map(Object.entries(fields))));
  }
  it("image repository, tag and digest are split from the image and its id", () => {
    const ev = create(hangar.RuntimeEventSchema, {
      pod: {
        container: {
          image: "ghcr.io/acme/fs-tools-mcp:1.4.2",
          imageId: "ghcr.io/acme/fs-tools-mcp@sha256:9e1c",
        },
      },
    });
    assert.equal(lookupField("container.image.repository")?.get(ev), "ghcr.io/acme/fs-tools-mcp");
    assert.equal(lookupField("container.image.tag")?.get(ev), "1.4.2");
    assert.equal(lookupField("container.image.digest")?.get(ev), "sha256:9e1c");
    const port = create(hangar.RuntimeEventSchema, { pod: { container: { image: "registry:5000/app" } } });
    assert.equal(lookupField("container.image.repository")?.get(port), "registry:5000/app");
    assert.equal(lookupField("container.image.tag")?.get(port), "");
  });
  it("ancestors: the parent first, then the sensor's ancestors; names derived", () => {
    assert.deepEqual(
      value("exec", "process.ancestor_names", { "process.ancestors": ["/bin/sh", "/usr/local/bin/node"] }),
      ["sh", "node"],
    );
    assert.deepEqual(
      value("exec", "parent.ancestors", { "process.ancestors": ["/bin/sh", "/usr/local/bin/node"] }),
      ["/usr/local/bin/node"],
    );
  });
  it("a flow's remote side is whichever side is not the pod", () => {
    const reply = {
      "flow.pod_is_source": false,
      "source.ip": "140.82.112.6",
      "destination.ip": "10.244.1.23",
    };
    assert.equal(value("flow", "remote.ip", reply), "140.82.112.6");
    assert.equal(value("flow", "local.ip", reply), "10.244.1.23");
    assert.equal(value("connect", "network.direction", {}), "egress");
    const ingress = {
      "flow.pod_is_source": false,
      "network.direction": "ingress",
      "remote.pod": "hangar-controller-0",
    };
    assert.equal(value("flow", "remote.pod", ingress), "hangar-controller-0");
    assert.equal(value("flow", "network.direction", ingress), "ingress");
    assert.equal(value("socket", "network.direction", { "socket.operation": "listen" }), "ingress");
  });
  it("hook.return is unset unless the policy asked for it", () => {
    assert.equal(value("privilege", "hook.return", {}), undefined);
    assert.equal(value("privilege", "hook.return", { "hook.return": -1 }), -1);
  });
});
