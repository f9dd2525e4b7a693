/** The canonicalizer against the examples of RFC 8785 (sections 3.2.2, 3.2.3 and appendix B). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { canonicalize } from "./jcs.js";

const fromHex = (hex: string): number => Buffer.from(hex, "hex").readDoubleBE(0);

describe("RFC 8785 canonical JSON", () => {
  it("writes the example of section 3.2.2 (numbers, strings, literals) byte for byte", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    ) as unknown;
    assert.equal(
      canonicalize(input),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts members by UTF-16 code units (section 3.2.3)", () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    ) as Record<string, string>;
    // Compare the text: a parsed object would put the integer key "1" first again.
    assert.equal(
      canonicalize(input),
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("writes the IEEE 754 values of appendix B as ECMAScript does", () => {
    const cases: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [hex, want] of cases) assert.equal(canonicalize(fromHex(hex)), want, hex);
  });

  it("refuses what has no canonical form: NaN, Infinity, lone surrogates, non-plain objects", () => {
    assert.throws(
      () => canonicalize({ a: [fromHex("7fffffffffffffff")] }),
      /\$\.a\[0\]: NaN is not a JSON number/,
    );
    assert.throws(() => canonicalize(fromHex("7ff0000000000000")), /Infinity is not a JSON number/);
    assert.throws(() => canonicalize({ s: "\ud800x" }), /\$\.s: a string with a lone surrogate/);
    assert.throws(() => canonicalize({ d: new Date(0) }), /\$\.d: only plain objects/);
  });

  it("drops undefined members and keeps nesting canonical", () => {
    assert.equal(
      canonicalize({ b: { z: 1, a: [true, "x"] }, a: undefined, c: null }),
      '{"b":{"a":[true,"x"],"z":1},"c":null}',
    );
  });
});
