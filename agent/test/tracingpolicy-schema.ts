/**
 * What the tests need to know of Tetragon's TracingPolicy CRD (cilium.io/v1alpha1), written
 * here as facts read from the upstream CRD definition (its openAPIV3Schema): field names,
 * types, required fields and enums of the parts our manifests use. Unknown fields are an
 * error here (the API server would prune them silently, which hides typos), so everything a
 * manifest may use has to be listed.
 *
 * `validate` implements the small subset of OpenAPI v3 these facts need.
 */

export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "boolean";
  properties?: Record<string, Schema>;
  required?: readonly string[];
  /** For maps (matchLabels): the schema of every value. */
  additionalProperties?: Schema;
  items?: Schema;
  enum?: readonly (string | number)[];
  minimum?: number;
  maxItems?: number;
}

const str: Schema = { type: "string" };
const bool: Schema = { type: "boolean" };
const int0: Schema = { type: "integer", minimum: 0 };
const strings: Schema = { type: "array", items: str };

/** Argument types (spec.kprobes[].args[].type). */
export const ARG_TYPES = [
  "auto",
  "int",
  "uint32",
  "int32",
  "uint64",
  "int64",
  "char_buf",
  "char_iovec",
  "size_t",
  "skb",
  "sock",
  "sockaddr",
  "socket",
  "string",
  "fd",
  "file",
  "filename",
  "path",
  "dentry",
  "nop",
  "bpf_attr",
  "perf_event",
  "bpf_map",
  "user_namespace",
  "capability",
  "kiocb",
  "iov_iter",
  "cred",
  "load_info",
  "module",
  "syscall64",
  "kernel_cap_t",
  "cap_inheritable",
  "cap_permitted",
  "cap_effective",
  "linux_binprm",
  "net_device",
  "bpf_cmd",
] as const;

/** matchArgs / matchReturnArgs operators. */
export const ARG_OPERATORS = [
  "Equal",
  "NotEqual",
  "Prefix",
  "NotPrefix",
  "Postfix",
  "NotPostfix",
  "GreaterThan",
  "LessThan",
  "GT",
  "LT",
  "Mask",
  "SPort",
  "NotSPort",
  "SPortPriv",
  "NotSportPriv",
  "DPort",
  "NotDPort",
  "DPortPriv",
  "NotDPortPriv",
  "SAddr",
  "NotSAddr",
  "DAddr",
  "NotDAddr",
  "Protocol",
  "Family",
  "State",
  "InMap",
  "NotInMap",
] as const;

/** matchActions[].action. */
export const ACTIONS = [
  "Post",
  "FollowFD",
  "UnfollowFD",
  "Sigkill",
  "CopyFD",
  "Override",
  "GetUrl",
  "DnsLookup",
  "NoPost",
  "Signal",
  "TrackSock",
  "UntrackSock",
  "NotifyEnforcer",
  "CleanupEnforcerNotification",
  "Set",
] as const;

const arg: Schema = {
  type: "object",
  required: ["index", "type"],
  properties: {
    index: int0,
    type: { type: "string", enum: ARG_TYPES },
    label: str,
    maxData: bool,
    returnCopy: bool,
    sizeArgIndex: int0,
    resolve: str,
  },
};

const matchArg: Schema = {
  type: "object",
  required: ["operator"],
  properties: {
    index: int0,
    args: { type: "array", items: int0 },
    operator: { type: "string", enum: ARG_OPERATORS },
    values: strings,
  },
};

const inNotIn = { type: "string", enum: ["In", "NotIn"] } as const satisfies Schema;

const selector: Schema = {
  type: "object",
  properties: {
    matchArgs: { type: "array", items: matchArg },
    matchReturnArgs: { type: "array", items: matchArg },
    matchData: { type: "array", items: matchArg },
    matchPIDs: {
      type: "array",
      items: {
        type: "object",
        required: ["operator", "values"],
        properties: {
          operator: inNotIn,
          values: { type: "array", items: { type: "integer" } },
          followForks: bool,
          isNamespacePID: bool,
        },
      },
    },
    matchBinaries: {
      type: "array",
      items: {
        type: "object",
        required: ["operator", "values"],
        properties: {
          operator: { type: "string", enum: ["In", "NotIn", "Prefix", "NotPrefix", "Postfix", "NotPostfix"] },
          values: strings,
          followChildren: bool,
        },
      },
    },
    matchNamespaces: {
      type: "array",
      items: {
        type: "object",
        required: ["namespace", "operator", "values"],
        properties: {
          namespace: {
            type: "string",
            enum: [
              "Uts",
              "Ipc",
              "Mnt",
              "Pid",
              "PidForChildren",
              "Net",
              "Time",
              "TimeForChildren",
              "Cgroup",
              "User",
            ],
          },
          operator: inNotIn,
          values: strings,
        },
      },
    },
    matchCapabilities: {
      type: "array",
      items: {
        type: "object",
        required: ["operator", "values"],
        properties: {
          type: { type: "string", enum: ["Effective", "Inheritable", "Permitted"] },
          operator: inNotIn,
          isNamespaceCapability: bool,
          values: strings,
        },
      },
    },
    matchActions: {
      type: "array",
      items: {
        type: "object",
        required: ["action"],
        properties: {
          action: { type: "string", enum: ACTIONS },
          argError: { type: "integer" },
          argFd: { type: "integer" },
          argName: { type: "integer" },
          argSig: { type: "integer" },
          argSock: { type: "integer" },
          argUrl: str,
          argFqdn: str,
          rateLimit: str,
          rateLimitScope: { type: "string", enum: ["Thread", "Process", "Global"] },
          kernelStackTrace: bool,
          userStackTrace: bool,
          imaHash: bool,
        },
      },
    },
  },
};

const kprobe: Schema = {
  type: "object",
  required: ["call"],
  properties: {
    call: str,
    syscall: bool,
    return: bool,
    args: { type: "array", items: arg },
    returnArg: arg,
    returnArgAction: str,
    selectors: { type: "array", items: selector, maxItems: 5 },
    ignore: { type: "object", properties: { callNotFound: bool } },
    message: str,
    tags: { type: "array", items: str, maxItems: 16 },
  },
};

const tracepoint: Schema = {
  type: "object",
  required: ["subsystem", "event"],
  properties: {
    subsystem: str,
    event: str,
    raw: bool,
    args: { type: "array", items: arg },
    selectors: { type: "array", items: selector, maxItems: 5 },
    message: str,
    tags: { type: "array", items: str, maxItems: 16 },
  },
};

/** A Kubernetes LabelSelector (spec.podSelector). */
const labelSelector: Schema = {
  type: "object",
  properties: {
    matchLabels: { type: "object", additionalProperties: str },
    matchExpressions: {
      type: "array",
      items: {
        type: "object",
        required: ["key", "operator"],
        properties: {
          key: str,
          operator: { type: "string", enum: ["In", "NotIn", "Exists", "DoesNotExist"] },
          values: strings,
        },
      },
    },
  },
};

export const TRACING_POLICY: Schema = {
  type: "object",
  required: ["apiVersion", "kind", "metadata", "spec"],
  properties: {
    apiVersion: { type: "string", enum: ["cilium.io/v1alpha1"] },
    kind: { type: "string", enum: ["TracingPolicy", "TracingPolicyNamespaced"] },
    metadata: {
      type: "object",
      required: ["name"],
      properties: {
        name: str,
        namespace: str,
        labels: { type: "object", additionalProperties: str },
        annotations: { type: "object", additionalProperties: str },
      },
    },
    spec: {
      type: "object",
      properties: {
        kprobes: { type: "array", items: kprobe },
        tracepoints: { type: "array", items: tracepoint },
        lsmHooks: {
          type: "array",
          items: {
            type: "object",
            required: ["hook"],
            properties: {
              hook: str,
              args: { type: "array", items: arg },
              selectors: { type: "array", items: selector, maxItems: 5 },
              message: str,
              tags: { type: "array", items: str, maxItems: 16 },
            },
          },
        },
        podSelector: labelSelector,
        containerSelector: labelSelector,
        options: {
          type: "array",
          items: { type: "object", required: ["name"], properties: { name: str, value: str } },
        },
        loader: bool,
      },
    },
  },
};

/** Errors of `value` against `schema`, each as "path: problem". */
export function validate(value: unknown, schema: Schema, path = "$"): string[] {
  const errors: string[] = [];
  const t = schema.type;
  const kind = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
  if (t === "integer") {
    if (typeof value !== "number" || !Number.isInteger(value))
      return [`${path}: expected an integer, got ${kind}`];
    if (schema.minimum !== undefined && value < schema.minimum)
      errors.push(`${path}: ${value} < ${schema.minimum}`);
  } else if (t === "string" || t === "boolean") {
    if (typeof value !== t) return [`${path}: expected a ${t}, got ${kind}`];
  } else if (t === "array") {
    if (!Array.isArray(value)) return [`${path}: expected an array, got ${kind}`];
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errors.push(`${path}: ${value.length} items, at most ${schema.maxItems}`);
    if (schema.items !== undefined)
      value.forEach((v, i) => errors.push(...validate(v, schema.items as Schema, `${path}[${i}]`)));
  } else if (t === "object") {
    if (kind !== "object") return [`${path}: expected an object, got ${kind}`];
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? [])
      if (!(r in obj)) errors.push(`${path}: missing required field "${r}"`);
    for (const [k, v] of Object.entries(obj)) {
      const p = schema.properties?.[k] ?? schema.additionalProperties;
      if (p === undefined) errors.push(`${path}.${k}: unknown field`);
      else errors.push(...validate(v, p, `${path}.${k}`));
    }
  }
  if (schema.enum !== undefined && !schema.enum.includes(value as string | number))
    errors.push(`${path}: "${String(value)}" is not one of ${schema.enum.join(", ")}`);
  return errors;
}
