#include "core/core.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace loom {
namespace {

TEST(AddressTest, ParsesFullAddress) {
  Result<Address> a = Address::Parse("loom://media-player/play-events/events@3");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->domain, "media-player");
  EXPECT_EQ(a->product, "play-events");
  EXPECT_EQ(a->port, "events");
  EXPECT_EQ(*a->version, "3");
  EXPECT_EQ(a->ToString(), "loom://media-player/play-events/events@3");
  EXPECT_EQ(a->SqlName(), "media_player.play_events.events");
  EXPECT_EQ(a->HttpPath(), "/v1/products/media-player/play-events/ports/events");
}

TEST(AddressTest, ParsesWithoutSchemeOrPort) {
  Result<Address> a = Address::Parse("artists/profiles");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->has_port());
  EXPECT_EQ(a->ToString(), "loom://artists/profiles");
}

TEST(AddressTest, RejectsTraversalAndIllegalSegments) {
  for (const char* bad :
       {"loom://../etc/passwd", "loom://a//b", "loom://a/b/c/d", "loom://A/b", "loom://a/b_c",
        "loom://a/b@", "loom://a/b@../x", "http://a/b", "loom://a-/b", "loom://a--b/c", "",
        "loom://a", "loom://a/b/.", "loom://1a/b"}) {
    Result<Address> a = Address::Parse(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(AddressTest, ErrorNamesTheBadSegment) {
  Result<Address> a = Address::Parse("loom://media-player/Play/events");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("product name 'Play'"), std::string::npos)
      << a.status().message();
}

TEST(AddressTest, SqlNameMapsBackOneToOne) {
  Result<Address> a = Address::FromSqlName("artist_payments.monthly_royalties.table");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->ToString(), "loom://artist-payments/monthly-royalties/table");
  EXPECT_FALSE(Address::FromSqlName("a.b").ok());
  EXPECT_FALSE(Address::FromSqlName("a-b.c.d").ok());
}

TEST(ClockTest, Rfc3339RoundTrips) {
  Result<TimestampMicros> t = ParseRfc3339("2026-11-26T10:47:13.5Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(FormatRfc3339(*t), "2026-11-26T10:47:13.500000Z");
  Result<TimestampMicros> t2 = ParseRfc3339("2026-11-26T11:47:13.5+01:00");
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(*t, *t2);
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-26 10:47").ok());
  EXPECT_FALSE(ParseRfc3339("2026-11-26T10:47:13").ok());
}

TEST(ClockTest, Rfc3339TextMatchesTheCLibraryAcrossTheCalendar) {
  // The C library's gmtime_r is the reference, from before 1970 to the last four-digit year,
  // month ends, leap days and a negative time with a fraction.
  auto reference = [](TimestampMicros t) {
    int64_t secs = t >= 0 ? t / 1000000 : (t - 999999) / 1000000;
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(t - secs * 1000000));
    return std::string(buf);
  };
  std::vector<TimestampMicros> times = {
      0,         -1, 1, 951782400000000, 951868799999999, 253402300799999999, -62135596800000000,
      -123456789};
  uint64_t x = 88172645463325252ULL;  // xorshift: deterministic spread over years 1 to 9999
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    times.push_back(-62135596800000000 + static_cast<int64_t>(x % 315537897600000000ULL));
  }
  for (TimestampMicros t : times) {
    std::string appended = "x";
    AppendRfc3339(t, &appended);
    ASSERT_EQ(appended, "x" + reference(t)) << t;
    ASSERT_EQ(FormatRfc3339(t), reference(t)) << t;
  }
  EXPECT_EQ(FormatRfc3339(951782400000000), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  // Past four digits, the C library's text.
  EXPECT_EQ(FormatRfc3339(253402300800000000), reference(253402300800000000));
}

TEST(StatusTest, AssignOrReturnPropagates) {
  auto f = [](bool fail) -> Result<int> {
    if (fail) return NotFound("x");
    return 7;
  };
  auto g = [&](bool fail) -> Result<int> {
    LOOM_ASSIGN_OR_RETURN(int v, f(fail));
    return v + 1;
  };
  EXPECT_EQ(*g(false), 8);
  EXPECT_EQ(g(true).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace loom
