// SLOs with error budgets, and alerts delivered to a real local HTTP receiver (retried after a
// first 500).

#include <httplib.h>

#include <thread>

#include "quality/quality_test_util.h"

namespace loom::quality_test {
namespace {

using nlohmann::json;

// A webhook receiver on a free local port: answers 500 to the first `failures` posts, then 200.
class Receiver {
 public:
  explicit Receiver(int failures) : failures_(failures) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      ++posts_;
      if (posts_ <= failures_) {
        res.status = 500;
        return;
      }
      bodies_.push_back(json::parse(req.body, nullptr, false));
      attempts_.push_back(req.get_header_value("X-Loom-Alert-Attempt"));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  int posts() {
    std::lock_guard<std::mutex> lock(mu_);
    return posts_;
  }
  std::vector<json> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> attempts() {
    std::lock_guard<std::mutex> lock(mu_);
    return attempts_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  int failures_;
  std::mutex mu_;
  int posts_ = 0;
  std::vector<json> bodies_;
  std::vector<std::string> attempts_;
};

TEST(SloBudgetTest, BudgetIsTheShareOfAllowedBadSamplesLeft) {
  spec::Slo slo;
  slo.objective = 0.9;
  slo.window_ms = 1000;  // 1 s = 1,000,000 us
  std::vector<quality::SloSample> samples;
  for (int i = 0; i < 20; ++i) samples.push_back({i * 10000, i != 3, 0});
  quality::SloStatus st = quality::EvaluateSlo(slo, samples, 200000);
  EXPECT_EQ(st.samples, 20u);
  EXPECT_EQ(st.bad, 1u);
  EXPECT_EQ(st.state, quality::SloState::kOk);
  EXPECT_DOUBLE_EQ(st.attainment, 0.95);
  EXPECT_NEAR(st.budget_left, 0.5, 1e-9);  // 2 bad allowed, 1 spent

  samples.push_back({200000, false, 0});
  samples.push_back({200001, false, 0});
  st = quality::EvaluateSlo(slo, samples, 200001);
  EXPECT_EQ(st.state, quality::SloState::kBreached);
  EXPECT_LT(st.budget_left, 0);

  // Samples older than the window no longer count.
  st = quality::EvaluateSlo(slo, samples, 200001 + 2000000);
  EXPECT_EQ(st.state, quality::SloState::kNoData);
}

class SloAlertTest : public QualityFixture {};

TEST_F(SloAlertTest, FreshnessBreachFiresTheWebhookWithARetryAfterA500) {
  Receiver receiver(/*failures=*/1);
  alerts_.webhook = receiver.url();
  alerts_.first_backoff = std::chrono::milliseconds(50);
  Reopen();
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("",
                                 "    - {kind: freshness, port: daily, threshold: 1h, "
                                 "objective: 0.9, window: 1d}\n"))
                  .ok());
  ASSERT_TRUE(PublishPlays("p1,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n").ok());

  // Fresh: a good sample, no alert.
  Result<json> first = platform_->EvaluateSlos();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ((*first)["slos"][0]["state"], "ok") << first->dump();

  // Two hours later the version is stale: the budget (10% of 2 samples) is overspent.
  clock_.Advance(int64_t{2} * 3600 * 1000000);
  Result<json> second = platform_->EvaluateSlos();
  ASSERT_TRUE(second.ok());
  const json& slo = (*second)["slos"][0];
  EXPECT_EQ(slo["state"], "breached") << slo.dump();
  EXPECT_LT(slo["budgetLeft"].get<double>(), 0);
  EXPECT_FALSE(slo["lastGood"].get<bool>());

  ASSERT_TRUE(platform_->alerter().Flush(std::chrono::seconds(10)));
  EXPECT_EQ(receiver.posts(), 2) << "one 500, then the retry that was accepted";
  std::vector<json> bodies = receiver.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0]["alert"], "slo_breached");
  EXPECT_EQ(bodies[0]["product"], "loom://media-player/plays");
  EXPECT_EQ(bodies[0]["slo"], "freshness:daily");
  EXPECT_EQ(bodies[0]["state"], "breached");
  EXPECT_EQ(receiver.attempts(), std::vector<std::string>{"2"});
  EXPECT_EQ(platform_->alerter().delivered(), 1u);

  // The same state again raises nothing new.
  ASSERT_TRUE(platform_->EvaluateSlos().ok());
  ASSERT_TRUE(platform_->alerter().Flush(std::chrono::seconds(10)));
  EXPECT_EQ(receiver.posts(), 2);

  // `loom slo` reads the same status.
  Result<json> status = platform_->SloStatus(admin_, *Address::Parse("loom://media-player/plays"));
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["slos"][0]["state"], "breached");
  EXPECT_EQ((*status)["slos"][0]["samples"], 3);
}

TEST_F(SloAlertTest, CompletenessComesFromTheLatestCheck) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: rows, kind: row_count, min: 1}\n",
                                 "    - {kind: completeness, port: daily, threshold: 0.9}\n"))
                  .ok());
  // 8 fields, 4 of them empty: completeness 0.5.
  ASSERT_TRUE(PublishPlays("p1,u1,a1,SE,,,,\n").ok());
  Result<json> r = platform_->EvaluateSlos();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["slos"][0]["state"], "breached") << r->dump();
  EXPECT_DOUBLE_EQ((*r)["slos"][0]["lastValue"].get<double>(), 0.5);
}

TEST(AlerterTest, GivesUpAfterMaxAttemptsAndRefusesABadUrl) {
  Receiver receiver(/*failures=*/100);
  quality::AlertOptions o;
  o.webhook = receiver.url();
  o.max_attempts = 3;
  o.first_backoff = std::chrono::milliseconds(10);
  auto alerter = quality::Alerter::Start(o);
  ASSERT_TRUE(alerter.ok());
  (*alerter)->Send({{"alert", "test"}});
  ASSERT_TRUE((*alerter)->Flush(std::chrono::seconds(10)));
  EXPECT_EQ(receiver.posts(), 3);
  EXPECT_EQ((*alerter)->failed(), 1u);

  o.webhook = "ftp://example/hook";
  auto bad = quality::Alerter::Start(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ftp://example/hook"), std::string::npos);
}

}  // namespace
}  // namespace loom::quality_test
