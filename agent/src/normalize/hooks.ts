/**
 * Tetragon hook events (kprobe, LSM, tracepoint) → what they mean. The hook's function
 * decides the kind (a listen is a socket listen, not a connect; setgid changes a group, not
 * the user; do_dup2 redirects a descriptor; do_init_module loads a kernel module), its
 * arguments fill the detail. The decision per function name is made once and remembered:
 * policies hook a handful of functions, each many times.
 */
import { tetragon, type hangar, type tetragonLazy } from "@hangar/proto";
import { EventKind, FileOperation, type RuntimeEvent } from "@hangar/core";
import {
  ADDRESS_FAMILIES,
  FAMILY_NAMES,
  IP_PROTOCOLS,
  PTRACE_REQUESTS,
  READING_MODULE,
  SOCKET_TYPES,
  SOCKET_TYPE_FLAGS,
  capabilityName,
  capabilitySet,
  lowerName,
  mountFlags,
  namespaceTypes,
  syscallName,
} from "./linux.js";

type Arg = tetragonLazy.KprobeArgument;
type Detail = RuntimeEvent["detail"];

/** What a hook means, decided from its function name alone. */
type HookClass =
  | { t: "privilege"; op: string; ids: "uid" | "gid" | "none" }
  | { t: "connect" }
  | { t: "socket"; op: string }
  | { t: "dup" }
  | { t: "module"; op: "load" | "request" | "unload" | "read" }
  | { t: "namespace"; op: "setns" | "unshare" | "clone" }
  | { t: "ptrace" }
  | { t: "mount"; op: string }
  | { t: "io_uring"; op: string }
  | { t: "file"; op: hangar.FileOperation | undefined }
  /** Nothing in the name: the arguments decide (a socket, a file, an opened path). */
  | { t: "args" };

const UID_CALLS = new Set(["setuid", "setreuid", "setresuid", "setfsuid"]);
const GID_CALLS = new Set(["setgid", "setregid", "setresgid", "setfsgid"]);
const MODULE_LOAD = new Set([
  "init_module",
  "finit_module",
  "do_init_module",
  "load_module",
  "security_kernel_load_data",
]);
const MODULE_UNLOAD = new Set(["delete_module", "free_module", "security_kernel_module_free"]);
const MOUNT_OPS: Readonly<Record<string, string>> = {
  mount: "mount",
  security_sb_mount: "mount",
  path_mount: "mount",
  do_mount: "mount",
  do_new_mount: "mount",
  umount: "umount",
  umount2: "umount",
  oldumount: "umount",
  security_sb_umount: "umount",
  path_umount: "umount",
  do_umount: "umount",
  move_mount: "move",
  security_move_mount: "move",
  do_move_mount: "move",
  fsmount: "fsmount",
  security_sb_kern_mount: "fsmount",
  pivot_root: "pivot_root",
  security_sb_pivotroot: "pivot_root",
  open_tree: "open_tree",
};
const DUP_CALLS = new Set(["dup", "dup2", "dup3", "do_dup2", "replace_fd", "ksys_dup3"]);
const CLOSE_CALLS = new Set([
  "tcp_close",
  "udp_destroy_sock",
  "inet_release",
  "inet6_release",
  "sock_close",
  "__sock_release",
  "sk_free",
  "__sk_free",
  "tcp_done",
]);
const CREATE_CALLS = new Set([
  "socket",
  "socketpair",
  "sock_create",
  "__sock_create",
  "security_socket_create",
  "security_socket_post_create",
  "sk_alloc",
  "inet_create",
  "inet6_create",
  "packet_create",
]);

/** Decides what a hook function is about, from its name. */
export function classify(fn: string): HookClass {
  const n = syscallName(fn);
  if (UID_CALLS.has(n)) return { t: "privilege", op: n, ids: "uid" };
  if (GID_CALLS.has(n)) return { t: "privilege", op: n, ids: "gid" };
  if (n === "setgroups") return { t: "privilege", op: n, ids: "none" };
  if (n.includes("capset")) return { t: "privilege", op: "capset", ids: "none" };
  if (n === "commit_creds") return { t: "privilege", op: "commit_creds", ids: "uid" };
  if (n.includes("create_user_ns")) return { t: "privilege", op: "create_user_ns", ids: "none" };
  if (n === "cap_capable" || n === "security_capable" || n === "ns_capable" || n === "capable")
    return { t: "privilege", op: "cap_capable", ids: "none" };
  if (n.endsWith("fix_setuid")) return { t: "privilege", op: "setuid", ids: "none" };
  if (n.endsWith("fix_setgid")) return { t: "privilege", op: "setgid", ids: "none" };
  if (MODULE_LOAD.has(n)) return { t: "module", op: "load" };
  if (n.includes("kernel_module_request") || n === "request_module" || n === "__request_module")
    return { t: "module", op: "request" };
  if (MODULE_UNLOAD.has(n)) return { t: "module", op: "unload" };
  if (n === "security_kernel_read_file" || n === "kernel_read_file") return { t: "module", op: "read" };
  if (n.includes("setns")) return { t: "namespace", op: "setns" };
  if (n === "unshare" || n === "ksys_unshare" || n === "unshare_nsproxy_namespaces")
    return { t: "namespace", op: "unshare" };
  if (n === "clone" || n === "clone3" || n === "kernel_clone") return { t: "namespace", op: "clone" };
  if (n.includes("ptrace")) return { t: "ptrace" };
  const mount = MOUNT_OPS[n];
  if (mount !== undefined) return { t: "mount", op: mount };
  if (n.includes("io_uring") || n.includes("uring_") || n.startsWith("io_sq"))
    return {
      t: "io_uring",
      op: n.includes("sqpoll")
        ? "sqpoll"
        : n.includes("override_creds")
          ? "override_creds"
          : n.includes("enter")
            ? "enter"
            : n.includes("register")
              ? "register"
              : "setup",
    };
  if (DUP_CALLS.has(n)) return { t: "dup" };
  if (n.includes("connect") && !n.includes("disconnect")) return { t: "connect" };
  if (n.includes("listen")) return { t: "socket", op: "listen" };
  if (n.includes("accept")) return { t: "socket", op: "accept" };
  if (/send(msg|to|page|mmsg|file)?$|sendmsg|sendpage/.test(n)) return { t: "socket", op: "send" };
  if (/recv(msg|from|mmsg)?$|recvmsg|cleanup_rbuf/.test(n)) return { t: "socket", op: "receive" };
  if (n === "bind" || n.endsWith("_bind")) return { t: "socket", op: "bind" };
  if (n.includes("shutdown")) return { t: "socket", op: "shutdown" };
  if (CLOSE_CALLS.has(n)) return { t: "socket", op: "close" };
  if (CREATE_CALLS.has(n)) return { t: "socket", op: "create" };
  if (n.endsWith("set_state")) return { t: "socket", op: "state" };
  if (/unlink|rmdir/.test(n)) return { t: "file", op: FileOperation.DELETE };
  if (n.includes("rename")) return { t: "file", op: FileOperation.RENAME };
  if (n.includes("symlink")) return { t: "file", op: FileOperation.SYMLINK };
  if (/(^|_)link(at)?$/.test(n)) return { t: "file", op: FileOperation.LINK };
  if (n.includes("chmod")) return { t: "file", op: FileOperation.CHMOD };
  if (n.includes("chown")) return { t: "file", op: FileOperation.CHOWN };
  return { t: "args" };
}

const CLASSES = new Map<string, HookClass>();
function classOf(fn: string): HookClass {
  let c = CLASSES.get(fn);
  if (c === undefined) {
    // Function names come from policies (a few dozen); the bound only guards against a flood of made-up ones.
    if (CLASSES.size >= 4096) CLASSES.clear();
    c = classify(fn);
    CLASSES.set(fn, c);
  }
  return c;
}

// ── argument readers ───────────────────────────────────────────────────────────
/** A numeric argument as a number (int, uint, long, size); undefined for other kinds. */
export function numberOf(a: Arg | undefined): number | undefined {
  const v = a?.arg;
  if (v === undefined) return undefined;
  switch (v.case) {
    case "intArg":
    case "uintArg":
      return v.value;
    case "longArg":
    case "sizeArg":
      return Number(v.value);
    default:
      return undefined;
  }
}

function numbers(args: readonly Arg[]): number[] {
  const out: number[] = [];
  for (const a of args) {
    const n = numberOf(a);
    if (n !== undefined) out.push(n);
  }
  return out;
}

function strings(args: readonly Arg[]): string[] {
  const out: string[] = [];
  for (const a of args) if (a.arg.case === "stringArg") out.push(a.arg.value);
  return out;
}

function labelled(args: readonly Arg[], ...labels: string[]): Arg | undefined {
  for (const a of args) if (labels.includes(a.label)) return a;
  return undefined;
}

/** -1 ("unchanged") as the kernel sees it, whether Tetragon printed it signed or not. */
const isUnchanged = (id: number): boolean => id === -1 || id === 4294967295;

function lowest(ids: number[]): number | undefined {
  let best: number | undefined;
  for (const id of ids) if (!isUnchanged(id) && id >= 0 && (best === undefined || id < best)) best = id;
  return best;
}

const empty = (ip: string): boolean => ip === "" || ip === "0.0.0.0" || ip === "::";

function familyName(s: string): string {
  return FAMILY_NAMES[s] ?? lowerName(s, "AF_");
}
function protocolName(s: string): string {
  return lowerName(s, "IPPROTO_");
}

// ── details ──────────────────────────────────────────────────────────────────────
function privilege(
  fn: string,
  c: Extract<HookClass, { t: "privilege" }>,
  args: readonly Arg[],
  ret: number | undefined,
): Detail {
  const d: hangar.PrivilegeDetail = {
    $typeName: "hangar.v1.PrivilegeDetail",
    hook: fn,
    operation: c.op,
    capabilities: [],
    denied: ret !== undefined && ret < 0,
  };
  if (c.op === "commit_creds") {
    for (const a of args) {
      if (a.arg.case !== "processCredentialsArg") continue;
      const cr = a.arg.value;
      const uid = lowest([cr.uid, cr.euid, cr.suid, cr.fsuid].filter((x): x is number => x !== undefined));
      const gid = lowest([cr.gid, cr.egid, cr.sgid, cr.fsgid].filter((x): x is number => x !== undefined));
      if (uid !== undefined) d.targetUid = uid;
      if (gid !== undefined) d.targetGid = gid;
    }
    return { case: "privilege", value: d };
  }
  if (c.ids !== "none") {
    const id = lowest(numbers(args));
    if (id !== undefined) {
      if (c.ids === "uid") d.targetUid = id;
      else d.targetGid = id;
    }
  }
  for (const a of args) {
    const v = a.arg;
    switch (v.case) {
      case "capEffectiveArg":
      case "capPermittedArg":
      case "capInheritableArg": {
        const set =
          v.case === "capEffectiveArg"
            ? "effective"
            : v.case === "capPermittedArg"
              ? "permitted"
              : "inheritable";
        for (const cap of capabilitySet(v.value) ?? [v.value]) d.capabilities.push(`${set}:${cap}`);
        break;
      }
      case "capabilityArg":
        d.capabilities.push(v.value.name !== "" ? v.value.name : capabilityName(v.value.value ?? -1));
        break;
      case "intArg":
        // cap_capable(cred, ns, cap, opts) hooked with an int for the capability.
        if (c.op === "cap_capable" && d.capabilities.length === 0)
          d.capabilities.push(capabilityName(v.value));
        break;
      default:
        break;
    }
  }
  return { case: "privilege", value: d };
}

function connect(fn: string, args: readonly Arg[], ret: number | undefined): Detail {
  const d: hangar.ConnectDetail = {
    $typeName: "hangar.v1.ConnectDetail",
    protocol: "",
    family: "",
    sourceIp: "",
    sourcePort: 0,
    destinationIp: "",
    destinationPort: 0,
    result: ret ?? 0,
    state: "",
    socketCookie: 0n,
    hook: fn,
    destinationNames: [],
    unixPath: "",
  };
  for (const a of args) {
    const v = a.arg;
    switch (v.case) {
      case "sockArg": {
        const s = v.value;
        d.protocol ||= protocolName(s.protocol);
        d.family ||= familyName(s.family);
        d.sourceIp ||= s.saddr;
        d.sourcePort ||= s.sport;
        if (!empty(s.daddr)) {
          d.destinationIp = s.daddr;
          d.destinationPort = s.dport;
        }
        d.state = s.state;
        d.socketCookie = s.cookie;
        break;
      }
      case "skbArg": {
        const s = v.value;
        d.protocol ||= protocolName(s.protocol);
        d.family ||= familyName(s.family);
        d.sourceIp ||= s.saddr;
        d.sourcePort ||= s.sport;
        if (!empty(s.daddr)) {
          d.destinationIp = s.daddr;
          d.destinationPort = s.dport;
        }
        break;
      }
      case "sockaddrArg": {
        const s = v.value;
        d.family ||= familyName(s.family);
        d.destinationIp = s.addr;
        d.destinationPort = s.port;
        break;
      }
      case "sockaddrunArg":
        d.family = "unix";
        d.unixPath = v.value.path;
        break;
      default:
        break;
    }
  }
  return { case: "connect", value: d };
}

function socket(fn: string, op: string, args: readonly Arg[], ret: Arg | undefined): Detail {
  const d: hangar.SocketDetail = {
    $typeName: "hangar.v1.SocketDetail",
    operation: op,
    family: "",
    type: "",
    protocol: "",
    localIp: "",
    localPort: 0,
    remoteIp: "",
    remotePort: 0,
    state: "",
    socketCookie: 0n,
    hook: fn,
    bytes: 0n,
  };
  // accept returns the new socket.
  const all = ret?.arg.case === "sockArg" ? [...args, ret] : args;
  let ints: number[] = [];
  for (const a of all) {
    const v = a.arg;
    switch (v.case) {
      case "sockArg": {
        const s = v.value;
        d.family = familyName(s.family);
        d.type = lowerName(s.type, "SOCK_");
        d.protocol = protocolName(s.protocol);
        d.localIp = empty(s.saddr) && s.sport === 0 ? "" : s.saddr;
        d.localPort = s.sport;
        if (!(empty(s.daddr) && s.dport === 0)) {
          d.remoteIp = s.daddr;
          d.remotePort = s.dport;
        }
        d.state = s.state;
        d.socketCookie = s.cookie;
        break;
      }
      case "skbArg": {
        const s = v.value;
        d.family = familyName(s.family);
        d.protocol = protocolName(s.protocol);
        // A received packet's destination is this side.
        const mine = op === "receive" ? [s.daddr, s.dport] : [s.saddr, s.sport];
        const theirs = op === "receive" ? [s.saddr, s.sport] : [s.daddr, s.dport];
        d.localIp = mine[0] as string;
        d.localPort = mine[1] as number;
        d.remoteIp = theirs[0] as string;
        d.remotePort = theirs[1] as number;
        break;
      }
      case "sockaddrArg":
        d.family ||= familyName(v.value.family);
        if (op === "bind") {
          d.localIp = v.value.addr;
          d.localPort = v.value.port;
        } else {
          d.remoteIp = v.value.addr;
          d.remotePort = v.value.port;
        }
        break;
      case "sockaddrunArg":
        d.family = "unix";
        d.localIp = v.value.path;
        break;
      case "sizeArg":
        d.bytes = v.value;
        break;
      default: {
        const n = numberOf(a);
        if (n !== undefined) ints.push(n);
      }
    }
  }
  if (op === "create" && d.family === "") {
    // socket(family, type, protocol); labels win over positions.
    const fam = numberOf(labelled(args, "family", "domain"));
    const typ = numberOf(labelled(args, "type"));
    const proto = numberOf(labelled(args, "protocol"));
    if (fam !== undefined || typ !== undefined) ints = [fam ?? -1, typ ?? -1, proto ?? -1];
    const [f, t, p] = ints;
    if (f !== undefined && f >= 0) d.family = ADDRESS_FAMILIES[f] ?? `af_${f}`;
    if (t !== undefined && t >= 0)
      d.type = SOCKET_TYPES[t & ~SOCKET_TYPE_FLAGS] ?? `type_${t & ~SOCKET_TYPE_FLAGS}`;
    // AF_PACKET takes an ethertype (htons(ETH_P_ALL) = 768), not an IP protocol.
    if (p !== undefined && p > 0 && d.family !== "packet") d.protocol = IP_PROTOCOLS[p] ?? String(p);
  } else if ((op === "send" || op === "receive") && d.bytes === 0n) {
    const size = ints.find((n) => n > 0);
    if (size !== undefined) d.bytes = BigInt(size);
  }
  return { case: "socket", value: d };
}

const SOCKET_FILES = new Set([
  "TCP",
  "TCPv6",
  "UDP",
  "UDPv6",
  "UDPLITE",
  "UNIX",
  "RAW",
  "RAWv6",
  "PACKET",
  "NETLINK",
]);

/** What a descriptor's file is, from the path Tetragon resolved for it. */
export function fileTarget(path: string): string {
  if (path === "") return "unknown";
  const base = path.startsWith("/") ? path.slice(1) : path;
  if (base.startsWith("socket:") || SOCKET_FILES.has(base)) return "socket";
  if (base.startsWith("pipe:")) return "pipe";
  if (path.startsWith("/dev/pts/") || path.startsWith("/dev/tty") || path === "/dev/console") return "tty";
  if (base.startsWith("anon_inode:")) return "anon_inode";
  return "file";
}

function dup(fn: string, args: readonly Arg[]): Detail {
  const d: hangar.DupDetail = { $typeName: "hangar.v1.DupDetail", target: "unknown", path: "", hook: fn };
  let file = false;
  const ints: number[] = [];
  for (const a of args) {
    const v = a.arg;
    if (v.case === "fileArg" || v.case === "pathArg") {
      file = true;
      d.path = v.value.path;
      d.target = fileTarget(v.value.path);
    } else if (v.case === "sockArg") {
      file = true;
      d.target = "socket";
    } else {
      const n = numberOf(a);
      if (n !== undefined) ints.push(n);
    }
  }
  const newFd = numberOf(labelled(args, "newfd", "new_fd", "fd"));
  const oldFd = numberOf(labelled(args, "oldfd", "old_fd"));
  if (newFd !== undefined || oldFd !== undefined) {
    if (newFd !== undefined) d.newFd = newFd;
    if (oldFd !== undefined) d.oldFd = oldFd;
  } else if (file) {
    // do_dup2(files, file, fd, flags): the file, then the descriptor it lands on.
    if (ints[0] !== undefined) d.newFd = ints[0];
  } else {
    // dup2(oldfd, newfd), dup3(oldfd, newfd, flags), dup(oldfd).
    if (ints[0] !== undefined) d.oldFd = ints[0];
    if (ints[1] !== undefined) d.newFd = ints[1];
  }
  return { case: "dup", value: d };
}

function moduleDetail(
  fn: string,
  op: Extract<HookClass, { t: "module" }>["op"],
  args: readonly Arg[],
): Detail | undefined {
  const d: hangar.ModuleDetail = {
    $typeName: "hangar.v1.ModuleDetail",
    operation: op,
    name: "",
    tainted: [],
    path: "",
    hook: fn,
  };
  let readId: number | undefined;
  for (const a of args) {
    const v = a.arg;
    switch (v.case) {
      case "moduleArg":
        d.name = v.value.name;
        if (v.value.signatureOk !== undefined) d.signatureOk = v.value.signatureOk;
        for (const t of v.value.tainted) d.tainted.push(tetragon.TaintedBitsType[t] ?? String(t));
        break;
      case "stringArg":
        if (op === "request" || d.name === "") d.name = v.value;
        break;
      case "fileArg":
      case "pathArg":
        d.path = v.value.path;
        break;
      default: {
        const n = numberOf(a);
        if (n !== undefined && readId === undefined) readId = n;
      }
    }
  }
  if (op === "read") {
    // security_kernel_read_file reads firmware, kexec images and policies too: only a module read is one.
    if (readId !== READING_MODULE) return undefined;
    // eslint-disable-next-line security/detect-unsafe-regex -- linear: one optional group after a literal, anchored at the end
    if (d.name === "") d.name = (d.path.split("/").pop() ?? "").replace(/\.ko(\.[a-z]+)?$/, "");
  }
  return { case: "module", value: d };
}

function namespace(
  fn: string,
  op: Extract<HookClass, { t: "namespace" }>["op"],
  args: readonly Arg[],
): Detail | undefined {
  const ints = numbers(args);
  const d: hangar.NamespaceDetail = {
    $typeName: "hangar.v1.NamespaceDetail",
    operation: op,
    types: [],
    hook: fn,
  };
  if (op === "setns") {
    const fd = numberOf(labelled(args, "fd")) ?? ints[0];
    const nstype = numberOf(labelled(args, "nstype", "flags")) ?? ints[1];
    if (fd !== undefined) d.fd = fd;
    if (nstype !== undefined) d.types = namespaceTypes(nstype);
  } else {
    const flags = numberOf(labelled(args, "flags", "unshare_flags", "clone_flags")) ?? ints[0] ?? 0;
    d.types = namespaceTypes(flags);
    // An ordinary fork: no new namespace, nothing to report as one.
    if (op === "clone" && d.types.length === 0) return undefined;
  }
  return { case: "namespace", value: d };
}

function ptrace(fn: string, args: readonly Arg[]): Detail {
  const ints = numbers(args);
  const request = numberOf(labelled(args, "request")) ?? ints[0];
  const pid = numberOf(labelled(args, "pid")) ?? ints[1];
  const d: hangar.PtraceDetail = {
    $typeName: "hangar.v1.PtraceDetail",
    request: request === undefined ? "" : (PTRACE_REQUESTS[request] ?? String(request)),
    hook: fn,
  };
  if (pid !== undefined && pid > 0) d.targetPid = pid;
  return { case: "ptrace", value: d };
}

function mount(fn: string, op: string, args: readonly Arg[]): Detail {
  const d: hangar.MountDetail = {
    $typeName: "hangar.v1.MountDetail",
    operation: op,
    source: "",
    target: "",
    fstype: "",
    flags: "",
    hook: fn,
  };
  const strs = strings(args);
  let path: string | undefined;
  for (const a of args) if (a.arg.case === "pathArg" || a.arg.case === "fileArg") path ??= a.arg.value.path;
  const flags = numbers(args)[0];
  if (path !== undefined) {
    // security_sb_mount(dev_name, path, type, flags, data)
    d.target = path;
    d.source = strs[0] ?? "";
    d.fstype = strs[1] ?? "";
  } else if (op === "umount" || op === "pivot_root") {
    d.target = strs[0] ?? "";
    d.source = strs[1] ?? "";
  } else {
    // mount(source, target, filesystemtype, mountflags, data)
    d.source = strs[0] ?? "";
    d.target = strs[1] ?? "";
    d.fstype = strs[2] ?? "";
  }
  if (flags !== undefined && flags > 0) d.flags = mountFlags(flags);
  return { case: "mount", value: d };
}

function ioUring(fn: string, op: string, args: readonly Arg[]): Detail {
  const entries = numbers(args)[0];
  return {
    case: "ioUring",
    value: {
      $typeName: "hangar.v1.IoUringDetail",
      operation: op,
      entries: entries !== undefined && entries > 0 ? entries : 0,
      hook: fn,
    },
  };
}

/** Linux MAY_* bits passed to security_file_permission. */
const MAY_WRITE = 2;
const MAY_READ = 4;
const MAY_APPEND = 8;

function fileOperation(fn: string, args: readonly Arg[]): hangar.FileOperation {
  if (fn.includes("mmap")) return FileOperation.MMAP;
  if (fn.includes("truncate")) return FileOperation.TRUNCATE;
  if (fn.includes("bprm") || fn.includes("exec")) return FileOperation.EXECUTE;
  if (fn.includes("permission")) {
    for (const a of args) {
      if (a.arg.case === "intArg" || a.arg.case === "uintArg") {
        const mask = a.arg.value;
        if ((mask & (MAY_WRITE | MAY_APPEND)) !== 0) return FileOperation.WRITE;
        if ((mask & MAY_READ) !== 0) return FileOperation.READ;
      }
    }
    return FileOperation.READ;
  }
  if (fn.includes("write")) return FileOperation.WRITE;
  if (fn.includes("read")) return FileOperation.READ;
  return FileOperation.OPEN;
}

function file(fn: string, op: hangar.FileOperation | undefined, args: readonly Arg[]): Detail | undefined {
  for (const a of args) {
    const v = a.arg;
    if (v.case === "fileArg" || v.case === "pathArg") {
      return {
        case: "file",
        value: {
          $typeName: "hangar.v1.FileDetail",
          path: v.value.path,
          operation: op ?? fileOperation(fn, args),
          hook: fn,
          flags: v.value.flags,
          permission: v.value.permission,
        },
      };
    }
    if (v.case === "linuxBinprmArg") {
      return {
        case: "file",
        value: {
          $typeName: "hangar.v1.FileDetail",
          path: v.value.path,
          operation: FileOperation.EXECUTE,
          hook: fn,
          flags: v.value.flags,
          permission: v.value.permission,
        },
      };
    }
  }
  // Syscall hooks and tracepoints (open, openat, unlink, …) carry the path as a plain string.
  // Relative paths are kept as they are (resolved against the process cwd by readers).
  if (op !== undefined || /open/.test(fn)) {
    const path = strings(args).find((s) => s !== "");
    if (path !== undefined)
      return {
        case: "file",
        value: {
          $typeName: "hangar.v1.FileDetail",
          path,
          operation: op ?? FileOperation.OPEN,
          hook: fn,
          flags: "",
          permission: "",
        },
      };
  }
  return undefined;
}

function byArgs(fn: string, args: readonly Arg[], ret: Arg | undefined): Detail | undefined {
  for (const a of args) {
    const c = a.arg.case;
    if (c === "sockArg" || c === "skbArg" || c === "sockaddrArg" || c === "sockaddrunArg")
      return socket(fn, "", args, ret);
  }
  return file(fn, undefined, args);
}

const KIND_OF_DETAIL: Readonly<Record<string, hangar.EventKind>> = {
  connect: EventKind.CONNECT,
  file: EventKind.FILE,
  privilege: EventKind.PRIVILEGE,
  socket: EventKind.SOCKET,
  dup: EventKind.DUP,
  module: EventKind.MODULE,
  namespace: EventKind.NAMESPACE,
  ptrace: EventKind.PTRACE,
  mount: EventKind.MOUNT,
  ioUring: EventKind.IO_URING,
};

/** The event kind that a detail stands for. */
export function kindOfDetail(d: Detail): hangar.EventKind {
  return KIND_OF_DETAIL[d.case ?? ""] ?? EventKind.UNSPECIFIED;
}

/**
 * One hook event's meaning: the detail its function and arguments describe, or undefined
 * when this build does not model the hook (the caller drops it as `unsupported_hook`, by name).
 */
export function hookDetail(fn: string, args: readonly Arg[], ret?: Arg): Detail | undefined {
  const c = classOf(fn);
  const r = numberOf(ret);
  switch (c.t) {
    case "privilege":
      return privilege(fn, c, args, r);
    case "connect":
      return connect(fn, args, r);
    case "socket":
      return socket(fn, c.op, args, ret);
    case "dup":
      return dup(fn, args);
    case "module":
      return c.op === "read"
        ? (moduleDetail(fn, c.op, args) ?? file(fn, FileOperation.READ, args))
        : moduleDetail(fn, c.op, args);
    case "namespace":
      return namespace(fn, c.op, args);
    case "ptrace":
      return ptrace(fn, args);
    case "mount":
      return mount(fn, c.op, args);
    case "io_uring":
      return ioUring(fn, c.op, args);
    case "file":
      return file(fn, c.op, args);
    case "args":
      return byArgs(fn, args, ret);
  }
}

// ── the hook's own record ─────────────────────────────────────────────────────────
/** One argument as text, for `hook.args` and explanations. */
export function argText(a: Arg): string {
  const v = a.arg;
  let s: string;
  switch (v.case) {
    case "stringArg":
    case "kernelCapTArg":
    case "capInheritableArg":
    case "capPermittedArg":
    case "capEffectiveArg":
      s = v.value;
      break;
    case "intArg":
    case "uintArg":
      s = String(v.value);
      break;
    case "longArg":
    case "sizeArg":
      s = v.value.toString();
      break;
    case "fileArg":
    case "pathArg":
    case "linuxBinprmArg":
      s = v.value.path;
      break;
    case "sockArg":
      s = `${v.value.protocol} ${v.value.saddr}:${v.value.sport} → ${v.value.daddr}:${v.value.dport}`;
      break;
    case "skbArg":
      s = `${v.value.protocol} ${v.value.saddr}:${v.value.sport} → ${v.value.daddr}:${v.value.dport}`;
      break;
    case "sockaddrArg":
      s = `${v.value.addr}:${v.value.port}`;
      break;
    case "sockaddrunArg":
      s = v.value.path;
      break;
    case "capabilityArg":
      s = v.value.name;
      break;
    case "moduleArg":
      s = v.value.name;
      break;
    case "netDevArg":
      s = v.value.name;
      break;
    case "bpfCmdArg":
      s = tetragon.BpfCmd[v.value] ?? String(v.value);
      break;
    case "processCredentialsArg":
      s = `uid=${v.value.uid ?? ""} euid=${v.value.euid ?? ""} gid=${v.value.gid ?? ""} egid=${v.value.egid ?? ""}`;
      break;
    case "bytesArg":
      s = `${v.value.length} bytes`;
      break;
    case "truncatedBytesArg":
      s = `${v.value.origSize} bytes`;
      break;
    case "errorArg":
      s = v.value.Message;
      break;
    case undefined:
      s = "";
      break;
    default:
      s = v.case;
  }
  return a.label === "" ? s : `${a.label}=${s}`;
}

/** "KPROBE_ACTION_SIGKILL" → "sigkill"; the unset action is "". */
export function actionName(action: tetragon.KprobeAction): string {
  if (action === tetragon.KprobeAction.UNKNOWN) return "";
  return lowerName(tetragon.KprobeAction[action] ?? String(action), "KPROBE_ACTION_");
}

export function hookInfo(
  fn: string,
  args: readonly Arg[],
  ret: Arg | undefined,
  action: tetragon.KprobeAction,
  returnAction: tetragon.KprobeAction,
  message: string,
): hangar.HookInfo {
  const info: hangar.HookInfo = {
    $typeName: "hangar.v1.HookInfo",
    function: fn,
    action: actionName(action),
    returnAction: actionName(returnAction),
    message,
    args: args.map(argText),
  };
  const r = ret?.arg;
  if (r !== undefined && r.case !== undefined) {
    if (r.case === "intArg" || r.case === "uintArg") info.returnValue = BigInt(r.value);
    else if (r.case === "longArg" || r.case === "sizeArg") info.returnValue = BigInt(r.value);
  }
  return info;
}
