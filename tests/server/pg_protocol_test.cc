// The wire listener byte by byte: what libpq never sends (malformed and hostile messages), and
// protocol paths libpq does not expose (Execute with a row limit, skipping to Sync).

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "server/pg_test_util.h"

namespace loom::server {
namespace {

using testing::CStr;
using testing::ErrorField;
using testing::Int16;
using testing::Int32;
using testing::PgFixture;
using testing::RawClient;
using testing::Types;

class PgProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(fx_.ok()) << fx_.error(); }
  // A client still gets served: the server survived whatever came before.
  void ExpectServing() {
    RawClient c(fx_.port());
    ASSERT_TRUE(c.Startup());
    c.SendMessage('Q', CStr("SELECT 5 AS five"));
    EXPECT_EQ(Types(c.ReadUntilReady()), "TDCZ");
  }
  PgFixture fx_;
};

std::string Bind(const std::string& portal, const std::string& stmt,
                 const std::vector<std::string>& params) {
  std::string b = CStr(portal) + CStr(stmt) + Int16(0) + Int16(static_cast<int16_t>(params.size()));
  for (const std::string& p : params) b += Int32(static_cast<int32_t>(p.size())) + p;
  return b + Int16(0);
}

TEST_F(PgProtocolTest, StartupAnswersSslAndGssRequestsWithN) {
  RawClient c(fx_.port());
  c.Send(Int32(8) + Int32(80877103));
  char answer = 0;
  ASSERT_TRUE(c.ReadByte(&answer));
  EXPECT_EQ(answer, 'N');
  c.Send(Int32(8) + Int32(80877104));
  ASSERT_TRUE(c.ReadByte(&answer));
  EXPECT_EQ(answer, 'N');
  EXPECT_TRUE(c.Startup());
}

TEST_F(PgProtocolTest, ExecuteWithARowLimitSuspendsThePortal) {
  RawClient c(fx_.port());
  ASSERT_TRUE(c.Startup());
  c.SendMessage('P',
                CStr("") + CStr("SELECT x FROM generate_series(1, 5) t(x) ORDER BY x") + Int16(0));
  c.SendMessage('B', Bind("cur", "", {}));
  c.SendMessage('D', "P" + CStr("cur"));
  c.SendMessage('E', CStr("cur") + Int32(2));
  c.SendMessage('E', CStr("cur") + Int32(2));
  c.SendMessage('E', CStr("cur") + Int32(2));
  c.SendMessage('S', "");
  auto msgs = c.ReadUntilReady();
  // ParseComplete, BindComplete, RowDescription, 2 rows + suspended, 2 rows + suspended,
  // 1 row + CommandComplete, ReadyForQuery.
  EXPECT_EQ(Types(msgs), "12TDDsDDsDCZ");
  ASSERT_EQ(msgs.size(), 12u);
  EXPECT_EQ(msgs[10].second, CStr("SELECT 1"));
  EXPECT_EQ(msgs[9].second, Int16(1) + Int32(1) + "5");
}

TEST_F(PgProtocolTest, AfterAnErrorMessagesAreSkippedUntilSync) {
  RawClient c(fx_.port());
  ASSERT_TRUE(c.Startup());
  c.SendMessage('P', CStr("") + CStr("SELEC 1") + Int16(0));
  c.SendMessage('B', Bind("", "", {}));
  c.SendMessage('E', CStr("") + Int32(0));
  c.SendMessage('S', "");
  auto msgs = c.ReadUntilReady();
  ASSERT_EQ(Types(msgs), "EZ");
  EXPECT_EQ(ErrorField(msgs[0].second, 'C'), "42601");
  EXPECT_EQ(ErrorField(msgs[0].second, 'S'), "ERROR");
  // And the next batch runs.
  c.SendMessage('P', CStr("s1") + CStr("SELECT $1 AS v") + Int16(1) + Int32(25));
  c.SendMessage('B', Bind("", "s1", {"hello"}));
  c.SendMessage('E', CStr("") + Int32(0));
  c.SendMessage('C', "S" + CStr("s1"));
  c.SendMessage('S', "");
  msgs = c.ReadUntilReady();
  ASSERT_EQ(Types(msgs), "12DC3Z");
  EXPECT_EQ(msgs[2].second, Int16(1) + Int32(5) + "hello");
  // Bind with the wrong number of parameters.
  c.SendMessage('P', CStr("s2") + CStr("SELECT $1 AS v, $2 AS w") + Int16(0));
  c.SendMessage('B', Bind("", "s2", {"one"}));
  c.SendMessage('S', "");
  msgs = c.ReadUntilReady();
  ASSERT_EQ(Types(msgs), "1EZ");
  EXPECT_EQ(ErrorField(msgs[1].second, 'C'), "08P01");
}

TEST_F(PgProtocolTest, MalformedMessagesAreProtocolViolations) {
  struct Case {
    const char* what;
    std::string bytes;
  };
  std::vector<Case> cases = {
      {"length below 4", std::string("Q") + Int32(3)},
      {"length beyond the limit", std::string("Q") + Int32(0x7fffffff)},
      {"query without NUL", std::string("Q") + Int32(4 + 3) + "SEL"},
      {"bind count beyond the message", std::string("B") + Int32(4 + 2 + 2 + 2 + 4) + CStr("") +
                                            CStr("") + Int16(0) + Int16(30000) + Int32(1)},
      {"unknown message type", std::string("@") + Int32(4)},
      {"describe of a bad kind", std::string("D") + Int32(4 + 1 + 2) + "X" + CStr("a")},
  };
  for (const Case& k : cases) {
    RawClient c(fx_.port());
    ASSERT_TRUE(c.Startup()) << k.what;
    c.Send(k.bytes);
    char type = 0;
    std::string body;
    ASSERT_TRUE(c.Read(&type, &body)) << k.what;
    EXPECT_EQ(type, 'E') << k.what;
    EXPECT_EQ(ErrorField(body, 'C'), "08P01") << k.what << ": " << ErrorField(body, 'M');
    EXPECT_EQ(ErrorField(body, 'S'), "FATAL") << k.what;
    EXPECT_TRUE(c.ClosedByServer()) << k.what;
  }
  ExpectServing();
}

TEST_F(PgProtocolTest, BadStartupPacketsCloseTheConnection) {
  for (const std::string& bytes :
       {Int32(2), Int32(100000), Int32(8) + Int32(2 << 16), Int32(12) + Int32(196608) + "user",
        std::string("\x16\x03\x01\x02\x00", 5)}) {
    RawClient c(fx_.port());
    c.Send(bytes);
    EXPECT_TRUE(c.ClosedByServer());
  }
  ExpectServing();
}

TEST_F(PgProtocolTest, RandomBytesAfterStartupNeverCrashTheServer) {
  std::mt19937 rng(7);
  const int rounds = testing::UnderSanitizer() ? 30 : 100;
  for (int i = 0; i < rounds; ++i) {
    RawClient c(fx_.port());
    ASSERT_TRUE(c.Startup());
    std::string junk;
    // A plausible type byte and a small length, then noise.
    const char types[] = "QPBDECSHXFdcfp@";
    junk.push_back(types[rng() % (sizeof types - 1)]);
    uint32_t len = 4 + rng() % 40;
    junk += Int32(static_cast<int32_t>(len));
    for (uint32_t j = 0; j + 4 < len; ++j) junk.push_back(static_cast<char>(rng()));
    junk += CStr("");
    c.Send(junk);
    c.SendMessage('S', "");
    (void)c.ReadUntilReady(2000);
  }
  ExpectServing();
}

TEST_F(PgProtocolTest, AClientThatLeavesMidResultFreesItsConnection) {
  {
    RawClient c(fx_.port());
    ASSERT_TRUE(c.Startup());
    c.SendMessage('Q', CStr("SELECT i, repeat('x', 100) AS pad FROM range(2000000) t(i)"));
    char type = 0;
    std::string body;
    ASSERT_TRUE(c.Read(&type, &body));
    EXPECT_EQ(type, 'T');
  }  // closed while the server is still streaming
  for (int i = 0; i < 250 && fx_.server().connections() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(fx_.server().connections(), 0u);
  ExpectServing();
}

TEST_F(PgProtocolTest, TerminateClosesTheConnection) {
  RawClient c(fx_.port());
  ASSERT_TRUE(c.Startup());
  c.SendMessage('X', "");
  EXPECT_TRUE(c.ClosedByServer());
}

}  // namespace
}  // namespace loom::server
