#pragma once

// Stream-port tests: a real log::Log with partitions, CloudEvents JSON records written by the
// test, and helpers to query a StreamTier's relation through a Session.

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "log/log.h"
#include "spec/spec.h"
#include "testing/testing.h"

namespace loom::engine {

inline spec::Field MakeField(const std::string& name, const std::string& type) {
  spec::Field f;
  f.name = name;
  auto t = spec::ParseFieldType(type);
  EXPECT_TRUE(t.ok()) << type;
  if (t.ok()) f.type = *t;
  return f;
}

// The play-event schema: every field type the tier must carry.
inline spec::Schema PlaySchema() {
  spec::Schema s;
  s.fields = {MakeField("user_id", "int64"),
              MakeField("track_id", "int32"),
              MakeField("country", "string"),
              MakeField("email", "string"),
              MakeField("amount", "decimal(18,2)"),
              MakeField("played_at", "timestamp"),
              MakeField("day", "date"),
              MakeField("premium", "bool"),
              MakeField("score", "double"),
              MakeField("tags", "list<string>"),
              MakeField("device", "string"),
              MakeField("session", "uuid")};
  spec::Field dev;
  dev.name = "device";
  dev.type.kind = spec::TypeKind::kStruct;
  dev.type.fields = {MakeField("os", "string"), MakeField("version", "int32")};
  s.fields[10] = dev;
  return s;
}

// Event `i` of partition `p`: values derived from (p, i), so a test can check any of them.
inline std::string PlayEvent(int32_t p, int64_t i) {
  char buf[1024];
  std::snprintf(
      buf, sizeof buf,
      "{\"specversion\":\"1.0\",\"id\":\"ev-%d-%lld\",\"source\":\"/media-player\","
      "\"type\":\"media.play.v1\",\"time\":\"2026-11-26T10:%02lld:%02lldZ\","
      "\"datacontenttype\":\"application/json\",\"traceparent\":\"00-abc-01\",\"data\":{"
      "\"user_id\":%lld,\"track_id\":%lld,\"country\":\"%s\",\"email\":\"u%lld@example.com\","
      "\"amount\":%lld.%02lld,\"played_at\":\"2026-11-26T09:00:00.000123Z\",\"day\":\"2026-11-2%"
      "d\","
      "\"premium\":%s,\"score\":0.5,\"tags\":[\"a\",\"t%lld\"],"
      "\"device\":{\"os\":\"ios\",\"version\":%lld},"
      "\"session\":\"6f1c2a4e-8d1b-4c7a-9e2f-%012lld\",\"unknown_extra\":[1,2]}}",
      p, static_cast<long long>(i), static_cast<long long>(i / 60 % 60),
      static_cast<long long>(i % 60), static_cast<long long>(1000 * p + i),
      static_cast<long long>(i % 1000), i % 2 == 0 ? "SE" : "NO", static_cast<long long>(i),
      static_cast<long long>(i), static_cast<long long>(i % 100), p % 10,
      i % 3 == 0 ? "true" : "false", static_cast<long long>(i), static_cast<long long>(i % 17),
      static_cast<long long>(i));
  return buf;
}

// Appends events [from, from + n) of partition p, one batch.
inline void AppendEvents(log::Log& log, int32_t p, int64_t from, int64_t n) {
  std::vector<std::string> values;
  std::vector<log::Record> records;
  values.reserve(n);
  for (int64_t i = from; i < from + n; ++i) values.push_back(PlayEvent(p, i));
  for (const std::string& v : values) {
    records.push_back({1764151200000000 + static_cast<int64_t>(records.size()), "", v});
  }
  auto r = log.Append(p, records);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->first.value, from);
}

inline void AppendRaw(log::Log& log, int32_t p, const std::string& value) {
  log::Record rec{1764151200000000, "", value};
  auto r = log.Append(p, std::span<const log::Record>(&rec, 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

inline std::unique_ptr<log::Log> OpenLog(const std::string& dir, int32_t partitions,
                                         log::LogOptions o = {}) {
  o.partitions = partitions;
  o.fsync = log::FsyncPolicy::kNever;
  auto l = log::Log::Open(dir, o);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  return l.ok() ? std::move(*l) : nullptr;
}

inline constexpr const char* kPlays = "media_player.play_events.events";

// Runs `sql` in a fresh session over `rel`.
inline Rows QueryRelation(const Relation& rel, const std::string& sql) {
  SessionOptions so;
  so.threads = 2;
  so.relations = {rel};
  auto session = Session::Open(so);
  EXPECT_TRUE(session.ok()) << session.status().ToString();
  if (!session.ok()) return {};
  auto rows = (*session)->QueryRows(sql);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : Rows{};
}

// Runs `sql` in a fresh session over the tier's relation (optionally with masks/filter).
inline Rows QueryTier(const StreamTier& tier, const std::string& sql,
                      const std::string& row_filter = "", const std::string& email_mask = "") {
  auto rel = tier.ToRelation(kPlays, PlaySchema());
  EXPECT_TRUE(rel.ok()) << rel.status().ToString();
  if (!rel.ok()) return {};
  rel->row_filter = row_filter;
  for (RelationColumn& c : rel->columns) {
    if (c.name == "email") c.mask = email_mask;
  }
  return QueryRelation(*rel, sql);
}

inline int64_t QueryInt(const StreamTier& tier, const std::string& sql) {
  Rows r = QueryTier(tier, sql);
  if (r.size() != 1) return -1;
  return std::stoll(r.Get(0, 0));
}

// Every tiered record once, offsets 0..end-1 per partition: "count distinct gaps".
inline std::string Coverage(const StreamTier& tier) {
  Rows r =
      QueryTier(tier, std::string("SELECT count(*), count(DISTINCT (ce_partition, ce_offset)), "
                                  "sum(ce_offset) FROM ") +
                          kPlays);
  if (r.size() != 1) return "?";
  return r.Get(0, 0) + " " + r.Get(0, 1) + " " + r.Get(0, 2);
}

// What Coverage must say when partition p holds offsets [0, ends[p]).
inline std::string ExpectedCoverage(const std::vector<int64_t>& ends) {
  int64_t n = 0, sum = 0;
  for (int64_t e : ends) {
    n += e;
    sum += e * (e - 1) / 2;
  }
  if (n == 0) return "0 0 NULL";
  return std::to_string(n) + " " + std::to_string(n) + " " + std::to_string(sum);
}

}  // namespace loom::engine
