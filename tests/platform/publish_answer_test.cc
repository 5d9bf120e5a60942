// The text answer of a publish: the documented shape, byte for byte what nlohmann::json would
// serialise (clients parse either), for every outcome and for reasons that need escaping.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "platform/platform.h"

namespace loom::platform {
namespace {

using nlohmann::json;

ingest::RecordResult Record(ingest::Outcome o, int32_t partition, int64_t offset,
                            std::string reason = {}) {
  ingest::RecordResult r;
  r.outcome = o;
  r.partition = partition;
  r.offset = offset;
  r.reason = std::move(reason);
  return r;
}

TEST(PublishAnswerTest, MatchesTheJsonShapeForEveryOutcome) {
  ingest::IngestResult r;
  r.accepted = 1;
  r.duplicates = 1;
  r.rejected = 1;
  r.quarantined = 1;
  r.records.push_back(Record(ingest::Outcome::kAccepted, 3, 41));
  r.records.push_back(Record(ingest::Outcome::kDuplicate, 0, 7));
  r.records.push_back(Record(ingest::Outcome::kRejected, -1, -1,
                             "data.duration_ms: expected int64, got string \"12s\""));
  r.records.push_back(
      Record(ingest::Outcome::kQuarantined, 0, 0,
             "line 4: \\ back\tslash\nnew line \x01 \x1f \x7f caf\xc3\xa9 / \b\f\r"));
  Address port = *Address::Parse("loom://media-player/play-events/events");
  std::string text = IngestAnswerText(port, r);

  json expected = {
      {"address", "loom://media-player/play-events/events"},
      {"accepted", 1},
      {"duplicates", 1},
      {"rejected", 1},
      {"quarantined", 1},
      {"records",
       {{{"index", 0}, {"outcome", "accepted"}, {"partition", 3}, {"offset", 41}},
        {{"index", 1}, {"outcome", "duplicate"}, {"partition", 0}, {"offset", 7}},
        {{"index", 2},
         {"outcome", "rejected"},
         {"reason", "data.duration_ms: expected int64, got string \"12s\""}},
        {{"index", 3},
         {"outcome", "quarantined"},
         {"partition", 0},
         {"offset", 0},
         {"reason", "line 4: \\ back\tslash\nnew line \x01 \x1f \x7f caf\xc3\xa9 / \b\f\r"}}}}};
  EXPECT_EQ(text, expected.dump());
  json parsed = json::parse(text, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << text;
  EXPECT_EQ(parsed, expected);
}

TEST(PublishAnswerTest, EmptyBatchAndLargeNumbers) {
  ingest::IngestResult r;
  Address port = *Address::Parse("loom://d/p/events");
  EXPECT_EQ(IngestAnswerText(port, r), json({{"address", "loom://d/p/events"},
                                             {"accepted", 0},
                                             {"duplicates", 0},
                                             {"rejected", 0},
                                             {"quarantined", 0},
                                             {"records", json::array()}})
                                           .dump());
  r.accepted = 1;
  r.records.push_back(Record(ingest::Outcome::kAccepted, 4095, int64_t{1} << 50));
  json parsed = json::parse(IngestAnswerText(port, r));
  EXPECT_EQ(parsed["records"][0]["offset"], int64_t{1} << 50);
  EXPECT_EQ(parsed["records"][0]["partition"], 4095);
}

}  // namespace
}  // namespace loom::platform
