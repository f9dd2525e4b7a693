// Guards the OTLP field numbers the metrics receiver in the agent's tests relies on: if one
// of these fails, a .proto edit broke wire compatibility with real OTLP exporters.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";

import { otlp } from "../src/index.js";

function numbers(schema: DescMessage): Record<string, number> {
  return Object.fromEntries(schema.fields.map((field) => [field.name, field.number]));
}

describe("otlp descriptors match upstream", () => {
  it("collector, resource and scope messages", () => {
    assert.equal(otlp.MetricsService.typeName, "opentelemetry.proto.collector.metrics.v1.MetricsService");
    assert.deepEqual(numbers(otlp.ExportMetricsServiceRequestSchema), { resource_metrics: 1 });
    assert.deepEqual(numbers(otlp.ExportMetricsPartialSuccessSchema), {
      rejected_data_points: 1,
      error_message: 2,
    });
    assert.deepEqual(numbers(otlp.ResourceMetricsSchema), { resource: 1, scope_metrics: 2, schema_url: 3 });
    assert.deepEqual(numbers(otlp.ScopeMetricsSchema), { scope: 1, metrics: 2, schema_url: 3 });
    assert.deepEqual(numbers(otlp.ResourceSchema), { attributes: 1, dropped_attributes_count: 2 });
    assert.deepEqual(numbers(otlp.KeyValueSchema), { key: 1, value: 2 });
    assert.deepEqual(numbers(otlp.AnyValueSchema), {
      string_value: 1,
      bool_value: 2,
      int_value: 3,
      double_value: 4,
      array_value: 5,
      kvlist_value: 6,
      bytes_value: 7,
    });
  });

  it("metric and data point messages", () => {
    assert.deepEqual(numbers(otlp.MetricSchema), {
      name: 1,
      description: 2,
      unit: 3,
      gauge: 5,
      sum: 7,
      histogram: 9,
      metadata: 12,
    });
    assert.deepEqual(numbers(otlp.SumSchema), {
      data_points: 1,
      aggregation_temporality: 2,
      is_monotonic: 3,
    });
    assert.deepEqual(numbers(otlp.NumberDataPointSchema), {
      attributes: 7,
      start_time_unix_nano: 2,
      time_unix_nano: 3,
      as_double: 4,
      as_int: 6,
      flags: 8,
    });
    assert.deepEqual(numbers(otlp.HistogramDataPointSchema), {
      attributes: 9,
      start_time_unix_nano: 2,
      time_unix_nano: 3,
      count: 4,
      sum: 5,
      bucket_counts: 6,
      explicit_bounds: 7,
      flags: 10,
      min: 11,
      max: 12,
    });
    assert.equal(otlp.AggregationTemporality.CUMULATIVE, 2);
    assert.equal(otlp.AggregationTemporality.DELTA, 1);
  });

  it("fields left out of the subset survive a decode as unknown fields", () => {
    // A Metric with an exponential histogram (field 10) that this subset does not model.
    const full = toBinary(otlp.MetricSchema, create(otlp.MetricSchema, { name: "m" }));
    const withExp = Buffer.concat([full, Buffer.from([0x52, 0x00])]);
    const decoded = fromBinary(otlp.MetricSchema, withExp);
    assert.equal(decoded.name, "m");
    assert.equal(decoded.$unknown?.[0]?.no, 10);
  });
});
