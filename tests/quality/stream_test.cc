// Stream ports are checked on closed windows of event time: each window once, in order.

#include "quality/quality_test_util.h"

namespace loom::quality_test {
namespace {

using nlohmann::json;

constexpr const char* kListens = R"(apiVersion: loom/v1
kind: DataProduct
metadata: {domain: media-player, name: listens, version: 1.0.0, title: Listens, owner: "user:mo"}
spec:
  schema:
    fields:
      - {name: listen_id, type: string, required: true}
      - {name: user_id, type: string}
      - {name: played_at, type: timestamp, required: true}
  outputPorts:
    - name: events
      kind: stream
      stream: {eventTime: played_at}
  quality:
    - {name: users-present, kind: not_null, fields: [user_id], port: events}
    - {name: one-per-id, kind: unique, fields: [listen_id], port: events}
    - {name: some-rows, kind: row_count, min: 1, port: events}
)";

std::string Event(const std::string& id, const std::string& user, const std::string& at) {
  json data = {{"listen_id", id}, {"played_at", at}};
  if (!user.empty()) data["user_id"] = user;
  return json{{"specversion", "1.0"},
              {"id", id},
              {"source", "/test"},
              {"type", "listen"},
              {"data", data}}
             .dump() +
         "\n";
}

class StreamQualityTest : public QualityFixture {};

TEST_F(StreamQualityTest, ChecksEachClosedWindowOnce) {
  clock_.Set(int64_t{1795005000} * 1000000);  // 2026-11-18T12:30:00Z
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" + kListens).ok());
  const Address port = *Address::Parse("loom://media-player/listens/events");
  std::string body = Event("l1", "u1", "2026-11-18T11:10:00Z") +
                     Event("l2", "", "2026-11-18T11:20:00Z") +
                     Event("l3", "u3", "2026-11-18T12:10:00Z");  // the open window
  Result<json> in = platform_->PublishEvents(admin_, port, "application/x-ndjson", body, {});
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  ASSERT_EQ((*in)["accepted"], 3) << in->dump();

  Result<json> first = platform_->CheckQuality(admin_, port);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ((*first)["checks"].size(), 1u) << first->dump();
  const json& check = (*first)["checks"][0];
  EXPECT_EQ(check["label"], "window [2026-11-18T11:00:00.000000Z, 2026-11-18T12:00:00.000000Z)");
  EXPECT_EQ(check["rows"], 2);
  EXPECT_EQ(check["outcome"], "warned");
  EXPECT_EQ(check["results"][0]["failing"], 1);
  EXPECT_EQ(check["results"][0]["samples"][0]["listen_id"], "l2") << check.dump();

  // Nothing new closed: nothing to check.
  Result<json> again = platform_->CheckQuality(admin_, port);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)["checks"].empty()) << again->dump();

  // An hour later the next window closed; the background job checks it.
  clock_.Advance(int64_t{3600} * 1000000);
  Result<json> due = platform_->CheckDueStreamWindows();
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  ASSERT_EQ((*due)["streams"].size(), 1u) << due->dump();
  const json& next = (*due)["streams"][0]["checks"][0];
  EXPECT_EQ(next["rows"], 1);
  EXPECT_EQ(next["outcome"], "passed") << next.dump();

  Result<json> shown = platform_->QualityResults(admin_, port, 5);
  ASSERT_TRUE(shown.ok()) << shown.status().ToString();
  ASSERT_EQ((*shown)["runs"].size(), 2u);
  EXPECT_EQ((*shown)["runs"][1]["windowStart"], "2026-11-18T11:00:00.000000Z");
  // The failing rows of the first window, read again through the caller's session.
  const json& failed = (*shown)["runs"][1]["results"][0];
  ASSERT_EQ(failed["samples"].size(), 1u) << shown->dump();
  EXPECT_EQ(failed["samples"][0]["listen_id"], "l2");
}

}  // namespace
}  // namespace loom::quality_test
