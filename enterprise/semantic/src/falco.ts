/**
 * Falco's field names and operators, and what stands for each in the Hangar rule language:
 * the unknown-field diagnostic suggests by meaning from this table (before spelling), and
 * docs/reference/coming-from-falco.md prints it (a test keeps the two in step).
 */

export interface FieldMapping {
  /** Our field, when there is one. */
  field?: string;
  /** What else to know (a different shape, or why there is no equivalent). */
  note?: string;
}

/** Falco field → ours. */
export const FALCO_FIELDS: Readonly<Record<string, FieldMapping>> = {
  "evt.type": { note: "the event kind: write `event exec`, `event connect`, `event file`, … instead" },
  "evt.rawres": { field: "hook.return" },
  "evt.res": { field: "hook.return", note: "a number: 0, or a negative errno for a failure" },
  "evt.arg": { field: "hook.args", note: "the hook's arguments as text" },
  "evt.is_open_read": { field: "file.operation", note: 'file.operation in ["open", "read"]' },
  "evt.is_open_write": { field: "file.operation", note: 'file.operation = "write"' },
  "proc.name": { field: "process.name" },
  "proc.exe": { field: "process.binary" },
  "proc.exepath": { field: "process.binary" },
  "proc.args": { field: "process.arguments" },
  "proc.cmdline": {
    field: "process.arguments",
    note: "the arguments without the name; the name is process.name",
  },
  "proc.pid": { field: "process.pid" },
  "proc.ppid": { field: "parent.pid" },
  "proc.pname": { field: "parent.name" },
  "proc.pexepath": { field: "parent.binary" },
  "proc.pcmdline": { field: "parent.arguments" },
  "proc.aname": {
    field: "process.ancestor_names",
    note: 'a list (parent first): `process.ancestor_names contains "bash"`',
  },
  "proc.anames": { field: "process.ancestor_names" },
  "proc.cwd": { field: "process.cwd" },
  "proc.tty": {
    field: "process.in_init_tree",
    note: "Tetragon reports no terminal; `process.in_init_tree = false` marks a process started outside the container's init tree (kubectl exec, nsenter)",
  },
  "proc.is_exe_from_memfd": { field: "process.binary_deleted" },
  "proc.is_exe_upper_layer": {
    note: "no equivalent (Tetragon does not say which overlay layer a binary is on); write-then-run is hangar.exec.download_then_execute",
  },
  "proc.vpid": { note: "no equivalent: pids are the host's (process.pid)" },
  "user.uid": { field: "process.uid" },
  "user.name": { field: "process.user" },
  "user.loginuid": { field: "process.auid" },
  "group.gid": { field: "process.gid" },
  "thread.cap_effective": { field: "process.cap_effective" },
  "thread.cap_permitted": { field: "process.cap_permitted" },
  "container.id": { field: "container.id" },
  "container.name": { field: "container.name" },
  "container.image": { field: "container.image" },
  "container.image.repository": { field: "container.image.repository" },
  "container.image.tag": { field: "container.image.tag" },
  "container.image.digest": { field: "container.image.digest" },
  "container.privileged": { field: "container.privileged" },
  "k8s.ns.name": { field: "pod.namespace" },
  "k8s.pod.name": { field: "pod.name" },
  "k8s.pod.uid": { field: "pod.uid" },
  "k8s.pod.ip": { field: "pod.ip" },
  "k8s.pod.label": { field: "pod.labels", note: 'a list of key=value: `pod.labels contains "app=web"`' },
  "k8s.pod.labels": { field: "pod.labels" },
  "fd.name": { field: "file.path", note: "for files; for connections remote.ip and remote.port" },
  "fd.directory": { field: "file.dir" },
  "fd.filename": { field: "file.name" },
  "fd.sip": { field: "remote.ip", note: "the server's address; for a connect, destination.ip" },
  "fd.sport": { field: "remote.port" },
  "fd.cip": { field: "local.ip" },
  "fd.cport": { field: "local.port" },
  "fd.rip": { field: "remote.ip" },
  "fd.rport": { field: "remote.port" },
  "fd.lip": { field: "local.ip" },
  "fd.lport": { field: "local.port" },
  "fd.sip.name": {
    field: "destination.names",
    note: "the names the pod's own DNS answers gave for the address",
  },
  "fd.rip.name": { field: "remote.names" },
  "fd.l4proto": { field: "protocol" },
  "fd.num": { field: "dup.new_fd", note: "on dup events: the descriptor written" },
  "fd.type": { field: "dup.target", note: "on dup events; socket.family on socket events" },
};

/** Names people reach for that mean one of our fields (not Falco's): suggested by meaning. */
export const SYNONYMS: Readonly<Record<string, string>> = {
  "process.cmdline": "process.arguments",
  "process.args": "process.arguments",
  "process.argv": "process.arguments",
  "process.exe": "process.binary",
  "process.path": "process.binary",
  "process.executable": "process.binary",
  "process.ppid": "parent.pid",
  "process.parent": "parent.binary",
  "process.username": "process.user",
  "process.euid": "process.uid",
  "process.egid": "process.gid",
  "process.capabilities": "process.cap_effective",
  "parent.cmdline": "parent.arguments",
  "parent.exe": "parent.binary",
  "dest.ip": "destination.ip",
  "dst.ip": "destination.ip",
  "dest.port": "destination.port",
  "dst.port": "destination.port",
  "destination.address": "destination.ip",
  "destination.host": "destination.names",
  "destination.name": "destination.names",
  "src.ip": "source.ip",
  "src.port": "source.port",
  "dns.name": "dns.query",
  "dns.domain": "dns.query",
  "dns.answers": "dns.ips",
  tool: "tool.name",
  tool_name: "tool.name",
  uid: "process.uid",
  image: "container.image",
  namespace: "pod.namespace",
  "k8s.namespace": "pod.namespace",
  "file.filename": "file.name",
  "file.directory": "file.dir",
};

/** Falco operators we do not have, and what to write instead. */
export const FALCO_OPERATORS: Readonly<Record<string, string>> = {
  pmatch: 'startswith with a list of directory prefixes: file.path startswith ["/etc/", "/usr/bin/"]',
  intersects: 'in: a list field in a list holds when any element is in it (tags in ["a", "b"])',
  bcontains: "contains on the text form",
  bstartswith: "startswith on the text form",
  iglob: 'glob on lower(…): lower(file.path) glob "…"',
};
