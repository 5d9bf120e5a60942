// StreamPort: per-record answers, reject vs quarantine, dedup (window, restart, concurrency),
// partitioning, the options mapping.

#include <memory>
#include <set>
#include <thread>

#include "ingest/ingest.h"
#include "ingest_test_util.h"
#include "testing/fault_file_system.h"

namespace loom::ingest {
namespace {

using testing::Data;
using testing::Event;

class PortTest : public ::testing::Test {
 protected:
  void Open(const std::string& stream) {
    port_.reset();
    PortOptions o;
    o.clock = &clock_;
    auto port = StreamPort::Open(dir_.path(), testing::MakeProduct(stream), "events", o);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = std::move(*port);
  }
  IngestResult Ingest(const Request& r) {
    auto out = port_->Ingest(r);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : IngestResult{};
  }
  testing::FakeClock clock_;
  loom::testing::TempDir dir_;
  std::unique_ptr<StreamPort> port_;
};

const std::string kBad = Data("u1", R"(,"country":"XX")");

TEST_F(PortTest, AnswersAMixedBatchPerRecordAndStoresTheValidOnes) {
  Open("{partitions: 1}");
  std::string batch = "[" + Event("m1") + "," + Event("m2", kBad) + "," + Event("m3") + "," +
                      Event("m1") + "," + "42" + "]";
  IngestResult r = Ingest(testing::Batch(batch));
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(r.rejected, 2u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_EQ(r.records[0].outcome, Outcome::kAccepted);
  EXPECT_EQ(r.records[0].offset, 0);
  EXPECT_EQ(r.records[1].outcome, Outcome::kRejected);
  EXPECT_EQ(r.records[1].reason, "data.country: 'XX' is not one of SE, US");
  EXPECT_EQ(r.records[2].offset, 1);
  EXPECT_EQ(r.records[3].outcome, Outcome::kDuplicate);  // of record 0, same request
  EXPECT_EQ(r.records[3].offset, 0);
  EXPECT_EQ(r.records[4].reason, "expected a CloudEvent JSON object, got number 42");
  EXPECT_EQ(testing::ReadAll(port_->stream(), 0).size(), 2u);
  EXPECT_EQ(testing::ReadAll(port_->quarantine(), 0).size(), 0u);  // reject keeps nothing
}

TEST_F(PortTest, QuarantinesInvalidEventsOutsideTheStream) {
  Open("{partitions: 1, onInvalid: quarantine}");
  std::string bad_line = Event("q2", kBad);
  IngestResult r = Ingest(testing::Lines(Event("q1") + "\n" + bad_line + "\n{oops\n"));
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.quarantined, 2u);
  EXPECT_EQ(r.records[1].outcome, Outcome::kQuarantined);
  EXPECT_EQ(r.records[1].offset, 0);
  EXPECT_EQ(r.records[2].offset, 1);
  auto stream = testing::ReadAll(port_->stream(), 0);
  ASSERT_EQ(stream.size(), 1u);
  EXPECT_NE(stream[0].find("\"id\":\"q1\""), std::string::npos);
  auto q = testing::ReadAll(port_->quarantine(), 0);
  ASSERT_EQ(q.size(), 2u);
  auto j = nlohmann::json::parse(q[0]);
  EXPECT_EQ(j["reason"], "data.country: 'XX' is not one of SE, US");
  EXPECT_EQ(j["index"], 1);
  EXPECT_EQ(j["event"], bad_line);
  EXPECT_EQ(j["received"], FormatRfc3339(clock_.NowMicros()));
  EXPECT_EQ(nlohmann::json::parse(q[1])["event"], "{oops");
}

TEST_F(PortTest, DedupsWithinTheWindowAndForgetsAfterIt) {
  Open("{partitions: 2, dedupWindow: 10s}");
  IngestResult a = Ingest(testing::Structured(Event("d1")));
  clock_.Advance(9'000'000);
  IngestResult b = Ingest(testing::Structured(Event("d1", Data("other"))));  // same source + id
  EXPECT_EQ(b.records[0].outcome, Outcome::kDuplicate);
  EXPECT_EQ(b.records[0].partition, a.records[0].partition);
  EXPECT_EQ(b.records[0].offset, a.records[0].offset);
  // Another source with the same id is another event.
  std::string other_source = Event("d1");
  other_source.replace(other_source.find("/players/ios"), 12, "/players/web");
  EXPECT_EQ(Ingest(testing::Structured(other_source)).records[0].outcome, Outcome::kAccepted);
  clock_.Advance(2'000'000);
  EXPECT_EQ(Ingest(testing::Structured(Event("d1"))).records[0].outcome, Outcome::kAccepted);
  clock_.Advance(25'000'000);  // past two generations
  EXPECT_EQ(Ingest(testing::Structured(Event("d1"))).records[0].outcome, Outcome::kAccepted);
}

TEST_F(PortTest, AZeroWindowTurnsDedupOff) {
  Open("{partitions: 1, dedupWindow: 0ms}");
  IngestResult r = Ingest(testing::Lines(Event("z1") + "\n" + Event("z1")));
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_EQ(Ingest(testing::Structured(Event("z1"))).accepted, 1u);
  EXPECT_EQ(testing::ReadAll(port_->stream(), 0).size(), 3u);
}

TEST_F(PortTest, DedupSurvivesARestartWithinTheWindow) {
  Open("{partitions: 3, partitionKey: [user_id], dedupWindow: 60s}");
  std::string lines;
  for (int i = 0; i < 300; ++i)
    lines += Event("r" + std::to_string(i), Data("user" + std::to_string(i % 7))) + "\n";
  IngestResult first = Ingest(testing::Lines(lines));
  ASSERT_EQ(first.accepted, 300u);
  clock_.Advance(2'000'000);
  ASSERT_TRUE(port_->Close().ok());
  Open("{partitions: 3, partitionKey: [user_id], dedupWindow: 60s}");
  EXPECT_EQ(port_->stats().rebuilt_entries, 300u);
  IngestResult again = Ingest(testing::Lines(lines));
  EXPECT_EQ(again.duplicates, 300u);
  for (size_t i = 0; i < 300; ++i) {
    EXPECT_EQ(again.records[i].partition, first.records[i].partition);
    EXPECT_EQ(again.records[i].offset, first.records[i].offset);
  }
  // Past the window a restart restores nothing and the events are new again.
  clock_.Advance(120'000'000);
  Open("{partitions: 3, partitionKey: [user_id], dedupWindow: 60s}");
  EXPECT_EQ(port_->stats().rebuilt_entries, 0u);
  EXPECT_EQ(Ingest(testing::Structured(Event("r1", Data("user1")))).records[0].outcome,
            Outcome::kAccepted);
}

TEST_F(PortTest, ConcurrentSubmissionsOfTheSameEventStoreItOnce) {
  Open("{partitions: 2}");
  constexpr int kThreads = 8, kEvents = 200;
  std::string lines;
  for (int i = 0; i < kEvents; ++i) lines += Event("c" + std::to_string(i)) + "\n";
  std::vector<IngestResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] { results[t] = Ingest(testing::Lines(lines)); });
  for (auto& th : threads) th.join();
  size_t accepted = 0;
  for (const auto& r : results) accepted += r.accepted;
  EXPECT_EQ(accepted, static_cast<size_t>(kEvents));
  auto stored = testing::ReadAll(port_->stream(), 0);
  auto more = testing::ReadAll(port_->stream(), 1);
  stored.insert(stored.end(), more.begin(), more.end());
  EXPECT_EQ(stored.size(), static_cast<size_t>(kEvents));
  std::set<std::string> unique(stored.begin(), stored.end());
  EXPECT_EQ(unique.size(), static_cast<size_t>(kEvents));
  // Every answer for event i names the same position.
  for (int i = 0; i < kEvents; ++i)
    for (int t = 1; t < kThreads; ++t) {
      EXPECT_EQ(results[t].records[i].offset, results[0].records[i].offset);
      EXPECT_EQ(results[t].records[i].partition, results[0].records[i].partition);
    }
}

TEST_F(PortTest, PartitionsByAStableHashOfTheKey) {
  Open("{partitions: 4, partitionKey: [user_id, country], eventTime: played_at}");
  std::set<int32_t> used;
  for (int i = 0; i < 40; ++i) {
    std::string user = "user" + std::to_string(i % 10);
    IngestResult r = Ingest(
        testing::Structured(Event("p" + std::to_string(i), Data(user, R"(,"country":"SE")"))));
    ASSERT_EQ(r.accepted, 1u);
    EXPECT_EQ(r.records[0].partition, PartitionForKey(user + "\x1fSE", 4));
    used.insert(r.records[0].partition);
  }
  EXPECT_GT(used.size(), 1u);
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c: the hash is pinned, so partitions never move.
  EXPECT_EQ(PartitionForKey("a", 1000), static_cast<int32_t>(0xaf63dc4c8601ec8cull % 1000));
  // The record key is the key bytes; the record time is the event_time field when configured.
  auto r = port_->stream().Read(PartitionForKey("user0\x1fSE", 4), log::Offset(0), {},
                                [&](const log::RecordView& v) {
                                  EXPECT_EQ(v.key, "user0\x1fSE");
                                  EXPECT_EQ(v.timestamp, *ParseRfc3339("2026-11-26T10:00:00Z"));
                                  return false;
                                });
  ASSERT_TRUE(r.ok());
}

TEST_F(PortTest, UnkeyedEventsOfOneRequestStayTogetherAndRequestsRotate) {
  Open("{partitions: 3}");
  std::set<int32_t> parts;
  for (int i = 0; i < 3; ++i) {
    IngestResult r = Ingest(testing::Lines(Event("u" + std::to_string(i) + "a") + "\n" +
                                           Event("u" + std::to_string(i) + "b")));
    EXPECT_EQ(r.records[0].partition, r.records[1].partition);
    EXPECT_EQ(r.records[1].offset, r.records[0].offset + 1);
    parts.insert(r.records[0].partition);
  }
  EXPECT_EQ(parts.size(), 3u);
}

TEST_F(PortTest, UsesCeTimeThenArrivalTimeAsRecordTime) {
  spec::StreamSettings st;
  Open("{partitions: 1}");  // no eventTime: ce time, else arrival
  Ingest(testing::Structured(Event("t1", Data(), R"(,"time":"2020-01-02T03:04:05.5Z")")));
  Ingest(testing::Structured(Event("t2")));
  std::vector<int64_t> times;
  auto r = port_->stream().Read(0, log::Offset(0), {}, [&](const log::RecordView& v) {
    times.push_back(v.timestamp);
    return true;
  });
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(times.size(), 2u);
  EXPECT_EQ(times[0], *ParseRfc3339("2020-01-02T03:04:05.5Z"));
  EXPECT_EQ(times[1], clock_.NowMicros());
}

TEST_F(PortTest, NeverAcknowledgesAnEventWhoseSyncFailedNorCallsItADuplicate) {
  loom::testing::FaultFileSystem fs;
  PortOptions o;
  o.fs = &fs;
  o.clock = &clock_;
  auto port = StreamPort::Open(dir_.path(), testing::MakeProduct("{partitions: 1}"), "events", o);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  fs.FailNthSync(1);
  auto first = (*port)->Ingest(testing::Structured(Event("f1")));
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), StatusCode::kInternal) << first.status().ToString();
  // The claim was released: a retry is not answered "duplicate" of an unacknowledged event; the
  // partition keeps its failure (fsyncgate), so the retry fails too.
  auto retry = (*port)->Ingest(testing::Structured(Event("f1")));
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.status().code(), StatusCode::kInternal);
}

TEST_F(PortTest, MapsStreamSettingsOntoLogOptions) {
  auto product = testing::MakeProduct(
      "{partitions: 6, fsync: interval, fsyncInterval: 250ms, compression: zstd, retention: {time: "
      "7d}, "
      "segmentBytes: 64MiB, segmentTime: 1h}");
  const auto& st = product.FindPort("events")->stream;
  log::LogOptions o = LogOptionsFor(st, FileSystem::Default(), Clock::Real());
  EXPECT_EQ(o.partitions, 6);
  EXPECT_EQ(o.fsync, log::FsyncPolicy::kInterval);
  EXPECT_EQ(o.fsync_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(o.compression, log::Compression::kZstd);
  EXPECT_EQ(o.retention.kind, log::Retention::Kind::kTime);
  EXPECT_EQ(o.retention.max_age, std::chrono::microseconds(7ll * 24 * 3600 * 1000000));
  EXPECT_EQ(o.segment_max_bytes, 64ull << 20);
  EXPECT_EQ(o.segment_max_age, std::chrono::microseconds(3600ll * 1000000));
}

TEST_F(PortTest, RefusesUnknownPortsBadKeysAndClosedPorts) {
  auto product = testing::MakeProduct("{partitions: 1}");
  product.output_ports[0].stream.partition_key = {"nope"};
  auto bad = StreamPort::Open(dir_.Sub("x"), product, "events");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "port 'media-player/plays/events': partition_key names 'nope', which is not a "
            "top-level schema field");
  EXPECT_EQ(StreamPort::Open(dir_.Sub("y"), product, "missing").status().code(),
            StatusCode::kNotFound);
  Open("{partitions: 1}");
  ASSERT_TRUE(port_->Close().ok());
  auto r = port_->Ingest(testing::Structured(Event("z")));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace loom::ingest
