// StreamPort::Ingest's while_storing hook: called once per decoded request with the count of
// records being stored, while they are being stored; its error fails the call, and what was
// stored stays stored (a retry is answered as duplicates).

#include <memory>

#include "ingest/ingest.h"
#include "ingest_test_util.h"

namespace loom::ingest {
namespace {

using testing::Data;
using testing::Event;

class WhileStoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PortOptions o;
    o.clock = &clock_;
    auto port = StreamPort::Open(dir_.path(), testing::MakeProduct("{partitions: 2}"), "events", o);
    ASSERT_TRUE(port.ok()) << port.status().ToString();
    port_ = std::move(*port);
  }
  testing::FakeClock clock_;
  loom::testing::TempDir dir_;
  std::unique_ptr<StreamPort> port_;
};

TEST_F(WhileStoringTest, CountsTheRecordsBeingStoredOnce) {
  ASSERT_TRUE(port_->Ingest(testing::Lines(Event("seen") + "\n")).ok());
  std::string body = Event("a") + "\n" + Event("b") + "\n" + Event("seen") + "\n" +
                     Event("c", Data("u1", R"(,"country":"XX")")) + "\n" + Event("a") + "\n";
  int calls = 0;
  size_t storing = 0;
  auto r = port_->Ingest(testing::Lines(body), [&](size_t n) {
    ++calls;
    storing = n;
    return Status::Ok();
  });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(storing, 2u);  // a and b: not the duplicates, not the invalid one
  EXPECT_EQ(r->accepted, 2u);
  EXPECT_EQ(r->duplicates, 2u);
  EXPECT_EQ(r->rejected, 1u);

  // Nothing to store: still called once, with 0.
  calls = 0;
  r = port_->Ingest(testing::Lines(Event("a") + "\n"), [&](size_t n) {
    ++calls;
    storing = n;
    return Status::Ok();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(storing, 0u);
}

TEST_F(WhileStoringTest, NotCalledForARequestThatDoesNotDecode) {
  int calls = 0;
  auto r = port_->Ingest(testing::Batch("[" + Event("x") + ", {\"id\": ]"), [&](size_t) {
    ++calls;
    return Status::Ok();
  });
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(calls, 0);
}

TEST_F(WhileStoringTest, ItsErrorFailsTheCallButWhatWasStoredStays) {
  auto r = port_->Ingest(testing::Lines(Event("x1") + "\n" + Event("x2") + "\n"),
                         [](size_t) { return Unavailable("audit log: disk full"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(), "audit log: disk full");
  size_t stored =
      testing::ReadAll(port_->stream(), 0).size() + testing::ReadAll(port_->stream(), 1).size();
  EXPECT_EQ(stored, 2u);
  auto retry = port_->Ingest(testing::Lines(Event("x1") + "\n" + Event("x2") + "\n"));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->duplicates, 2u);
  EXPECT_EQ(retry->accepted, 0u);
}

}  // namespace
}  // namespace loom::ingest
