// The Prometheus exposition: the registry's format, checked by `promtool check metrics` from
// Debian's prometheus package, with the platform's metrics in it.

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/metrics.h"
#include "quality/quality_test_util.h"

namespace loom::quality_test {
namespace {

// Runs `promtool check metrics` on the text; returns its exit code and output.
testing::CommandResult Promtool(const std::string& text) {
  return testing::RunCommand({"promtool", "check", "metrics"}, text);
}

bool HavePromtool() { return std::system("command -v promtool >/dev/null 2>&1") == 0; }

TEST(MetricsRegistryTest, ExposesCountersGaugesAndHistogramsInTheTextFormat) {
  metrics::Registry r;
  r.GetCounter("loom_test_events_total", "Events.", {{"product", "a/b"}, {"outcome", "ok"}}).Inc(3);
  r.GetCounter("loom_test_events_total", "Events.", {{"outcome", "ok"}, {"product", "a/b"}}).Inc();
  r.GetGauge("loom_test_lag", "Lag with \"quotes\"\nand a newline.", {{"group", "g\"1\\"}})
      .Set(7.5);
  metrics::Histogram& h = r.GetHistogram("loom_test_seconds", "Durations.", {}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(5);
  const std::string text = r.Expose();
  EXPECT_NE(text.find("loom_test_events_total{outcome=\"ok\",product=\"a/b\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("loom_test_lag{group=\"g\\\"1\\\\\"} 7.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("loom_test_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("loom_test_seconds_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("loom_test_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("loom_test_seconds_count 3\n"), std::string::npos) << text;
  ASSERT_TRUE(HavePromtool()) << "promtool missing: run scripts/install-deps.sh";
  testing::CommandResult check = Promtool(text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << text;
}

TEST(MetricsRegistryTest, PromtoolRejectsWhatIsNotTheFormat) {
  ASSERT_TRUE(HavePromtool()) << "promtool missing: run scripts/install-deps.sh";
  testing::CommandResult check = Promtool("# TYPE x counter\nx{a=b} 1\n");
  EXPECT_NE(check.exit_code, 0) << "the check must be able to fail";
}

class PlatformMetricsTest : public QualityFixture {};

TEST_F(PlatformMetricsTest, PlatformMetricsPassPromtool) {
  ASSERT_TRUE(Apply(std::string(kDomains) + "---\n" +
                    PlaysProduct("    - {name: ids, kind: not_null, fields: [play_id]}\n",
                                 "    - {kind: freshness, port: daily, threshold: 1h}\n"))
                  .ok());
  ASSERT_TRUE(PublishPlays("p1,u1,a1,SE,A,1,2026-11-17T10:00:00Z,x@y.se\n").ok());
  ASSERT_TRUE(platform_->EvaluateSlos().ok());
  auto q = platform_->PrepareQuery(admin_, "SELECT count(*) FROM media_player.plays.daily", {});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  engine::StringSink sink;
  ASSERT_TRUE((*q)->Run(sink).ok());
  Result<std::string> text = platform_->MetricsText(admin_);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  for (const char* want :
       {"loom_table_version_age_seconds{port=\"daily\",product=\"media-player/plays\"}",
        "loom_quality_checks_total{outcome=\"passed\",port=\"daily\",product=\"media-player/"
        "plays\"}",
        "loom_slo_ok{product=\"media-player/plays\",slo=\"freshness:daily\"} 1",
        "loom_slo_error_budget_remaining{", "loom_queries_total{outcome=\"ok\"}",
        "loom_query_duration_seconds_bucket{"}) {
    EXPECT_NE(text->find(want), std::string::npos) << want << "\n" << *text;
  }
  ASSERT_TRUE(HavePromtool()) << "promtool missing: run scripts/install-deps.sh";
  testing::CommandResult check = Promtool(*text);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << *text;
}

}  // namespace
}  // namespace loom::quality_test
