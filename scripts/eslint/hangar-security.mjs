// Local ESLint rules of the security lint (eslint.config.js, docs/supply-chain.md "Static
// analysis"). `no-string-key-write` stands in for eslint-plugin-security's
// detect-object-injection, which flags every computed member access: in this code base almost
// all of them index arrays, typed arrays and buffers with numbers (heaps, ring buffers, LCS
// tables, byte parsers). The risk that rule is after — prototype pollution and calling an
// inherited function — needs a key that can be any string (e.g. "__proto__", "constructor")
// from input. With type information, this rule flags exactly those sites:
//   obj[key] = v, obj[key] op= v, obj[key]++, delete obj[key], obj[key](…)
// where `key` is typed string (not a union of literals) or any/unknown, and `obj` is not an
// array, tuple, typed array or Map/Set/WeakMap, nor declared as `Object.create(null)` (a
// variable, class field or object property initialised so). Fix a finding with a Map, an
// Object.create(null) target, an Object.hasOwn or allow-list check, or justify it inline.
import ts from "typescript";

const SAFE_CONTAINERS = /^(Map|Set|WeakMap|ReadonlyMap|ReadonlySet|Headers|URLSearchParams|FormData)$/;

function isWideStringKey(type) {
  if (type.isUnion()) return type.types.some(isWideStringKey);
  const f = type.getFlags();
  if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return true;
  if (f & ts.TypeFlags.String) return true; // `string`, not a string literal
  if (f & ts.TypeFlags.TemplateLiteral) return true;
  if (f & ts.TypeFlags.TypeParameter) {
    const c = type.getConstraint?.();
    return c === undefined || isWideStringKey(c);
  }
  return false;
}

/** Whether `node`'s declaration initialises it with Object.create(null) (no prototype to reach). */
function isNullPrototype(checker, tsNode) {
  const symbol = checker.getSymbolAtLocation(tsNode);
  const decl = symbol?.valueDeclaration ?? symbol?.declarations?.[0];
  let init =
    decl !== undefined &&
    (ts.isVariableDeclaration(decl) || ts.isPropertyDeclaration(decl) || ts.isPropertyAssignment(decl))
      ? decl.initializer
      : undefined;
  while (
    init !== undefined &&
    (ts.isAsExpression(init) || ts.isSatisfiesExpression(init) || ts.isParenthesizedExpression(init))
  )
    init = init.expression;
  return (
    init !== undefined &&
    ts.isCallExpression(init) &&
    init.expression.getText() === "Object.create" &&
    init.arguments.length >= 1 &&
    init.arguments[0].kind === ts.SyntaxKind.NullKeyword
  );
}

function isSafeContainer(checker, type) {
  if (type.isUnion()) return type.types.every((t) => isSafeContainer(checker, t));
  if (checker.isArrayType(type) || checker.isTupleType(type)) return true;
  const name = type.getSymbol()?.getName() ?? type.aliasSymbol?.getName() ?? "";
  if (/Array$/.test(name) || name === "Buffer") return true; // typed arrays, Buffer
  return SAFE_CONTAINERS.test(name);
}

const noStringKeyWrite = {
  meta: {
    type: "problem",
    messages: {
      write:
        '{{what}} a plain object with a key of type string: a key from input such as "__proto__" or "constructor" reaches the prototype. Use a Map or an Object.create(null) target, check the key (Object.hasOwn, an allow-list), or justify it inline (docs/supply-chain.md).',
    },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (services?.program == null) throw new Error("hangar/no-string-key-write needs type information");
    const checker = services.program.getTypeChecker();
    const typeOf = (node) => checker.getTypeAtLocation(services.esTreeNodeToTSNodeMap.get(node));
    const check = (node, what) => {
      let member = node;
      while (
        member?.type === "TSAsExpression" ||
        member?.type === "TSNonNullExpression" ||
        member?.type === "TSSatisfiesExpression"
      )
        member = member.expression;
      if (member?.type !== "MemberExpression" || !member.computed) return;
      if (member.property.type === "Literal") return;
      const keyType = typeOf(member.property);
      if (!isWideStringKey(keyType)) return;
      const objType = typeOf(member.object);
      if (isSafeContainer(checker, objType)) return;
      if (isNullPrototype(checker, services.esTreeNodeToTSNodeMap.get(member.object))) return;
      context.report({ node: member, messageId: "write", data: { what } });
    };
    return {
      AssignmentExpression: (n) => check(n.left, "writes to"),
      UpdateExpression: (n) => check(n.argument, "writes to"),
      "UnaryExpression[operator='delete']": (n) => check(n.argument, "deletes from"),
      CallExpression: (n) => check(n.callee, "calls a function read from"),
    };
  },
};

export default { meta: { name: "hangar-security" }, rules: { "no-string-key-write": noStringKeyWrite } };
