// The value types and text forms of spec.h: versions, durations, sizes, types, principals.

#include <gtest/gtest.h>

#include "spec/spec.h"

namespace loom::spec {
namespace {

SemVer V(std::string_view text) {
  Result<SemVer> v = SemVer::Parse(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.status().ToString();
  return v.ok() ? *v : SemVer{};
}

TEST(SemVerTest, ParsesAndPrintsReleasesAndPreReleases) {
  EXPECT_EQ(V("1.2.3").ToString(), "1.2.3");
  EXPECT_EQ(V("0.0.0").ToString(), "0.0.0");
  EXPECT_EQ(V("10.20.30-rc.1").ToString(), "10.20.30-rc.1");
  EXPECT_EQ(V("1.0.0-alpha").prerelease, "alpha");
  EXPECT_EQ(V("4294967295.0.0").major, 4294967295u);
}

TEST(SemVerTest, RefusesWhatIsNotMajorMinorPatch) {
  for (std::string_view bad :
       {"1.0", "1", "", "1.0.0.0", "v1.0.0", "01.0.0", "1.02.0", "1.0.x", "1.0.0-", "1.0.0-a..b",
        "1.0.0-01", "4294967296.0.0", "1..0", " 1.0.0", "1.0.0-a_b"}) {
    Result<SemVer> v = SemVer::Parse(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(SemVer::Parse("1.0").status().message(),
            "'1.0' is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 1.0.0)");
  EXPECT_EQ(SemVer::Parse("1.0.0+build.5").status().message(),
            "'1.0.0+build.5': build metadata ('+...') is not supported in versions");
}

TEST(SemVerTest, OrdersBySemverPrecedence) {
  const char* ordered[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                           "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                           "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                           "1.1.0",       "2.0.0",         "10.0.0"};
  for (size_t i = 0; i + 1 < std::size(ordered); ++i) {
    EXPECT_LT(V(ordered[i]), V(ordered[i + 1])) << ordered[i] << " < " << ordered[i + 1];
    EXPECT_GT(V(ordered[i + 1]), V(ordered[i]));
  }
  EXPECT_EQ(V("1.2.3-rc.1"), V("1.2.3-rc.1"));
  EXPECT_NE(V("1.2.3"), V("1.2.3-rc.1"));
}

TEST(DurationTest, ParsesEveryUnit) {
  EXPECT_EQ(*ParseDurationMs("100ms"), 100);
  EXPECT_EQ(*ParseDurationMs("0ms"), 0);
  EXPECT_EQ(*ParseDurationMs("30s"), 30'000);
  EXPECT_EQ(*ParseDurationMs("5m"), 300'000);
  EXPECT_EQ(*ParseDurationMs("24h"), 86'400'000);
  EXPECT_EQ(*ParseDurationMs("30d"), 30LL * 86'400'000);
  EXPECT_EQ(*ParseDurationMs("2w"), 14LL * 86'400'000);
}

TEST(DurationTest, RefusesOtherForms) {
  for (std::string_view bad : {"5", "5 m", "m", "5min", "-5m", "1.5h", "5M", "",
                               "99999999999999999999d", "9223372036854775807d"}) {
    EXPECT_FALSE(ParseDurationMs(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseDurationMs("5 minutes").status().message(),
            "'5 minutes' is not a duration (expected a whole number and a unit ms, s, m, h, d or "
            "w, e.g. 5m)");
}

TEST(DurationTest, FormatsWithTheLargestExactUnit) {
  EXPECT_EQ(FormatDurationMs(100), "100ms");
  EXPECT_EQ(FormatDurationMs(90'000), "90s");
  EXPECT_EQ(FormatDurationMs(300'000), "5m");
  EXPECT_EQ(FormatDurationMs(86'400'000), "1d");
  EXPECT_EQ(FormatDurationMs(14LL * 86'400'000), "14d");
  EXPECT_EQ(FormatDurationMs(0), "0ms");
  for (int64_t ms : {1LL, 1500LL, 3'600'000LL, 7LL * 86'400'000, 123'456'789LL}) {
    EXPECT_EQ(*ParseDurationMs(FormatDurationMs(ms)), ms);
  }
}

TEST(BytesTest, ParsesBinaryUnitsAndSuggestsThemForDecimalOnes) {
  EXPECT_EQ(*ParseBytes("512B"), 512);
  EXPECT_EQ(*ParseBytes("512KiB"), 512 * 1024);
  EXPECT_EQ(*ParseBytes("128MiB"), 128LL << 20);
  EXPECT_EQ(*ParseBytes("10GiB"), 10LL << 30);
  EXPECT_EQ(*ParseBytes("2TiB"), 2LL << 40);
  EXPECT_EQ(ParseBytes("128MB").status().message(),
            "'128MB' is not a size (did you mean '128MiB'?)");
  EXPECT_EQ(ParseBytes("1kB").status().message(), "'1kB' is not a size (did you mean '1KiB'?)");
  EXPECT_EQ(ParseBytes("lots").status().message(),
            "'lots' is not a size (expected a whole number and a unit B, KiB, MiB, GiB or TiB, "
            "e.g. 128MiB)");
  EXPECT_FALSE(ParseBytes("1024").ok());
  EXPECT_FALSE(ParseBytes("99999999TiB").ok());
  EXPECT_EQ(FormatBytes(1 << 20), "1MiB");
  EXPECT_EQ(FormatBytes(1536), "1536B");
  EXPECT_EQ(FormatBytes(10LL << 30), "10GiB");
}

TEST(FieldTypeTest, ParsesEveryTypeAndPrintsItBack) {
  for (std::string_view text :
       {"string", "int32", "int64", "double", "bool", "date", "timestamp", "uuid", "decimal(18,2)",
        "decimal(1,0)", "decimal(38,38)", "list<string>", "list<list<decimal(10,2)>>"}) {
    Result<FieldType> t = ParseFieldType(text);
    ASSERT_TRUE(t.ok()) << text << ": " << t.status().ToString();
    EXPECT_EQ(t->ToString(), text);
  }
  EXPECT_EQ(ParseFieldType("decimal( 18 , 2 )")->ToString(), "decimal(18,2)");
  EXPECT_EQ(ParseFieldType("decimal(9)")->ToString(), "decimal(9,0)");
  EXPECT_EQ(ParseFieldType("list< int64 >")->ToString(), "list<int64>");
  EXPECT_EQ(ParseFieldType("struct")->kind, TypeKind::kStruct);
}

TEST(FieldTypeTest, MapsToDuckDbTypes) {
  auto sql = [](std::string_view text) { return ParseFieldType(text)->SqlType(); };
  EXPECT_EQ(sql("string"), "VARCHAR");
  EXPECT_EQ(sql("int32"), "INTEGER");
  EXPECT_EQ(sql("int64"), "BIGINT");
  EXPECT_EQ(sql("double"), "DOUBLE");
  EXPECT_EQ(sql("decimal(18,2)"), "DECIMAL(18,2)");
  EXPECT_EQ(sql("bool"), "BOOLEAN");
  EXPECT_EQ(sql("date"), "DATE");
  EXPECT_EQ(sql("timestamp"), "TIMESTAMPTZ");
  EXPECT_EQ(sql("uuid"), "UUID");
  EXPECT_EQ(sql("list<list<int32>>"), "INTEGER[][]");
  FieldType s = *ParseFieldType("struct");
  Field os;
  os.name = "os";
  os.type = *ParseFieldType("string");
  Field cores;
  cores.name = "cores";
  cores.type = *ParseFieldType("int32");
  s.fields = {os, cores};
  EXPECT_EQ(s.SqlType(), "STRUCT(\"os\" VARCHAR, \"cores\" INTEGER)");
  EXPECT_EQ(s.ToString(), "struct<os string, cores int32>");
}

TEST(FieldTypeTest, RefusesUnknownTypesWithAHint) {
  auto msg = [](std::string_view text) { return ParseFieldType(text).status().message(); };
  EXPECT_EQ(msg("strng"), "unknown type 'strng' (did you mean 'string'?)");
  EXPECT_EQ(msg("integer"), "unknown type 'integer' (did you mean 'int32'?)");
  EXPECT_EQ(msg("boolean"), "unknown type 'boolean' (did you mean 'bool'?)");
  EXPECT_EQ(msg("blob"),
            "unknown type 'blob' (expected string, int32, int64, double, decimal(p,s), bool, "
            "date, timestamp, uuid, list<T> or struct)");
  EXPECT_EQ(msg("decimal"), "type 'decimal' needs a precision and scale, e.g. decimal(18,2)");
  EXPECT_EQ(msg("decimal(0,0)"),
            "type 'decimal(0,0)': decimal precision must be between 1 and 38, got 0");
  EXPECT_EQ(msg("decimal(10,11)"),
            "type 'decimal(10,11)': decimal scale must be between 0 and the precision 10, got 11");
  EXPECT_EQ(msg("decimal(a,b)"),
            "type 'decimal(a,b)': expected decimal(PRECISION,SCALE) with whole numbers");
  EXPECT_EQ(msg("list"), "type 'list' needs an element type, e.g. list<string>");
  EXPECT_EQ(msg("list<strng>"), "unknown type 'strng' (did you mean 'string'?)");
  EXPECT_FALSE(ParseFieldType("list<string").ok());
  std::string deep = "string";
  for (int i = 0; i < 40; ++i) deep = "list<" + deep + ">";
  EXPECT_FALSE(ParseFieldType(deep).ok());
}

TEST(PrincipalTest, AcceptsTheThreeKindsAndExplainsTheRest) {
  EXPECT_EQ(PrincipalProblem("user:alice"), "");
  EXPECT_EQ(PrincipalProblem("user:alice@example.com"), "");
  EXPECT_EQ(PrincipalProblem("group:media-player-team"), "");
  EXPECT_EQ(PrincipalProblem("service:media-player"), "");
  EXPECT_EQ(PrincipalProblem("alice"),
            "'alice' is not a principal (expected user:NAME, group:NAME or service:NAME)");
  EXPECT_EQ(PrincipalProblem("team:x"),
            "'team:x' has unknown principal kind 'team' (expected user, group or service)");
  EXPECT_EQ(PrincipalProblem("user:"), "'user:' needs a name of 1 to 128 characters after 'user:'");
  EXPECT_EQ(PrincipalProblem("user:a b"),
            "'user:a b': a principal name may contain only letters, digits, '-', '_', '.' and '@'");
}

TEST(ToStringTest, NamesEveryEnumeratorAsDescriptorsSpellIt) {
  EXPECT_EQ(ToString(Classification::kRestricted), "restricted");
  EXPECT_EQ(ToString(Alignment::kShared), "shared");
  EXPECT_EQ(ToString(PortKind::kTable), "table");
  EXPECT_EQ(ToString(Permission::kUnmask), "unmask");
  EXPECT_EQ(ToString(MaskMethod::kTokenize), "tokenize");
  EXPECT_EQ(ToString(MaskMethod::kNull), "null");
  EXPECT_EQ(ToString(SloKind::kTimeliness), "timeliness");
  EXPECT_EQ(ToString(Severity::kBlock), "block");
  EXPECT_EQ(ToString(FsyncPolicy::kInterval), "interval");
  EXPECT_EQ(ToString(OnInvalid::kQuarantine), "quarantine");
  EXPECT_EQ(ToString(Compression::kZstd), "zstd");
  EXPECT_EQ(ToString(SnapshotInterval::kMonthly), "monthly");
  EXPECT_EQ(ToString(TransformMode::kStreaming), "streaming");
  EXPECT_EQ(KindName(Kind::kPolicy), "Policy");
  Diagnostic d{SourcePos{"a.yaml", 3, 5}, "spec.x", "bad"};
  EXPECT_EQ(d.ToString(), "a.yaml:3:5: spec.x: bad");
  d.path.clear();
  EXPECT_EQ(d.ToString(), "a.yaml:3:5: bad");
}

}  // namespace
}  // namespace loom::spec
