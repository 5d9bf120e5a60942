// The adversarial suite in embedded mode (`loom --as`): principals with too little right try every
// read and write path and SQL tricks on masked columns; each refusal must be in the audit log.

#include <gtest/gtest.h>

#include <algorithm>

#include "security/security_fixture.h"

namespace loom::security_e2e {
namespace {

using nlohmann::json;

class EmbeddedAccessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::string err = BuildMesh(dir_->Sub("data"), dir_->path());
    ASSERT_EQ(err, "");
  }
  static void TearDownTestSuite() { delete dir_; }

  testing::CommandResult As(const std::string& principal, std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::LoomBinary(), "--data", dir_->Sub("data"), "--as",
                                     principal};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv);
  }
  // CSV output, with its CRLF line ends made LF.
  testing::CommandResult Query(const std::string& principal, const std::string& sql) {
    testing::CommandResult r = As(principal, {"query", "--format", "csv", sql});
    std::erase(r.out, '\r');
    return r;
  }
  static void ExpectNoSecret(const testing::CommandResult& r, const std::string& what) {
    for (const std::string& s : kSecrets) {
      EXPECT_EQ(r.out.find(s), std::string::npos) << what << " leaked " << s << ":\n" << r.out;
      EXPECT_EQ(r.err.find(s), std::string::npos) << what << " leaked " << s << ":\n" << r.err;
    }
  }
  static testing::TempDir* dir_;
};
testing::TempDir* EmbeddedAccessTest::dir_ = nullptr;

TEST_F(EmbeddedAccessTest, APrincipalWithoutGrantsCanNeitherReadNorWriteNorSee) {
  // Reads: refused with the answer for a product that does not exist.
  testing::CommandResult show = As("user:eve", {"show", "loom://users/profiles"});
  testing::CommandResult ghost = As("user:eve", {"show", "loom://users/no-such-product"});
  EXPECT_NE(show.exit_code, 0);
  EXPECT_EQ(show.exit_code, ghost.exit_code);
  EXPECT_NE(show.err.find("no product 'users/profiles'"), std::string::npos) << show.err;
  EXPECT_NE(ghost.err.find("no product 'users/no-such-product'"), std::string::npos) << ghost.err;
  EXPECT_NE(As("user:eve", {"versions", "loom://users/profiles"}).exit_code, 0);
  EXPECT_NE(As("user:eve", {"sample", "loom://users/profiles/current"}).exit_code, 0);
  EXPECT_NE(As("user:eve", {"tail", "loom://clinic/visits/events"}).exit_code, 0);
  EXPECT_NE(As("user:eve", {"tail", "--quarantine", "loom://clinic/visits/events"}).exit_code, 0);
  testing::CommandResult q = Query("user:eve", "SELECT * FROM users.profiles.current");
  EXPECT_NE(q.exit_code, 0);
  ExpectNoSecret(q, "query");
  // Listings and search leave it out.
  testing::CommandResult list = As("user:eve", {"--json", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out)["products"].size(), 0u) << list.out;
  testing::CommandResult search = As("user:eve", {"--json", "search", "profiles"});
  ASSERT_EQ(search.exit_code, 0) << search.err;
  EXPECT_TRUE(json::parse(search.out)["hits"].empty()) << search.out;
  // Writes: by a reader (eve's are refused earlier, at the `show` the CLI does first).
  testing::WriteFile(dir_->Sub("evil.csv"),
                     "user_id,email,birth_date,country,plan\n"
                     "usr_0000000009,x@y.z,2000-01-01,SE,free\n");
  testing::WriteFile(dir_->Sub("evil.jsonl"), VisitEvent(9, "x@y.z", "1", "SE") + "\n");
  for (const char* who : {"user:eve", "user:ann"}) {
    EXPECT_NE(
        As(who, {"publish", "loom://users/profiles/current", dir_->Sub("evil.csv")}).exit_code, 0);
    EXPECT_NE(
        As(who, {"publish", "loom://clinic/visits/events", dir_->Sub("evil.jsonl")}).exit_code, 0);
  }
  EXPECT_NE(As("user:eve", {"apply", dir_->Sub("clinic.yaml")}).exit_code, 0);
  EXPECT_NE(As("user:eve", {"grant", "user:eve", "read,unmask", "loom://users/profiles"}).exit_code,
            0);
  EXPECT_NE(As("user:eve", {"group", "add", "group:users-team", "user:eve"}).exit_code, 0);
  EXPECT_NE(As("user:eve", {"token", "create", "--for", "user:olle"}).exit_code, 0);
  EXPECT_NE(As("user:eve", {"audit", "verify"}).exit_code, 0);

  json audit = AuditOf(dir_->Sub("data"), "user:eve");
  for (const char* op : {"show", "sample", "tail", "tail-quarantine", "query", "apply", "grant",
                         "group-add", "token-create"}) {
    EXPECT_TRUE(HasDenial(audit, op)) << "no audited refusal of " << op << ": " << audit.dump();
  }
  json ann = AuditOf(dir_->Sub("data"), "user:ann");
  EXPECT_TRUE(HasDenial(ann, "publish")) << ann.dump();
  EXPECT_TRUE(HasDenial(ann, "ingest")) << ann.dump();
  // The audit of an invisible product's refusal names no address a caller could learn from.
  for (const json& e : audit) {
    if (e.value("operation", "") == "query") {
      EXPECT_EQ(e.value("address", ""), "");
    }
  }
}

TEST_F(EmbeddedAccessTest, NoSqlTrickRecoversAMaskedValue) {
  const std::string t = "users.profiles.current";
  const std::vector<std::string> tricks = {
      "SELECT * FROM " + t,
      "SELECT email, birth_date FROM " + t,
      "SELECT CAST(email AS VARCHAR), CAST(birth_date AS VARCHAR) FROM " + t,
      "SELECT min(email), max(email), min(birth_date), max(birth_date) FROM " + t,
      "SELECT email FROM " + t + " ORDER BY email",
      "SELECT email, count(*) FROM " + t + " GROUP BY email",
      "SELECT upper(email), lower(email), substr(email, 1, 5), reverse(email) FROM " + t,
      "SELECT regexp_extract(email, '(.*)@(.*)', 1) FROM " + t,
      "SELECT string_agg(email, ',') FROM " + t,
      "SELECT day(birth_date), strftime(birth_date, '%d') FROM " + t,
      // A hashed column is a UUID: compared as text, it is the hash's text that is compared.
      "SELECT u.user_id FROM " + t +
          " u JOIN (VALUES ('ann@example.com')) v(e) ON CAST(u.email AS VARCHAR) = v.e",
      "SELECT user_id FROM " + t +
          " WHERE CAST(email AS VARCHAR) LIKE 'ann%' OR CAST(email AS VARCHAR) = "
          "'ann@example.com'",
      "SELECT user_id FROM " + t + " WHERE birth_date = DATE '1990-05-17'",
      "SELECT CAST(email AS INTEGER) FROM " + t,
      "SELECT list(email) FROM " + t,
  };
  for (const std::string& sql : tricks) {
    testing::CommandResult r = Query("user:ann", sql);
    ExpectNoSecret(r, sql);
    // Filters on the real value find nothing: the WHERE sees the mask too.
    if (sql.find("WHERE") != std::string::npos || sql.find("JOIN (VALUES") != std::string::npos) {
      EXPECT_EQ(r.out.find("usr_0000000001"), std::string::npos) << sql << "\n" << r.out;
    }
  }
  // Compared with a string without a cast, a hashed (UUID) column is a type error: the query
  // fails, and its message can only repeat the caller's own SQL (the literal it typed), never a
  // row.
  for (const std::string& sql :
       {"SELECT u.user_id FROM " + t + " u JOIN (VALUES ('ann@example.com')) v(e) ON u.email = v.e",
        "SELECT user_id FROM " + t + " WHERE email LIKE 'ann%' OR email = 'ann@example.com'"}) {
    testing::CommandResult r = Query("user:ann", sql);
    EXPECT_NE(r.exit_code, 0) << sql;
    EXPECT_EQ(r.out, "") << sql;
    EXPECT_EQ(r.err.find("usr_0000000001"), std::string::npos) << sql << "\n" << r.err;
    for (const std::string& secret : kSecrets) {
      if (secret == "ann@example.com") continue;  // typed in the query itself
      EXPECT_EQ(r.err.find(secret), std::string::npos) << sql << "\n" << r.err;
    }
  }
  testing::CommandResult day = Query("user:ann", "SELECT day(birth_date) AS d FROM " + t);
  ASSERT_EQ(day.exit_code, 0) << day.err;
  EXPECT_EQ(day.out, "d\n1\n");  // truncated to the month
}

TEST_F(EmbeddedAccessTest, FilesOfTheDataFolderCannotBeReadBySql) {
  const std::string data = dir_->Sub("data");
  for (const std::string& sql : std::vector<std::string>{
           "SELECT * FROM read_parquet('" + data + "/tables/users/profiles/current/**/*.parquet')",
           "SELECT * FROM '" + data + "/tables/users/profiles/current/**/*.parquet'",
           "SELECT * FROM read_csv('" + dir_->Sub("users.csv") + "')",
           "SELECT * FROM read_text('" + data + "/master.key')",
           "SELECT * FROM glob('" + data + "/**')",
           "SELECT * FROM sqlite_scan('" + data + "/security.db', 'tokens')",
       }) {
    testing::CommandResult r = Query("user:ann", sql);
    EXPECT_NE(r.exit_code, 0) << sql << "\n" << r.out;
    ExpectNoSecret(r, sql);
  }
  EXPECT_TRUE(HasDenial(AuditOf(data, "user:ann"), "query"));
}

TEST_F(EmbeddedAccessTest, RowFiltersCannotBeBypassed) {
  const std::string t = "users.profiles.current";
  for (const std::string& sql : std::vector<std::string>{
           "SELECT count(*) AS n FROM " + t,
           "SELECT count(*) AS n FROM " + t + " WHERE country = 'GB' OR true",
           "SELECT count(*) AS n FROM (SELECT * FROM " + t + " UNION ALL SELECT * FROM " + t +
               " WHERE plan <> 'free')",
       }) {
    testing::CommandResult r = Query("user:ann", sql);
    ASSERT_EQ(r.exit_code, 0) << sql << "\n" << r.err;
    EXPECT_EQ(r.out, "n\n1\n") << sql;
  }
  testing::CommandResult gb = Query("user:ann", "SELECT user_id FROM " + t + " WHERE country='GB'");
  EXPECT_EQ(gb.out.find("usr_0000000002"), std::string::npos) << gb.out;
  // The stream's tail applies the same filter and masks as SQL.
  testing::CommandResult tail = As("user:ann", {"tail", "loom://clinic/visits/events"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  ASSERT_EQ(std::count(tail.out.begin(), tail.out.end(), '\n'), 1) << tail.out;
  json event = json::parse(tail.out.substr(0, tail.out.find('\n')));
  EXPECT_EQ(event["data"]["country"], "SE");
  EXPECT_EQ(event["data"]["patient_email"], "***");
  EXPECT_TRUE(event["data"]["ssn"].get<std::string>().starts_with("tok_")) << event.dump();
  ExpectNoSecret(tail, "tail");
  testing::CommandResult sq = Query("user:ann", "SELECT count(*) AS n FROM clinic.visits.events");
  EXPECT_EQ(sq.out, "n\n1\n") << sq.err;
}

TEST_F(EmbeddedAccessTest, OwnersAndUnmaskGrantsSeeTheClearValues) {
  // The owner of the users domain sees every row in the clear, and may grant in its domain only.
  testing::CommandResult owner = Query("user:olle", "SELECT email FROM users.profiles.current");
  ASSERT_EQ(owner.exit_code, 0) << owner.err;
  EXPECT_NE(owner.out.find("bob@example.com"), std::string::npos) << owner.out;
  EXPECT_EQ(
      As("user:olle", {"grant", "user:carl", "read,unmask", "loom://users/profiles"}).exit_code, 0);
  EXPECT_NE(As("user:olle", {"grant", "user:carl", "read", "loom://clinic/visits"}).exit_code, 0);
  EXPECT_NE(As("user:olle", {"grant", "user:carl", "owner", "loom://users"}).exit_code, 0);
  testing::CommandResult carl = Query("user:carl", "SELECT email FROM users.profiles.current");
  EXPECT_NE(carl.out.find("ann@example.com"), std::string::npos) << carl.out << carl.err;
  // Owners read who touched their products in the audit log, not other domains' entries.
  testing::CommandResult audit = As("user:olle", {"--json", "audit"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  bool saw_carl = false;
  const json entries = json::parse(audit.out)["entries"];
  for (const json& e : entries) {
    EXPECT_TRUE(e.value("address", "").starts_with("loom://users/") ||
                e.value("principal", "") == "user:olle")
        << e.dump();
    saw_carl |= e.value("principal", "") == "user:carl";
  }
  EXPECT_TRUE(saw_carl) << audit.out;
  // Revoked: masked again.
  EXPECT_EQ(As("user:olle", {"revoke", "user:carl", "unmask", "loom://users/profiles"}).exit_code,
            0);
  ExpectNoSecret(Query("user:carl", "SELECT email FROM users.profiles.current"), "after revoke");
}

TEST_F(EmbeddedAccessTest, ATamperedAuditLogFailsVerification) {
  testing::TempDir d;
  std::string data = d.Sub("data");
  ASSERT_EQ(BuildMesh(data, d.path()), "");
  auto verify = [&] {
    return testing::RunCommand({testing::LoomBinary(), "--data", data, "audit", "verify"});
  };
  ASSERT_EQ(verify().exit_code, 0) << verify().err;
  // Someone with write access to the file drops the triggers and edits one decision.
  testing::CommandResult edit = testing::RunCommand(
      {"sqlite3", data + "/audit.db", "SELECT name FROM sqlite_master WHERE type='trigger';"});
  ASSERT_EQ(edit.exit_code, 0) << edit.err;
  std::string drops;
  for (size_t at = 0; at < edit.out.size();) {
    size_t nl = edit.out.find('\n', at);
    std::string name = edit.out.substr(at, nl - at);
    if (!name.empty()) drops += "DROP TRIGGER \"" + name + "\";";
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  testing::CommandResult tamper =
      testing::RunCommand({"sqlite3", data + "/audit.db",
                           drops + "UPDATE audit SET allowed = 1 - allowed WHERE seq = 3;"});
  ASSERT_EQ(tamper.exit_code, 0) << tamper.err;
  testing::CommandResult v = verify();
  EXPECT_NE(v.exit_code, 0);
  EXPECT_NE(v.err.find("entry 3"), std::string::npos) << v.err;
  // Deleting the last entries is caught by the head.
  testing::TempDir d2;
  std::string data2 = d2.Sub("data");
  ASSERT_EQ(BuildMesh(data2, d2.path()), "");
  testing::RunCommand({"sqlite3", data2 + "/audit.db",
                       drops + "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit);"});
  EXPECT_NE(
      testing::RunCommand({testing::LoomBinary(), "--data", data2, "audit", "verify"}).exit_code,
      0);
}

}  // namespace
}  // namespace loom::security_e2e
