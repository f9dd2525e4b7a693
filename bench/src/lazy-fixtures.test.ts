// The bench's fixture pools (the ones decode/*, normalize/* and pipeline/intake use, and the
// simulator serves) decoded by the generated lazy readers and by fromBinary: equal on every
// generated field.
import assert from "node:assert/strict";
import { it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { hubbleLazy, lazyDifference, observer, tetragon, tetragonLazy } from "@hangar/proto";
import { FIXTURE_KINDS, encode, fixture } from "./fixtures.js";
import { hubblePool } from "./hubble-fixtures.js";

it("lazy readers agree with fromBinary on every bench fixture pool", () => {
  let n = 0;
  for (const kind of FIXTURE_KINDS) {
    for (const bytes of encode(fixture(kind, 1024))) {
      const d = lazyDifference(
        tetragonLazy.decodeGetEventsResponse(bytes),
        fromBinary(tetragon.GetEventsResponseSchema, bytes),
      );
      assert.equal(d, undefined, `${kind} #${n}: ${d ?? ""}`);
      n++;
    }
  }
  for (const bytes of hubblePool(1024)) {
    const d = lazyDifference(
      hubbleLazy.decodeGetFlowsResponse(bytes),
      fromBinary(observer.GetFlowsResponseSchema, bytes),
    );
    assert.equal(d, undefined, `hubble #${n}: ${d ?? ""}`);
    n++;
  }
  assert.equal(n, 3 * 1024);
});
