#pragma once

// Helpers for the ingest tests: a product with a stream port built from descriptor YAML, a fake
// clock, events in each format.

#include <atomic>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ingest/ingest.h"
#include "spec/spec.h"
#include "testing/testing.h"

namespace loom::ingest::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimestampMicros t = 1'780'000'000'000'000) : now_(t) {}
  TimestampMicros NowMicros() const override { return now_.load(); }
  void Advance(int64_t micros) { now_ += micros; }

 private:
  std::atomic<TimestampMicros> now_;
};

// A product whose schema exercises every type; `stream` is the YAML flow map of the port's
// stream settings, `extra_fields` more schema field lines.
inline spec::DataProduct MakeProduct(const std::string& stream = "{partitions: 1}",
                                     const std::string& extra_fields = "") {
  std::string yaml = R"(apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: media-player
  name: plays
  version: 1.0.0
  owner: group:media-player-team
  description: Test plays.
spec:
  schema:
    fields:
      - {name: event_id, type: uuid, required: true}
      - {name: user_id, type: string, required: true, constraints: {minLength: 2, maxLength: 12}}
      - {name: played_at, type: timestamp, required: true}
      - {name: duration_ms, type: int64, required: true, constraints: {min: 0, max: 86400000}}
      - {name: rating, type: int32}
      - {name: score, type: double, constraints: {min: 0.5, max: 9.5}}
      - {name: price, type: 'decimal(6,2)'}
      - {name: premium, type: bool}
      - {name: day, type: date}
      - {name: country, type: string, constraints: {enum: [SE, US]}}
      - {name: device, type: string, constraints: {pattern: '^[a-z]{2,8}$'}}
      - {name: code, type: string, constraints: {pattern: '^(ab|cd)+x?$'}}
      - {name: tags, type: 'list<string>', constraints: {minLength: 1, maxLength: 3}}
      - name: meta
        type: struct
        fields:
          - {name: app, type: string, required: true}
          - {name: build, type: int32}
)" + extra_fields + R"(  outputPorts:
    - name: events
      kind: stream
      stream: )" + stream +
                     "\n";
  std::vector<spec::Diagnostic> diags;
  auto docs = spec::ParseDocuments(yaml, "test.yaml", &diags);
  if (!docs.ok()) {
    ADD_FAILURE() << docs.status().ToString();
    return {};
  }
  return *(*docs)[0].product();
}

// The data of a valid event, with `extra` spliced in (e.g. ",\"rating\":5").
inline std::string Data(const std::string& user = "u1", const std::string& extra = "") {
  return R"({"event_id":"0b7e9a4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b","user_id":")" + user +
         R"(","played_at":"2026-11-26T10:00:00Z","duration_ms":1000)" + extra + "}";
}

inline std::string Event(const std::string& id, const std::string& data = Data(),
                         const std::string& attrs = "") {
  return R"({"specversion":"1.0","id":")" + id +
         R"(","source":"/players/ios","type":"com.loom.play")" + attrs + R"(,"data":)" + data + "}";
}

inline Request Structured(const std::string& body) {
  return Request{Format::kStructured, body, {}};
}
inline Request Lines(const std::string& body) { return Request{Format::kJsonLines, body, {}}; }
inline Request Batch(const std::string& body) { return Request{Format::kBatch, body, {}}; }

// The values of one partition of a log, in offset order.
inline std::vector<std::string> ReadAll(log::Log& log, int32_t partition) {
  std::vector<std::string> out;
  auto r = log.Read(partition, log::Offset(0), {}, [&](const log::RecordView& v) {
    out.emplace_back(v.value);
    return true;
  });
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return out;
}

}  // namespace loom::ingest::testing
