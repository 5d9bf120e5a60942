// The audit chain: appends, filters, and tampering with the SQLite file directly (as an attacker
// with file access would), which Verify() must detect.

#include <sqlite3.h>

#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "security/security.h"
#include "security_test_util.h"
#include "testing/testing.h"

namespace loom::security {
namespace {

using loom::security::testing::FakeClock;

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  void Reopen() {
    log_.reset();
    auto log = AuditLog::Open(AuditOptions{path_, &clock_});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  void AppendFive() {
    const char* who[] = {"user:alice", "user:bob", "user:alice", "user:mallory", "user:carol"};
    const char* what[] = {"loom://media-player/play-events/events",
                          "loom://media-player/play-events/daily@3", "loom://artists/profiles",
                          "loom://artists/profiles/profiles", ""};
    for (int i = 0; i < 5; ++i) {
      AuditRecord r{who[i],
                    i == 4 ? "apply" : "query",
                    what[i],
                    i != 3,
                    i == 3 ? -1 : 10 * i,
                    i % 2 == 0 ? "SELECT count(*) FROM media_player.play_events.events" : "",
                    i == 3 ? "no grant" : "role consumer"};
      auto e = log_->Append(r);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      clock_.AdvanceSeconds(60);
    }
  }

  // Runs SQL on the file behind the log's back (the log is closed first).
  void Tamper(const std::string& sql) {
    log_.reset();
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db,
                          ("DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS "
                           "audit_no_delete; " +
                           sql)
                              .c_str(),
                          nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
    Reopen();
  }

  std::string Broken() {
    Result<AuditVerification> v = log_->Verify();
    EXPECT_FALSE(v.ok()) << "tampering not detected";
    if (v.ok()) return "";
    EXPECT_EQ(v.status().code(), StatusCode::kDataLoss);
    return v.status().message();
  }

  loom::testing::TempDir dir_;
  std::string path_ = dir_.Sub("audit.db");
  FakeClock clock_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditTest, AppendsAChainThatVerifies) {
  ASSERT_OK_AND_ASSIGN(AuditVerification empty, log_->Verify());
  EXPECT_EQ(empty.entries, 0);
  AppendFive();
  ASSERT_OK_AND_ASSIGN(AuditVerification v, log_->Verify());
  EXPECT_EQ(v.entries, 5);
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> all, log_->List({}));
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].prev_hash, std::string(64, '0'));
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i].seq, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(all[i].prev_hash, all[i - 1].hash);
  }
  EXPECT_EQ(v.head_hash, all.back().hash);
  // The query text is hashed, never kept.
  EXPECT_EQ(all[0].query_sha256, Sha256Hex("SELECT count(*) FROM media_player.play_events.events"));
  EXPECT_EQ(all[1].query_sha256, "");
  EXPECT_EQ(loom::testing::ReadFile(path_).find("SELECT count"), std::string::npos);
}

TEST_F(AuditTest, ListsByPrincipalAddressOperationDecisionTimeAndDomain) {
  const TimestampMicros start = clock_.NowMicros();
  AppendFive();
  auto count = [&](const AuditFilter& f) {
    auto r = log_->List(f);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->size() : size_t{999};
  };
  AuditFilter f;
  f.principal = "user:alice";
  EXPECT_EQ(count(f), 2u);
  f = {};
  f.address = "media-player/play-events";  // the product covers its ports and versions
  EXPECT_EQ(count(f), 2u);
  f.address = "media-player/play-events/daily";
  EXPECT_EQ(count(f), 1u);
  f = {};
  f.operation = "apply";
  EXPECT_EQ(count(f), 1u);
  f = {};
  f.allowed = false;
  ASSERT_EQ(count(f), 1u);
  EXPECT_EQ(log_->List(f)->front().principal, "user:mallory");
  f = {};
  f.since = start + 60'000'000;
  f.until = start + 180'000'000;
  EXPECT_EQ(count(f), 2u);
  f = {};
  f.domains = std::vector<std::string>{"artists"};  // an owner's view
  EXPECT_EQ(count(f), 2u);
  f.domains = std::vector<std::string>{};
  EXPECT_EQ(count(f), 0u);
  f = {};
  f.after_seq = 2;
  f.limit = 2;
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> page, log_->List(f));
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].seq, 3);
}

TEST_F(AuditTest, TheTableRefusesUpdatesAndDeletesThroughSqlite) {
  AppendFive();
  log_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit SET allowed = 1", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit WHERE seq = 2", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  EXPECT_TRUE(log_->Verify().ok());
}

TEST_F(AuditTest, DetectsAnEditedEntry) {
  AppendFive();
  Tamper("UPDATE audit SET allowed = 1 WHERE seq = 4");
  EXPECT_NE(Broken().find("entry 4"), std::string::npos);
}

TEST_F(AuditTest, DetectsAnEditWhoseHashWasAlsoReplaced) {
  AppendFive();
  Tamper("UPDATE audit SET principal = 'user:nobody', hash = '" + std::string(64, 'f') +
         "' WHERE seq = 2");
  EXPECT_NE(Broken().find("entry 2"), std::string::npos);
}

TEST_F(AuditTest, DetectsADeletedEntry) {
  AppendFive();
  Tamper("DELETE FROM audit WHERE seq = 3");
  EXPECT_NE(Broken().find("expected entry 3"), std::string::npos);
}

TEST_F(AuditTest, DetectsDeletedLastEntries) {
  AppendFive();
  Tamper("DELETE FROM audit WHERE seq >= 4");
  EXPECT_NE(Broken().find("head"), std::string::npos);
}

TEST_F(AuditTest, DetectsReorderedEntries) {
  AppendFive();
  // Swap the contents of entries 2 and 3, keeping their seq numbers and hashes.
  Tamper(R"sql(
    CREATE TEMP TABLE s AS SELECT * FROM audit WHERE seq IN (2, 3);
    UPDATE audit SET (time, principal, operation, address, product_key, domain, allowed, rows,
                      query_sha256, detail, prev_hash, hash) =
      (SELECT time, principal, operation, address, product_key, domain, allowed, rows,
              query_sha256, detail, prev_hash, hash FROM s WHERE s.seq = 5 - audit.seq)
    WHERE seq IN (2, 3);
  )sql");
  EXPECT_NE(Broken().find("entry 2"), std::string::npos);
}

TEST_F(AuditTest, DetectsAnInsertedEntry) {
  AppendFive();
  // Make room after entry 2 and insert a copy of entry 2 as entry 3.
  Tamper(R"sql(
    UPDATE audit SET seq = seq + 100 WHERE seq > 2;
    UPDATE audit SET seq = seq - 99 WHERE seq > 100;
    INSERT INTO audit SELECT 3, time, principal, operation, address, product_key, domain, allowed,
      rows, query_sha256, detail, prev_hash, hash FROM audit WHERE seq = 2;
    UPDATE audit_head SET seq = 6;
  )sql");
  EXPECT_NE(Broken().find("entry 3"), std::string::npos);
}

TEST_F(AuditTest, ConcurrentAppendersFromTwoConnectionsFormOneChain) {
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<AuditLog> other,
                       AuditLog::Open(AuditOptions{path_, &clock_}));
  auto work = [](AuditLog* log, std::string who) {
    for (int i = 0; i < 25; ++i) {
      AuditRecord r{who, "query", "loom://a/b/c", true, i, "", ""};
      ASSERT_TRUE(log->Append(r).ok());
    }
  };
  std::thread t1(work, log_.get(), "user:one");
  std::thread t2(work, other.get(), "user:two");
  t1.join();
  t2.join();
  ASSERT_OK_AND_ASSIGN(AuditVerification v, log_->Verify());
  EXPECT_EQ(v.entries, 50);
}

// Appends of one log from many threads share transactions (group commit): every caller still
// gets its own entry back, committed and in the chain, with no seq given twice.
TEST_F(AuditTest, ConcurrentAppendersOfOneLogEachGetTheirOwnCommittedEntry) {
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::vector<AuditEntry>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        AuditRecord r{"user:u" + std::to_string(t), "ingest", "loom://a/b/c", t % 2 == 0, i, "",
                      "n" + std::to_string(i)};
        Result<AuditEntry> e = log_->Append(r);
        ASSERT_TRUE(e.ok()) << e.status().ToString();
        got[static_cast<size_t>(t)].push_back(*e);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_OK_AND_ASSIGN(AuditVerification v, log_->Verify());
  EXPECT_EQ(v.entries, kThreads * kEach);
  AuditFilter all;
  all.limit = 10000;
  ASSERT_OK_AND_ASSIGN(std::vector<AuditEntry> stored, log_->List(all));
  ASSERT_EQ(stored.size(), static_cast<size_t>(kThreads * kEach));
  std::set<int64_t> seqs;
  for (int t = 0; t < kThreads; ++t) {
    int64_t before = 0;
    for (int i = 0; i < kEach; ++i) {
      const AuditEntry& e = got[static_cast<size_t>(t)][static_cast<size_t>(i)];
      EXPECT_TRUE(seqs.insert(e.seq).second) << "seq " << e.seq << " given twice";
      EXPECT_GT(e.seq, before);  // one caller's entries keep its order
      before = e.seq;
      const AuditEntry& s = stored[static_cast<size_t>(e.seq - 1)];
      EXPECT_EQ(s.hash, e.hash);
      EXPECT_EQ(s.prev_hash, e.prev_hash);
      EXPECT_EQ(s.principal, "user:u" + std::to_string(t));
      EXPECT_EQ(s.rows, i);
      EXPECT_EQ(s.detail, "n" + std::to_string(i));
      EXPECT_EQ(s.allowed, t % 2 == 0);
    }
  }
}

}  // namespace
}  // namespace loom::security
