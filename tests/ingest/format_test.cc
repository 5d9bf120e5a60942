// The four formats, content types, the canonical stored form, request-level errors and limits.

#include <memory>

#include "ingest/ingest.h"
#include "ingest_test_util.h"

namespace loom::ingest {
namespace {

using testing::Data;
using testing::Event;

class FormatTest : public ::testing::Test {
 protected:
  void Open(const std::string& stream = "{partitions: 1}", Limits limits = {}) {
    port_.reset();
    PortOptions o;
    o.limits = limits;
    auto port = StreamPort::Open(dir_.path(), testing::MakeProduct(stream), "events", o);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = std::move(*port);
  }
  void SetUp() override { Open(); }
  loom::testing::TempDir dir_;
  std::unique_ptr<StreamPort> port_;
};

TEST_F(FormatTest, MapsContentTypesToFormats) {
  EXPECT_EQ(*FormatForContentType("application/cloudevents+json; charset=UTF-8", false),
            Format::kStructured);
  EXPECT_EQ(*FormatForContentType("Application/CloudEvents-Batch+JSON", false), Format::kBatch);
  EXPECT_EQ(*FormatForContentType("application/x-ndjson", false), Format::kJsonLines);
  EXPECT_EQ(*FormatForContentType("application/json", true), Format::kBinary);
  auto bad = FormatForContentType("application/json", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("application/cloudevents+json"), std::string::npos);
}

TEST_F(FormatTest, StoresAStructuredEventAsCompactCanonicalJson) {
  std::string body =
      "{ \"type\" : \"com.loom.play\", \"data\": {\"user_id\": \"u1\",\n"
      " \"event_id\":\"0b7e9a4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b\", "
      "\"played_at\":\"2026-11-26T10:00:00Z\","
      " \"duration_ms\" : 1000 , \"tags\": [ \"x\" , \"y\\u00e9\" ] },"
      " \"zeta\": 1, \"time\":\"2026-11-26T09:00:00Z\", \"source\":\"/p\", \"id\":\"e1\","
      " \"alpha\": true, \"specversion\":\"1.0\" }";
  auto r = port_->Ingest(testing::Structured(body));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->accepted, 1u);
  EXPECT_EQ(r->records[0].partition, 0);
  EXPECT_EQ(r->records[0].offset, 0);
  auto values = testing::ReadAll(port_->stream(), 0);
  ASSERT_EQ(values.size(), 1u);
  EXPECT_EQ(
      values[0],
      R"({"specversion":"1.0","id":"e1","source":"/p","type":"com.loom.play","time":"2026-11-26T09:00:00Z",)"
      R"("alpha":true,"zeta":1,"data":{"user_id":"u1","event_id":"0b7e9a4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b",)"
      R"("played_at":"2026-11-26T10:00:00Z","duration_ms":1000,"tags":["x","y\u00e9"]}})");
}

TEST_F(FormatTest, AcceptsBatchesAndJsonLines) {
  std::string batch = "[" + Event("b1") + ",\n " + Event("b2") + " ]";
  auto r = port_->Ingest(testing::Batch(batch));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 2u);
  std::string lines = Event("l1") + "\n\n" + Event("l2") + "\r\n" + Event("l3");
  r = port_->Ingest(testing::Lines(lines));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->accepted, 3u);
  EXPECT_EQ(r->records[2].offset, 4);
  auto empty = port_->Ingest(testing::Batch("[]"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.empty());
}

TEST_F(FormatTest, AcceptsTheHttpBinaryBinding) {
  std::vector<Header> headers = {{"CE-SpecVersion", "1.0"},
                                 {"ce-id", "bin-1"},
                                 {"ce-source", "/players/web"},
                                 {"ce-type", "com.loom.play"},
                                 {"ce-comment", "caf%C3%A9"},
                                 {"Content-Type", "application/json"},
                                 {"Accept", "*/*"}};
  std::string body = Data();
  auto r = port_->Ingest(Request{Format::kBinary, body, headers});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->accepted, 1u) << r->records[0].reason;
  auto values = testing::ReadAll(port_->stream(), 0);
  EXPECT_EQ(values[0],
            R"({"specversion":"1.0","id":"bin-1","source":"/players/web","type":"com.loom.play",)"
            R"("datacontenttype":"application/json","comment":"café","data":)" +
                Data() + "}");
  std::vector<Header> text = {{"ce-specversion", "1.0"},
                              {"ce-id", "bin-2"},
                              {"ce-source", "/s"},
                              {"ce-type", "t"},
                              {"content-type", "text/plain"}};
  r = port_->Ingest(Request{Format::kBinary, body, text});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records[0].reason,
            "datacontenttype: 'text/plain' is not accepted (expected application/json)");
  auto missing = port_->Ingest(Request{Format::kBinary, body, {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "binary mode: the ce-specversion header is missing");
}

TEST_F(FormatTest, ReportsSyntaxErrorsWithPosition) {
  auto r = port_->Ingest(testing::Structured("{\"specversion\":\"1.0\",\n\"id\":\"a\" \"x\":1}"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("JSON syntax error"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
  auto b = port_->Ingest(testing::Batch("[" + Event("x") + ", {\"id\": ]"));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("batch:"), std::string::npos) << b.status().message();
  auto notarray = port_->Ingest(testing::Batch(Event("x")));
  ASSERT_FALSE(notarray.ok());
  EXPECT_EQ(notarray.status().message(),
            "batch: expected a JSON array of CloudEvents (application/cloudevents-batch+json)");
  // In JSON Lines a broken line is that record's problem only.
  auto l = port_->Ingest(testing::Lines(Event("ok1") + "\n{\"id\": \"a\" \"b\"}\n{\"id\": nope}\n" +
                                        Event("ok2") + " trailing\n" + Event("ok3")));
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  ASSERT_EQ(l->records.size(), 5u);
  EXPECT_EQ(l->records[0].outcome, Outcome::kAccepted);
  EXPECT_EQ(l->records[1].outcome, Outcome::kRejected);
  EXPECT_EQ(l->records[1].reason.rfind("line 2: JSON syntax error", 0), 0u) << l->records[1].reason;
  EXPECT_EQ(l->records[2].reason, "id: expected a string, got invalid JSON 'nope'");
  EXPECT_EQ(l->records[3].reason.rfind("line 4: JSON syntax error", 0), 0u) << l->records[3].reason;
  EXPECT_EQ(l->records[4].outcome, Outcome::kAccepted);
  EXPECT_EQ(l->accepted, 2u);
}

TEST_F(FormatTest, JsonLinesAnswerTheSameInTheBodyAndAtItsEnd) {
  // Lines are parsed in place, except the last ones (too near the end of the body for simdjson's
  // padding), which are parsed from a copy: both must answer alike, reasons and columns included.
  std::string broken = "{\"specversion\":\"1.0\", \"id\": \"a\" \"b\"}";
  std::string escaped = Event("esc\\\"q\\u00e9");
  std::string body = broken + "\n" + escaped + "\n" + Event("mid") + "\n" +
                     Event("esc2\\\"q\\u00e9") + "\n" + broken;
  auto r = port_->Ingest(testing::Lines(body));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->records.size(), 5u);
  EXPECT_EQ(r->records[0].outcome, Outcome::kRejected);
  EXPECT_EQ(r->records[4].outcome, Outcome::kRejected);
  EXPECT_EQ(r->records[0].reason.rfind("line 1: JSON syntax error", 0), 0u) << r->records[0].reason;
  EXPECT_EQ(r->records[4].reason.rfind("line 5: JSON syntax error", 0), 0u) << r->records[4].reason;
  EXPECT_NE(r->records[4].reason.find(" at column "), std::string::npos) << r->records[4].reason;
  EXPECT_EQ(r->records[0].reason.substr(r->records[0].reason.find(':')),
            r->records[4].reason.substr(r->records[4].reason.find(':')));
  EXPECT_EQ(r->accepted, 3u);
  auto values = testing::ReadAll(port_->stream(), 0);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_NE(values[0].find(R"("id":"esc\"q\u00e9")"), std::string::npos) << values[0];
  EXPECT_NE(values[2].find(R"("id":"esc2\"q\u00e9")"), std::string::npos) << values[2];
  // The same id escaped differently is the same event: a duplicate.
  auto dup = port_->Ingest(testing::Lines(Event("esc\\\"q\u00e9")));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->records[0].outcome, Outcome::kDuplicate) << dup->records[0].reason;
}

TEST_F(FormatTest, RefusesInvalidUtf8AnywhereInTheBody) {
  std::string body = Event("a") + "\n" + Event("b", Data("u\xC3\x28x"));
  auto r = port_->Ingest(testing::Lines(body));
  ASSERT_FALSE(r.ok());
  size_t at = body.find('\xC3');
  EXPECT_EQ(r.status().message(), "body: invalid UTF-8 at byte " + std::to_string(at) +
                                      " (line 2, column " + std::to_string(at - body.find('\n')) +
                                      ")");
  // Also in a line whose JSON is broken too (an unclosed string), and in a last short line.
  for (std::string tail : {std::string("{\"id\": \"u\xC3\x28"), std::string("\"\xFF\"")}) {
    std::string b = Event("a") + "\n" + Event("b") + "\n" + tail;
    auto bad = port_->Ingest(testing::Lines(b));
    ASSERT_FALSE(bad.ok()) << tail;
    size_t pos = b.find_first_of("\xC3\xFF");
    EXPECT_EQ(bad.status().message(), "body: invalid UTF-8 at byte " + std::to_string(pos) +
                                          " (line 3, column " +
                                          std::to_string(pos - b.rfind('\n')) + ")");
  }
  // Overlong encodings and surrogates are invalid too.
  EXPECT_FALSE(port_->Ingest(testing::Structured(Event("c", Data("\xC0\xAFxx")))).ok());
  EXPECT_FALSE(port_->Ingest(testing::Structured(Event("d", Data("\xED\xA0\x80xx")))).ok());
}

TEST_F(FormatTest, EnforcesEventBatchAndDepthLimits) {
  Limits limits;
  limits.max_batch_records = 3;
  limits.max_batch_bytes = 4096;
  Open("{partitions: 1, maxEventBytes: 300B}", limits);
  std::string big = Event("big", Data("u1", R"(,"meta":{"app":")" + std::string(200, 'a') + "\"}"));
  auto r = port_->Ingest(testing::Lines(Event("s1") + "\n" + big));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->records[0].outcome, Outcome::kAccepted);
  EXPECT_EQ(r->records[1].reason, "event is " + std::to_string(big.size()) +
                                      " bytes, over the port's limit of 300 (max_event_bytes)");
  auto many = port_->Ingest(
      testing::Lines(Event("a") + "\n" + Event("b") + "\n" + Event("c") + "\n" + Event("d")));
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(many.status().message(),
            "request holds more than 3 events (the per-request limit); got at least 4");
  auto huge = port_->Ingest(testing::Lines(std::string(5000, ' ')));
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().message(), "request body is 5000 bytes, over the limit of 4096");
  // Deep nesting never recurses past the schema: refused as a type error, whatever the depth.
  std::string deep = std::string(3000, '[') + std::string(3000, ']');
  limits.max_batch_bytes = 1 << 20;
  Open("{partitions: 1}", limits);
  auto d = port_->Ingest(testing::Structured(Event("deep", Data("u1", ",\"tags\":" + deep))));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->records[0].reason, "data.tags[0]: expected string, got array");
}

TEST_F(FormatTest, RefusesSchemasDeeperThanTheDepthLimit) {
  Limits limits;
  limits.max_depth = 2;
  PortOptions o;
  o.limits = limits;
  auto port = StreamPort::Open(dir_.Sub("deep"), testing::MakeProduct(), "events", o);
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("nests deeper than the limit of 2"), std::string::npos)
      << port.status().message();
}

}  // namespace
}  // namespace loom::ingest
