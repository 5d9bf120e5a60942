// Every validation rule refuses a bad document with the exact diagnostic: each case edits one
// line of a valid product (or appends lines to it) and lists what ParseDocuments must report.

#include <gtest/gtest.h>

#include "spec/spec.h"

namespace loom::spec {
namespace {

constexpr char kBase[] = R"(apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: media-player
  name: play-events
  version: 1.0.0
  owner: group:media-player-team
spec:
  schema:
    fields:
      - {name: event_id, type: uuid, primaryKey: true}
      - {name: user_id, type: string, required: true}
      - {name: played_at, type: timestamp}
      - {name: duration_ms, type: int64}
  outputPorts:
    - name: events
      kind: stream
      stream: {partitionKey: [user_id], eventTime: played_at}
)";

struct Case {
  const char* name;
  const char* find;  // text of kBase to replace; "+" appends `replace` instead
  const char* replace;
  std::vector<std::string> want;  // the diagnostics, file "t.yaml"
};

std::string Apply(const Case& c) {
  std::string text = kBase;
  if (std::string_view(c.find) == "+") return text + c.replace + "\n";
  size_t at = text.find(c.find);
  EXPECT_NE(at, std::string::npos) << c.name;
  return at == std::string::npos ? text
                                 : text.replace(at, std::string_view(c.find).size(), c.replace);
}

const Case
    kCases[] =
        {
            {"typo_suppresses_missing",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {nmae: user_id, type: string, required: true})",
             {R"(t.yaml:12:10: spec.schema.fields[1].nmae: unknown key 'nmae' (did you mean 'name'?))"}},
            {"unknown_key_lists_expected",
             R"(  owner: group:media-player-team)",
             R"(  owner: group:media-player-team
  colour: blue)",
             {R"(t.yaml:8:3: metadata.colour: unknown key 'colour' (expected domain, name, version, title, description, owner or tags))"}},
            {"classification_typo",
             R"(  schema:)",
             R"(  classification: confidental
  schema:)",
             {R"(t.yaml:9:19: spec.classification: unknown value 'confidental' (did you mean 'confidential'?))"}},
            {"alignment_unknown",
             R"(  schema:)",
             R"(  alignment: upstream
  schema:)",
             {R"(t.yaml:9:14: spec.alignment: unknown value 'upstream' (expected source, consumer or shared))"}},
            {"field_name_camel",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {name: userId, type: string, required: true})",
             {R"(t.yaml:12:16: spec.schema.fields[1].name: 'userId' is not a valid field name: may contain only lowercase letters, digits and '_')"}},
            {"decimal_scale",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: 'decimal(10,11)'})",
             {R"(t.yaml:14:35: spec.schema.fields[3].type: type 'decimal(10,11)': decimal scale must be between 0 and the precision 10, got 11)"}},
            {"list_of_typo",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: list<strng>})",
             {R"(t.yaml:14:35: spec.schema.fields[3].type: unknown type 'strng' (did you mean 'string'?))"}},
            {"fields_on_scalar",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: int64, fields: [{name: a, type: string}]})",
             {R"(t.yaml:14:50: spec.schema.fields[3].fields: 'fields' applies only to struct types (the type is int64))"}},
            {"primary_key_list",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: list<int64>, primaryKey: true})",
             {R"(t.yaml:14:60: spec.schema.fields[3].primaryKey: a list<int64> field cannot be a primary key)"}},
            {"primary_key_optional",
             R"(      - {name: event_id, type: uuid, primaryKey: true})",
             R"(      - {name: event_id, type: uuid, primaryKey: true, required: false})",
             {R"(t.yaml:11:66: spec.schema.fields[0].required: a primary key field cannot be optional)"}},
            {"truncate_on_int",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: int64, pii: true, mask: truncate})",
             {R"(t.yaml:14:59: spec.schema.fields[3].mask: truncate applies only to string, date and timestamp fields (the type is int64))"}},
            {"mask_unknown",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: int64, pii: true, mask: encrypt})",
             {R"(t.yaml:14:59: spec.schema.fields[3].mask: unknown value 'encrypt' (expected redact, hash, tokenize, truncate or null))"}},
            {"min_above_max",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: int64, constraints: {min: 10, max: 1}})",
             {R"(t.yaml:14:70: spec.schema.fields[3].constraints.max: max must not be less than min)"}},
            {"min_length_on_int",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: int64, constraints: {minLength: 1}})",
             {R"(t.yaml:14:67: spec.schema.fields[3].constraints.minLength: minLength applies only to string and list fields (the type is int64))"}},
            {"min_on_string",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {name: user_id, type: string, constraints: {min: 1}})",
             {R"(t.yaml:12:58: spec.schema.fields[1].constraints.min: min applies only to numeric fields (the type is string))"}},
            {"enum_duplicate",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {name: user_id, type: string, constraints: {enum: [a, b, a]}})",
             {R"(t.yaml:12:66: spec.schema.fields[1].constraints.enum[2]: duplicate value 'a')"}},
            {"min_not_number",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: duration_ms, type: int64, constraints: {min: zero}})",
             {R"(t.yaml:14:61: spec.schema.fields[3].constraints.min: expected a number, got 'zero')"}},
            {"required_not_bool",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {name: user_id, type: string, required: yes})",
             {R"(t.yaml:12:49: spec.schema.fields[1].required: expected true or false, got 'yes')"}},
            {"global_type_name",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {name: user_id, type: string, globalType: User-Id})",
             {R"(t.yaml:12:51: spec.schema.fields[1].globalType: 'User-Id' is not a valid global type name: must start with a lowercase letter or '_')"}},
            {"nested_struct_field",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: device, type: struct, fields: [{name: os, type: strin}]})",
             {R"(t.yaml:14:64: spec.schema.fields[3].fields[0].type: unknown type 'strin' (did you mean 'string'?))"}},
            {"list_struct_needs_fields",
             R"(      - {name: duration_ms, type: int64})",
             R"(      - {name: devices, type: list<struct>})",
             {R"(t.yaml:14:9: spec.schema.fields[3]: missing required key 'fields' (a struct lists its members under 'fields'))"}},
            {"no_fields",
             R"(      - {name: event_id, type: uuid, primaryKey: true}
      - {name: user_id, type: string, required: true}
      - {name: played_at, type: timestamp}
      - {name: duration_ms, type: int64}
  outputPorts:
    - name: events
      kind: stream
      stream: {partitionKey: [user_id], eventTime: played_at})",
             R"(  outputPorts:
    - name: events
      kind: stream)",
             {R"(t.yaml:10:5: spec.schema.fields: expected a list, got nothing)"}},
            {"missing_schema",
             R"(  schema:
    fields:
      - {name: event_id, type: uuid, primaryKey: true}
      - {name: user_id, type: string, required: true}
      - {name: played_at, type: timestamp}
      - {name: duration_ms, type: int64}
  outputPorts:
    - name: events
      kind: stream
      stream: {partitionKey: [user_id], eventTime: played_at})",
             R"(  outputPorts:
    - name: events
      kind: stream)",
             {R"(t.yaml:9:3: spec: missing required key 'schema')"}},
            {"partitions_zero",
             R"(stream: {partitionKey)",
             R"(stream: {partitions: 0, partitionKey)",
             {R"(t.yaml:18:28: spec.outputPorts[0].stream.partitions: must be between 1 and 256, got 0)"}},
            {"partitions_text",
             R"(stream: {partitionKey)",
             R"(stream: {partitions: many, partitionKey)",
             {R"(t.yaml:18:28: spec.outputPorts[0].stream.partitions: expected a whole number, got 'many')"}},
            {"partition_key_list",
             R"(      - {name: user_id, type: string, required: true})",
             R"(      - {name: user_id, type: list<string>})",
             {R"(t.yaml:18:31: spec.outputPorts[0].stream.partitionKey[0]: field 'user_id' is a list<string> and cannot be a partition key)"}},
            {"fsync_unknown",
             R"(stream: {partitionKey)",
             R"(stream: {fsync: sometimes, partitionKey)",
             {R"(t.yaml:18:23: spec.outputPorts[0].stream.fsync: unknown value 'sometimes' (expected always, interval or never))"}},
            {"retention_scalar",
             R"(stream: {partitionKey)",
             R"(stream: {retention: 30d, partitionKey)",
             {R"(t.yaml:18:27: spec.outputPorts[0].stream.retention: expected 'forever' or a map {time: 30d, bytes: 10GiB}, got '30d')"}},
            {"retention_empty_map",
             R"(stream: {partitionKey)",
             R"(stream: {retention: {}, partitionKey)",
             {R"(t.yaml:18:27: spec.outputPorts[0].stream.retention: needs time, bytes or both (or write 'forever'))"}},
            {"retention_bad_size",
             R"(stream: {partitionKey)",
             R"(stream: {retention: {time: 30d, bytes: 10G}, partitionKey)",
             {R"(t.yaml:18:46: spec.outputPorts[0].stream.retention.bytes: '10G' is not a size (did you mean '10GiB'?))"}},
            {"max_event_over_segment",
             R"(stream: {partitionKey)",
             R"(stream: {segmentBytes: 64KiB, maxEventBytes: 1MiB, partitionKey)",
             {R"(t.yaml:18:52: spec.outputPorts[0].stream.maxEventBytes: must not exceed segmentBytes (64KiB))"}},
            {"segment_too_small",
             R"(stream: {partitionKey)",
             R"(stream: {segmentBytes: 10B, partitionKey)",
             {R"(t.yaml:18:30: spec.outputPorts[0].stream.segmentBytes: must be between 1KiB and 16GiB)"}},
            {"on_invalid_typo",
             R"(stream: {partitionKey)",
             R"(stream: {onInvalid: quarantaine, partitionKey)",
             {R"(t.yaml:18:27: spec.outputPorts[0].stream.onInvalid: unknown value 'quarantaine' (did you mean 'quarantine'?))"}},
            {"zero_duration",
             R"(stream: {partitionKey)",
             R"(stream: {segmentTime: 0s, partitionKey)",
             {R"(t.yaml:18:29: spec.outputPorts[0].stream.segmentTime: must be longer than 0)"}},
            {"unknown_stream_key",
             R"(stream: {partitionKey)",
             R"(stream: {partitionkey: [user_id], partitionKey)",
             {R"(t.yaml:18:16: spec.outputPorts[0].stream.partitionkey: unknown key 'partitionkey' (did you mean 'partitionKey'?))"}},
            {"port_kind_missing",
             R"(      kind: stream
)",
             R"()",
             {R"(t.yaml:16:7: spec.outputPorts[0]: missing required key 'kind')"}},
            {"port_kind_unknown",
             R"(      kind: stream)",
             R"(      kind: queue)",
             {R"(t.yaml:17:13: spec.outputPorts[0].kind: unknown value 'queue' (expected stream or table))"}},
            {"table_on_stream",
             R"(      stream: {partitionKey: [user_id], eventTime: played_at})",
             R"(      table: {retainVersions: 3})",
             {R"(t.yaml:18:14: spec.outputPorts[0].table: 'table' settings apply only to ports of kind table)"}},
            {"duplicate_port",
             R"(+)",
             R"(    - {name: events, kind: table})",
             {R"(t.yaml:19:14: spec.outputPorts[1].name: duplicate port name 'events' (first at line 16))"}},
            {"snapshot_from_table",
             R"(+)",
             R"(    - {name: daily, kind: table}
    - {name: monthly, kind: table, table: {snapshot: {from: daily, interval: monthly}}})",
             {R"(t.yaml:20:61: spec.outputPorts[2].table.snapshot.from: port 'daily' is a table; a snapshot is taken from a stream port)"}},
            {"snapshot_interval",
             R"(+)",
             R"(    - {name: daily, kind: table, table: {snapshot: {from: events, interval: weekly}}})",
             {R"(t.yaml:19:77: spec.outputPorts[1].table.snapshot.interval: unknown value 'weekly' (expected hourly, daily or monthly))"}},
            {"retain_versions_zero",
             R"(+)",
             R"(    - {name: daily, kind: table, table: {retainVersions: 0}})",
             {R"(t.yaml:19:58: spec.outputPorts[1].table.retainVersions: must be between 1 and 1000000, got 0)"}},
            {"ports_not_list",
             R"(  outputPorts:
    - name: events
      kind: stream
      stream: {partitionKey: [user_id], eventTime: played_at})",
             R"(  outputPorts:
    name: events)",
             {R"(t.yaml:16:5: spec.outputPorts: expected a list, got a map)"}},
            {"input_bad_scheme",
             R"(+)",
             R"(  inputPorts:
    - {alias: tracks, address: 'http://artists/tracks/current'})",
             {R"(t.yaml:20:32: spec.inputPorts[0].address: address 'http://artists/tracks/current': scheme must be loom://)"}},
            {"input_bad_alias",
             R"(+)",
             R"(  inputPorts:
    - {alias: my-tracks, address: loom://artists/tracks/current})",
             {R"(t.yaml:20:15: spec.inputPorts[0].alias: 'my-tracks' is not a valid alias (a SQL name): may contain only lowercase letters, digits and '_')"}},
            {"input_duplicate_alias",
             R"(+)",
             R"(  inputPorts:
    - {alias: tracks, address: loom://artists/tracks/current}
    - {alias: tracks, address: loom://artists/tracks/history})",
             {R"(t.yaml:21:15: spec.inputPorts[1].alias: duplicate alias 'tracks' (first at line 20))"}},
            {"input_missing_address",
             R"(+)",
             R"(  inputPorts:
    - {alias: tracks})",
             {R"(t.yaml:20:7: spec.inputPorts[0]: missing required key 'address')"}},
            {"transform_missing_sql",
             R"(+)",
             R"(  transform: {output: events})",
             {R"(t.yaml:19:14: spec.transform: missing required key 'sql')"}},
            {"transform_mode",
             R"(+)",
             R"(  transform: {output: events, sql: SELECT 1, mode: stream})",
             {R"(t.yaml:19:52: spec.transform.mode: unknown value 'stream' (expected batch or streaming))"}},
            {"transform_schedule",
             R"(+)",
             R"(  transform: {output: events, sql: SELECT 1, schedule: weekly})",
             {R"(t.yaml:19:56: spec.transform.schedule: unknown schedule 'weekly' (expected on-input, hourly, daily, monthly or a cron expression of 5 fields))"}},
            {"transform_schedule_cron", R"(+)", R"(  transform: {output: events, sql: SELECT 1, schedule: '0 * * *'})", {R"(t.yaml:19:56: spec.transform.schedule: unknown schedule '0 * * *' (expected on-input, hourly, daily, monthly or a cron expression of 5 fields))"}},
            {"transform_step_kind",
             R"(+)",
             R"(  transform: {output: events, sql: SELECT 1, steps: [{kind: dedup}]})",
             {R"(t.yaml:19:61: spec.transform.steps[0].kind: unknown value 'dedup' (did you mean 'dedupe'?))"}},
            {"transform_window",
             R"(+)",
             R"(  transform: {output: events, sql: SELECT 1, window: 1 hour})",
             {R"(t.yaml:19:54: spec.transform.window: '1 hour' is not a duration (expected a whole number and a unit ms, s, m, h, d or w, e.g. 5m))"}},
            {"slo_kind",
             R"(+)",
             R"(  slos:
    - {kind: latency, threshold: 5m})",
             {R"(t.yaml:20:14: spec.slos[0].kind: unknown value 'latency' (expected freshness, completeness, validity, availability or timeliness))"}},
            {"slo_availability_threshold",
             R"(+)",
             R"(  slos:
    - {kind: availability, threshold: 0.99})",
             {R"(t.yaml:20:39: spec.slos[0].threshold: an availability SLO takes no threshold; set its objective)"}},
            {"slo_validity_share",
             R"(+)",
             R"(  slos:
    - {kind: validity, threshold: 98})",
             {R"(t.yaml:20:35: spec.slos[0].threshold: a validity threshold is a share greater than 0 and at most 1, got 98)"}},
            {"slo_freshness_missing",
             R"(+)",
             R"(  slos:
    - {kind: freshness, objective: 0.9})",
             {R"(t.yaml:20:7: spec.slos[0]: missing required key 'threshold')"}},
            {"slo_freshness_share",
             R"(+)",
             R"(  slos:
    - {kind: freshness, threshold: 0.5})",
             {R"(t.yaml:20:36: spec.slos[0].threshold: '0.5' is not a duration (expected a whole number and a unit ms, s, m, h, d or w, e.g. 5m))"}},
            {"slo_port",
             R"(+)",
             R"(  slos:
    - {kind: completeness, threshold: 0.9, port: event})",
             {R"(t.yaml:20:50: spec.slos[0].port: no output port 'event' in this product (did you mean 'events'?))"}},
            {"slo_objective_zero",
             R"(+)",
             R"(  slos:
    - {kind: completeness, threshold: 0.9, objective: 0})",
             {R"(t.yaml:20:55: spec.slos[0].objective: must be greater than 0 and at most 1 (a share, e.g. 0.99))"}},
            {"quality_member_not_applying",
             R"(+)",
             R"(  quality:
    - {name: ids, kind: not_null, fields: [event_id], values: [a]})",
             {R"(t.yaml:20:63: spec.quality[0].values: 'values' does not apply to a not_null expectation)"}},
            {"quality_range_no_bounds",
             R"(+)",
             R"(  quality:
    - {name: d, kind: range, fields: [duration_ms]})",
             {R"(t.yaml:20:7: spec.quality[0]: a range expectation needs min, max or both)"}},
            {"quality_unknown_field",
             R"(+)",
             R"(  quality:
    - {name: u, kind: unique, fields: [event_id, userid]})",
             {R"(t.yaml:20:50: spec.quality[0].fields[1]: no field 'userid' in the schema (did you mean 'user_id'?))"}},
            {"quality_two_fields",
             R"(+)",
             R"(  quality:
    - {name: p, kind: pattern, fields: [user_id, event_id], pattern: '^u'})",
             {R"(t.yaml:20:40: spec.quality[0].fields: a pattern expectation takes exactly one field)"}},
            {"quality_pattern_bad",
             R"(+)",
             R"(  quality:
    - {name: p, kind: pattern, fields: [user_id], pattern: '(u'})",
             {R"(t.yaml:20:60: spec.quality[0].pattern: '(u' is not a valid ECMAScript regular expression)"}},
            {"quality_change",
             R"(+)",
             R"(  quality:
    - {name: c, kind: row_count_change, maxChange: 0})",
             {R"(t.yaml:20:52: spec.quality[0].maxChange: must be greater than 0 (a share of the previous count, e.g. 0.5))"}},
            {"quality_row_count_negative",
             R"(+)",
             R"(  quality:
    - {name: c, kind: row_count, min: -1})",
             {R"(t.yaml:20:39: spec.quality[0].min: must not be negative)"}},
            {"quality_freshness_field",
             R"(+)",
             R"(  quality:
    - {name: f, kind: freshness, fields: [user_id], maxAge: 1h})",
             {R"(t.yaml:20:43: spec.quality[0].fields[0]: a freshness expectation needs a timestamp field ('user_id' is string))"}},
            {"quality_referential",
             R"(+)",
             R"(  quality:
    - {name: r, kind: referential, fields: [user_id], reference: 'loom://users/accounts', referenceField: id})",
             {R"(t.yaml:20:66: spec.quality[0].reference: address 'loom://users/accounts' names a product, not a port (expected loom://<domain>/<product>/<port>))"}},
            {"quality_duplicate_name",
             R"(+)",
             R"(  quality:
    - {name: c, kind: row_count, min: 1}
    - {name: c, kind: row_count, max: 10})",
             {R"(t.yaml:21:14: spec.quality[1].name: duplicate expectation name 'c' (first at line 20))"}},
            {"quality_kind_typo",
             R"(+)",
             R"(  quality:
    - {name: c, kind: notnull, fields: [event_id]})",
             {R"(t.yaml:20:23: spec.quality[0].kind: unknown value 'notnull' (did you mean 'not_null'?))"}},
            {"quality_severity",
             R"(+)",
             R"(  quality:
    - {name: c, kind: row_count, min: 1, severity: error})",
             {R"(t.yaml:20:52: spec.quality[0].severity: unknown value 'error' (expected block or warn))"}},
            {"quality_name",
             R"(+)",
             R"(  quality:
    - {name: Row Count, kind: row_count, min: 1})",
             {R"(t.yaml:20:14: spec.quality[0].name: 'Row Count' is not a valid name: must start with a lowercase letter)"}},
            {"quality_nested_field",
             R"(+)",
             R"(  quality:
    - {name: n, kind: not_null, fields: [device.os]})",
             {R"(t.yaml:20:42: spec.quality[0].fields[0]: no field 'device.os' in the schema)"}},
            {"access_empty_permissions",
             R"(+)",
             R"(  access:
    - {principal: group:analysts, permissions: []})",
             {R"(t.yaml:20:48: spec.access[0].permissions: needs at least one permission (read, write or unmask))"}},
            {"access_duplicate_permission",
             R"(+)",
             R"(  access:
    - {principal: group:analysts, permissions: [read, read]})",
             {R"(t.yaml:20:55: spec.access[0].permissions[1]: duplicate permission 'read')"}},
            {"access_port",
             R"(+)",
             R"(  access:
    - {principal: group:analysts, permissions: [read], port: daily})",
             {R"(t.yaml:20:62: spec.access[0].port: no output port 'daily' in this product)"}},
            {"access_principal",
             R"(+)",
             R"(  access:
    - {principal: analysts, permissions: [read]})",
             {R"(t.yaml:20:19: spec.access[0].principal: 'analysts' is not a principal (expected user:NAME, group:NAME or service:NAME))"}},
            {"access_row_filter_empty",
             R"(+)",
             R"(  access:
    - {principal: group:analysts, permissions: [read], rowFilter: ''})",
             {R"(t.yaml:20:67: spec.access[0].rowFilter: must not be empty (leave the key out instead))"}},
            {"tags_invalid",
             R"(  owner: group:media-player-team)",
             R"(  owner: group:media-player-team
  tags: [Plays, events, events])",
             {R"(t.yaml:8:10: metadata.tags[0]: 'Plays' is not a valid tag: must start with a lowercase letter)",
              R"(t.yaml:8:25: metadata.tags[2]: duplicate tag 'events')"}},
            {"deprecated_empty",
             R"(+)",
             R"(  deprecated: '')",
             {R"(t.yaml:19:15: spec.deprecated: must not be empty (leave the key out instead))"}},
            {"name_invalid",
             R"(  name: play-events)",
             R"(  name: play_events)",
             {R"(t.yaml:5:9: metadata.name: 'play_events' is not a valid name: may contain only lowercase letters, digits and '-')"}},
            {"domain_missing",
             R"(  domain: media-player
)",
             R"()",
             {R"(t.yaml:4:3: metadata: missing required key 'domain')"}},
            {"metadata_list",
             R"(metadata:
  domain: media-player
  name: play-events
  version: 1.0.0
  owner: group:media-player-team)",
             R"(metadata:
  - domain: media-player)",
             {R"(t.yaml:4:3: metadata: expected a map, got a list)"}},
            {"three_problems",
             R"(  version: 1.0.0)",
             R"(  version: v1
  title: [a]
  colour: blue)",
             {R"(t.yaml:6:12: metadata.version: 'v1' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0))",
              R"(t.yaml:7:10: metadata.title: expected a text value, got a list)",
              R"(t.yaml:8:3: metadata.colour: unknown key 'colour' (expected domain, name, version, title, description, owner or tags))"}},
            {"not_a_map",
             R"(apiVersion: loom/v1
kind: DataProduct
metadata:)",
             R"(- apiVersion: loom/v1
- kind: DataProduct
- metadata:)",
             {R"(t.yaml:1:1: a descriptor must be a map with apiVersion, kind, metadata and spec, got a list)"}},
            {"empty_kind",
             R"(kind: DataProduct)",
             R"(kind:)",
             {R"(t.yaml:2:1: kind: needs a value: Domain, DataProduct or Policy)"}},
            {"empty_title_is_empty_text",
             R"(  version: 1.0.0)",
             R"(  version: 1.0.0
  title:)",
             {}},
            {"empty_fields_at_key",
             R"(      - {name: event_id, type: uuid, primaryKey: true}
      - {name: user_id, type: string, required: true}
      - {name: played_at, type: timestamp}
      - {name: duration_ms, type: int64}
)",
             R"()",
             {R"(t.yaml:10:5: spec.schema.fields: expected a list, got nothing)"}},
};

class ValidationTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidationTest, ReportsExactlyTheExpectedDiagnostics) {
  const Case& c = GetParam();
  std::vector<Diagnostic> diags;
  Result<std::vector<Document>> docs = ParseDocuments(Apply(c), "t.yaml", &diags);
  std::vector<std::string> got;
  for (const Diagnostic& d : diags) got.push_back(d.ToString());
  EXPECT_EQ(got, c.want);
  EXPECT_EQ(docs.ok(), c.want.empty());
  if (!docs.ok()) {
    EXPECT_EQ(docs.status().code(), StatusCode::kInvalidArgument);
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, ValidationTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.name);
                         });

TEST(ValidationBaseTest, TheUneditedBaseIsValid) {
  Result<std::vector<Document>> docs = ParseDocuments(kBase, "t.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().message();
}

}  // namespace
}  // namespace loom::spec
