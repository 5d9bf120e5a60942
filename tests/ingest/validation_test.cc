// Every envelope and schema rule, with its exact reason.

#include <memory>
#include <regex>

#include "ingest/ingest.h"
#include "ingest_test_util.h"

namespace loom::ingest {
namespace {

using testing::Data;
using testing::Event;

class ValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto port = StreamPort::Open(
        dir_.path(), testing::MakeProduct("{partitions: 1, eventType: com.loom.play}"), "events");
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = std::move(*port);
  }
  // The reason the one event of `body` was refused ("" when accepted).
  std::string Reason(const std::string& body) {
    auto r = port_->Ingest(testing::Structured(body));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->records.size() != 1) return "<no result>";
    if (r->records[0].outcome == Outcome::kAccepted) return "";
    EXPECT_EQ(r->records[0].outcome, Outcome::kRejected);
    return r->records[0].reason;
  }
  std::string DataReason(const std::string& extra) {
    static int n = 0;
    return Reason(Event("v" + std::to_string(++n), Data("u1", extra)));
  }
  loom::testing::TempDir dir_;
  std::unique_ptr<StreamPort> port_;
};

TEST_F(ValidationTest, AcceptsAValidEventWithEveryType) {
  EXPECT_EQ(
      DataReason(
          R"(,"rating":5,"score":1.5,"price":"1234.50","premium":true,"day":"2024-02-29",)"
          R"("country":"SE","device":"ios","code":"abcdx","tags":["a","b"],"meta":{"app":"x","build":7})"),
      "");
  EXPECT_EQ(DataReason(R"(,"price":12.5,"rating":null)"), "");
}

TEST_F(ValidationTest, RefusesWrongTypesNamingPathAndValue) {
  EXPECT_EQ(Reason(Event("a", Data("u1", "").replace(Data().find("1000"), 4, "\"12s\""))),
            "data.duration_ms: expected int64, got string \"12s\"");
  EXPECT_EQ(DataReason(R"(,"rating":1.5)"), "data.rating: expected int32, got number 1.5");
  EXPECT_EQ(DataReason(R"(,"rating":3000000000)"),
            "data.rating: expected int32, got number 3000000000 (out of range)");
  EXPECT_EQ(DataReason(R"(,"score":"x")"), "data.score: expected double, got string \"x\"");
  EXPECT_EQ(DataReason(R"(,"premium":1)"), "data.premium: expected bool, got number 1");
  EXPECT_EQ(DataReason(R"(,"day":"2023-02-29")"),
            "data.day: expected date (YYYY-MM-DD), got string \"2023-02-29\"");
  EXPECT_EQ(DataReason(R"(,"tags":"a")"), "data.tags: expected list<string>, got string \"a\"");
  EXPECT_EQ(DataReason(R"(,"tags":["a",2])"), "data.tags[1]: expected string, got number 2");
  EXPECT_EQ(DataReason(R"(,"meta":[])"), "data.meta: expected struct, got array");
  EXPECT_EQ(DataReason(R"(,"meta":{"app":{"deep":[[[1]]]}})"),
            "data.meta.app: expected string, got object");
}

TEST_F(ValidationTest, RefusesBadTimestampsUuidsAndDecimals) {
  std::string bad_time = Data();
  bad_time.replace(bad_time.find("2026-11-26T10:00:00Z"), 20, "yesterday");
  EXPECT_EQ(Reason(Event("t", bad_time)),
            "data.played_at: expected timestamp (RFC 3339), got string \"yesterday\"");
  std::string bad_uuid = Data();
  bad_uuid.replace(bad_uuid.find("0b7e9a4c"), 8, "zz7e9a4c");
  EXPECT_EQ(Reason(Event("u", bad_uuid)),
            "data.event_id: expected uuid, got string \"zz7e9a4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b\"");
  EXPECT_EQ(
      DataReason(R"(,"price":1.234)"),
      "data.price: expected decimal(6,2), got number 1.234 (3 digits after the point, scale is 2)");
  EXPECT_EQ(DataReason(R"(,"price":"12345.5")"),
            "data.price: expected decimal(6,2), got string \"12345.5\" (5 digits before the point, "
            "at most 4 fit)");
  EXPECT_EQ(DataReason(R"(,"price":1e3)"),
            "data.price: expected decimal(6,2), got number 1e3 (not a plain decimal literal)");
}

TEST_F(ValidationTest, RefusesConstraintViolations) {
  EXPECT_EQ(DataReason(R"(,"country":"XX")"), "data.country: 'XX' is not one of SE, US");
  EXPECT_EQ(DataReason(R"(,"device":"iOS")"),
            "data.device: 'iOS' does not match pattern '^[a-z]{2,8}$'");
  EXPECT_EQ(DataReason(R"(,"code":"abxx")"),
            "data.code: 'abxx' does not match pattern '^(ab|cd)+x?$'");
  EXPECT_EQ(DataReason(R"(,"code":"abcd")"), "");
  EXPECT_EQ(DataReason(R"(,"score":0.1)"), "data.score: 0.1 is below the minimum 0.5");
  EXPECT_EQ(DataReason(R"(,"score":10)"), "data.score: 10 is above the maximum 9.5");
  EXPECT_EQ(Reason(Event("l", Data("u"))), "data.user_id: length 1 is below minLength 2");
  EXPECT_EQ(Reason(Event("l2", Data("abcdefghijklm"))),
            "data.user_id: length 13 is above maxLength 12");
  EXPECT_EQ(Reason(Event("l3", Data("åäöåäöåäöåäö"))), "");  // 12 characters, 24 bytes
  EXPECT_EQ(DataReason(R"(,"tags":[])"), "data.tags: 0 items, fewer than minLength 1");
  EXPECT_EQ(DataReason(R"(,"tags":["a","b","c","d"])"),
            "data.tags: 4 items, more than maxLength 3");
  std::string negative = Data();
  negative.replace(negative.find("1000"), 4, "-5");
  EXPECT_EQ(Reason(Event("m", negative)), "data.duration_ms: -5 is below the minimum 0");
}

TEST_F(ValidationTest, RefusesMissingRequiredUnknownAndDuplicateFields) {
  EXPECT_EQ(
      Reason(Event(
          "r",
          R"({"event_id":"0b7e9a4c-1c2d-4e5f-8a9b-0c1d2e3f4a5b","user_id":"u1","played_at":"2026-11-26T10:00:00Z"})")),
      "data.duration_ms: required field missing");
  EXPECT_EQ(DataReason(R"(,"user_id":null)"), "data.user_id: duplicate field");
  EXPECT_EQ(DataReason(R"(,"colour":"red")"), "data.colour: unknown field (not in the schema)");
  EXPECT_EQ(DataReason(R"(,"meta":{"build":1})"), "data.meta.app: required field missing");
  EXPECT_EQ(Reason(Event("n", "null")), "data: missing (the schema has required fields)");
  EXPECT_EQ(Reason(Event("o", "[1]")), "data: expected object, got array");
}

TEST_F(ValidationTest, RefusesBadEnvelopes) {
  EXPECT_EQ(Reason(R"({"specversion":"0.3","id":"a","source":"/s","type":"com.loom.play","data":)" +
                   Data() + "}"),
            "specversion: '0.3' is not supported (expected '1.0')");
  EXPECT_EQ(
      Reason(R"({"specversion":"1.0","source":"/s","type":"com.loom.play","data":)" + Data() + "}"),
      "id: missing (a required CloudEvents attribute)");
  EXPECT_EQ(Reason(R"({"specversion":"1.0","id":"","source":"/s","type":"com.loom.play"})"),
            "id: must not be empty");
  EXPECT_EQ(Reason(R"({"specversion":"1.0","id":"a","source":"not a uri","type":"t"})"),
            "source: 'not a uri' is not a URI-reference");
  EXPECT_EQ(Reason(R"({"specversion":"1.0","id":"a","source":"/s","type":"com.other","data":)" +
                   Data() + "}"),
            "type: 'com.other' is not this port's event type 'com.loom.play'");
  EXPECT_EQ(Reason(Event("t1", Data(), R"(,"time":"26/11/2026")")),
            "time: '26/11/2026' is not an RFC 3339 timestamp");
  EXPECT_EQ(Reason(Event("t2", Data(), R"(,"datacontenttype":"text/plain")")),
            "datacontenttype: 'text/plain' is not accepted (expected application/json)");
  EXPECT_EQ(Reason(Event("t3", Data(), R"(,"datacontenttype":"application/json; charset=utf-8")")),
            "");
  EXPECT_EQ(Reason(Event("t4", Data(), R"(,"Trace":"x")")),
            "extension attribute 'Trace': names are 1 to 20 lowercase letters or digits");
  EXPECT_EQ(
      Reason(Event("t5", Data(), R"(,"abcdefghijklmnopqrstu":"x")")),
      "extension attribute 'abcdefghijklmnopqrstu': names are 1 to 20 lowercase letters or digits");
  EXPECT_EQ(Reason(Event("t6", Data(), R"(,"traceparent":{"a":1})")),
            "traceparent: an extension attribute is a string, number or bool, got object");
  EXPECT_EQ(Reason(Event("t7", Data(), R"(,"id":"again")")), "id: duplicate attribute");
  EXPECT_EQ(Reason(Event("t8", Data(), R"(,"data_base64":"AAAA")")),
            "data_base64: binary data is not accepted; a port's data is application/json");
  EXPECT_EQ(Reason(R"(["not","an","object"])"), "expected a CloudEvent JSON object, got array");
  EXPECT_EQ(Reason(Event("t9", Data(), R"(,"partitionkey":"k","sampled":true,"n":3)")), "");
}

TEST(PatternTest, FastMatcherAgreesWithStdRegex) {
  const std::vector<std::string> values = {"SE",       "S",       "SEX",      "se", "abc-12", "",
                                           "usr_12",   "usr_123", "usr_1234", "a.", "a.b",    "ab",
                                           "2024-x_y", "2024-",   "xyz",      "åå"};
  for (const char* pat : {"^[A-Z]{2}$", "^[a-z0-9-]+$", "^usr_[0-9]{3,}$", "[^x]*", "^a\\.b?$",
                          "^\\d{4}-\\w+$", "^(ab)+$", "a.b"}) {
    spec::DataProduct product = testing::MakeProduct(
        "{partitions: 1}",
        std::string("      - {name: p, type: string, constraints: {pattern: '") + pat + "'}}\n");
    loom::testing::TempDir dir;
    auto port = StreamPort::Open(dir.path(), product, "events");
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    std::string body;
    for (size_t i = 0; i < values.size(); ++i)
      body += Event("x" + std::to_string(i), Data("u1", ",\"p\":\"" + values[i] + "\"")) + "\n";
    auto r = (*port)->Ingest(testing::Lines(body));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->records.size(), values.size());
    std::regex re(pat);
    for (size_t i = 0; i < values.size(); ++i) {
      const std::string& v = values[i];
      bool want = std::regex_match(v, re);
      EXPECT_EQ(r->records[i].outcome == Outcome::kAccepted, want)
          << pat << " vs '" << v << "': " << r->records[i].reason;
    }
  }
}

}  // namespace
}  // namespace loom::ingest
