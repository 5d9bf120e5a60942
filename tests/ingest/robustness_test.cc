// Untrusted input: mutated and truncated bodies in every format must give a clean answer (an
// error status, or one result per event with a reason for each refused one), never a crash,
// and never store an event that does not read back as the canonical JSON of a valid one.

#include <random>

#include "ingest/ingest.h"
#include "ingest_test_util.h"

namespace loom::ingest {
namespace {

using testing::Data;
using testing::Event;

TEST(RobustnessTest, MutatedBodiesInEveryFormatAnswerCleanly) {
  loom::testing::TempDir dir;
  auto port = StreamPort::Open(
      dir.path(), testing::MakeProduct("{partitions: 2, onInvalid: quarantine}"), "events");
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  const std::string valid =
      Event("seed", Data("u1", R"(,"tags":["a"],"meta":{"app":"x"},"price":"1.5")"));
  std::mt19937 rng(7);
  const char kBytes[] = "{}[]\",:\\ 0123456789aeflnrstu-+.eE\x80\xC3\xFF\n";
  size_t accepted = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string body = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % body.size();
      switch (rng() % 3) {
        case 0:
          body[pos] = kBytes[rng() % (sizeof kBytes - 1)];
          break;
        case 1:
          body.erase(pos, 1 + rng() % 8);
          break;
        default:
          body.insert(pos, 1, kBytes[rng() % (sizeof kBytes - 1)]);
          break;
      }
      if (body.empty()) body = "{";
    }
    body.replace(body.find("seed") == std::string::npos ? 0 : body.find("seed"), 0,
                 std::to_string(i));
    Format f = static_cast<Format>(i % 3);  // structured, batch, lines
    std::string framed = f == Format::kBatch       ? "[" + body + "," + valid + "]"
                         : f == Format::kJsonLines ? body + "\n" + body
                                                   : body;
    auto r = (*port)->Ingest(Request{f, framed, {}});
    if (!r.ok()) {
      EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument) << r.status().ToString();
      continue;
    }
    for (const RecordResult& rec : r->records) {
      if (rec.outcome == Outcome::kQuarantined) {
        EXPECT_FALSE(rec.reason.empty());
      }
      if (rec.outcome == Outcome::kAccepted) ++accepted;
    }
  }
  // Everything stored parses as JSON and carries the envelope.
  for (int32_t p = 0; p < 2; ++p) {
    for (const std::string& v : testing::ReadAll((*port)->stream(), p)) {
      auto j = nlohmann::json::parse(v, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << v;
      EXPECT_EQ(j["specversion"], "1.0");
      EXPECT_TRUE(j["data"].is_object()) << v;
    }
  }
  EXPECT_GT(accepted, 0u);
}

}  // namespace
}  // namespace loom::ingest
