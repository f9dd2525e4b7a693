/** The functions rules may call on a value (`len`, `lower`, `upper`, `basename`, `entropy`): what each takes, gives and does. */
import { basename, entropy, type FieldType } from "../schema.js";
import { text } from "../text.js";

export interface FunctionDef {
  accepts: FieldType[];
  returns: FieldType;
  impl: (x: unknown) => unknown;
}

export const FUNCTIONS: Record<string, FunctionDef> = {
  len: {
    accepts: ["string", "list"],
    returns: "number",
    impl: (x) => (x as string | unknown[] | undefined)?.length ?? 0,
  },
  lower: { accepts: ["string"], returns: "string", impl: (x) => text(x).toLowerCase() },
  upper: { accepts: ["string"], returns: "string", impl: (x) => text(x).toUpperCase() },
  basename: { accepts: ["string"], returns: "string", impl: (x) => basename(text(x)) },
  entropy: { accepts: ["string"], returns: "number", impl: (x) => entropy(text(x)) },
};
