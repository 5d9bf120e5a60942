// Encryption at rest, end to end through the loom binary: no file of a `restricted` product on
// disk holds a known value in plaintext (stream segments, table versions, snapshot windows,
// published query results, the stream's SQL tier); readers with the right key and grants still
// read it; a wrong or missing master key fails closed naming the product and the key; `loom
// keys rotate` re-wraps the data keys (the administrator only, refusals audited); a process
// killed during an encrypted ingest loses no acknowledged event.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "e2e/e2e_util.h"
#include "testing/testing.h"

namespace loom::e2e {
namespace {

using testing::CommandResult;

constexpr const char* kSecret = "4111-1111-1111-1111";

constexpr const char* kDescriptors = R"(apiVersion: loom/v1
kind: Domain
metadata:
  name: payments
  title: Payments
  description: Card payments.
  owners: [group:payments-team]
---
apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: payments
  name: cards
  version: 1.0.0
  title: Card payments
  description: Every card payment, with the card number.
  owner: group:payments-team
spec:
  classification: restricted
  alignment: source
  schema:
    fields:
      - {name: payment_id, type: string, required: true, primaryKey: true, description: The payment.}
      - {name: card, type: string, required: true, pii: true, mask: redact, description: Card number.}
      - {name: amount, type: int64, required: true, description: Amount in cents.}
  outputPorts:
    - name: events
      kind: stream
      description: Payments as they happen.
      stream: {partitions: 2, partitionKey: [payment_id], onInvalid: quarantine}
    - name: daily
      kind: table
      description: Daily extract.
    - name: monthly
      kind: table
      description: The payments of each closed month.
      table: {snapshot: {from: events, interval: monthly}}
    - name: largest
      kind: table
      description: The largest payments.
  quality:
    - {name: small-amounts, kind: range, fields: [amount], min: 0, max: 5}
---
apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: payments
  name: rates
  version: 1.0.0
  title: Fee rates
  description: Public fee rates.
  owner: group:payments-team
spec:
  classification: public
  alignment: source
  schema:
    fields:
      - {name: payment_id, type: string, required: true, primaryKey: true, description: A rate id.}
      - {name: card, type: string, required: true, description: A public marker.}
      - {name: amount, type: int64, required: true, description: The fee.}
  outputPorts:
    - {name: current, kind: table, description: The rates.}
)";

std::string Event(int i) {
  return R"({"specversion":"1.0","id":"p)" + std::to_string(i) +
         R"(","source":"/pos","type":"payment","time":"2026-01-15T10:00:00Z","data":{"payment_id":"p)" +
         std::to_string(i) + R"(","card":")" + kSecret + R"(","amount":)" +
         std::to_string(100 * i) + "}}";
}

std::string Events(int from, int to) {
  std::string out;
  for (int i = from; i <= to; ++i) out += Event(i) + "\n";
  return out;
}

// Every file under `dir` whose raw bytes contain `needle`.
std::vector<std::string> FilesHolding(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() &&
        testing::ReadFile(e.path().string()).find(needle) != std::string::npos) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

class EncryptionE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = NewKey("master.key");
    testing::WriteFile(dir_.Sub("payments.yaml"), kDescriptors);
    Must({"apply", dir_.Sub("payments.yaml")});
    testing::WriteFile(dir_.Sub("events.jsonl"), Events(1, 20));
    Must({"publish", "loom://payments/cards/events", dir_.Sub("events.jsonl")});
    std::string csv = "payment_id,card,amount\n";
    for (int i = 1; i <= 20; ++i) {
      csv += "p" + std::to_string(i) + "," + kSecret + "," + std::to_string(i) + "\n";
    }
    testing::WriteFile(dir_.Sub("daily.csv"), csv);
    Must({"publish", "loom://payments/cards/daily", dir_.Sub("daily.csv")});
    testing::WriteFile(dir_.Sub("rates.csv"), "payment_id,card,amount\nr1,public-marker,3\n");
    Must({"publish", "loom://payments/rates/current", dir_.Sub("rates.csv")});
  }
  std::string data() const { return dir_.Sub("data"); }
  // `loom keys generate --out FILE` under the test folder; returns the path.
  std::string NewKey(const std::string& name) {
    std::string path = dir_.Sub(name);
    CommandResult r =
        testing::RunCommand({testing::LoomBinary(), "keys", "generate", "--out", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }
  // Runs loom on the data folder with `key` ("" = no key at all).
  CommandResult RunWith(const std::string& key, std::vector<std::string> args) {
    // Only the key given here: none from the environment.
    std::vector<std::string> argv = {"env",    "-u",  "LOOM_MASTER_KEY", testing::LoomBinary(),
                                     "--data", data()};
    if (!key.empty()) argv.insert(argv.end(), {"--master-key-file", key});
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv);
  }
  CommandResult Run(std::vector<std::string> args) { return RunWith(key_, std::move(args)); }
  CommandResult Must(std::vector<std::string> args) {
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, 0) << "loom " << args[0] << ": " << r.err << r.out;
    return r;
  }
  CommandResult Query(const std::string& sql) { return Run({"query", "--format", "csv", sql}); }

  testing::TempDir dir_;
  std::string key_;
};

TEST_F(EncryptionE2eTest, ARestrictedProductHoldsNoPlaintextOnDiskAndReadsWithTheKey) {
  // The generated key file is the owner's only, and never overwritten.
  struct stat st {};
  ASSERT_EQ(::stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  CommandResult again =
      testing::RunCommand({testing::LoomBinary(), "keys", "generate", "--out", key_});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;

  // Every write path: a snapshot window from the stream, a table from a query.
  Must({"snapshot", "loom://payments/cards/monthly", "--window", "2026-01-01T00:00:00Z"});
  Must({"publish", "loom://payments/cards/largest", "--sql",
        "SELECT * FROM payments.cards.daily WHERE amount > 10"});

  EXPECT_EQ(Query("SELECT count(*), sum(amount), max(card) FROM payments.cards.daily").out,
            std::string("count_star(),sum(amount),max(card)\r\n20,210,") + kSecret + "\r\n");
  EXPECT_EQ(Query("SELECT count(*), sum(amount) FROM payments.cards.events").out,
            "count_star(),sum(amount)\r\n20,21000\r\n");
  EXPECT_EQ(Query("SELECT count(*), max(card) FROM payments.cards.monthly").out,
            std::string("count_star(),max(card)\r\n20,") + kSecret + "\r\n");
  EXPECT_EQ(Query("SELECT count(*) FROM payments.cards.largest").out, "count_star()\r\n10\r\n");
  CommandResult tail = Run({"tail", "loom://payments/cards/events"});
  ASSERT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_NE(tail.out.find(kSecret), std::string::npos);

  // An authorised reader sees the value; a reader without unmask sees it masked; a reader
  // without a grant sees nothing.
  Must({"grant", "user:ann", "read,unmask", "loom://payments/cards"});
  Must({"grant", "user:bob", "read", "loom://payments/cards"});
  CommandResult ann = Run({"--as", "user:ann", "query", "--format", "csv",
                           "SELECT max(card) FROM payments.cards.daily"});
  EXPECT_EQ(ann.out, std::string("max(card)\r\n") + kSecret + "\r\n") << ann.err;
  CommandResult bob = Run({"--as", "user:bob", "query", "--format", "csv",
                           "SELECT max(card) FROM payments.cards.events"});
  EXPECT_EQ(bob.out, "max(card)\r\n***\r\n") << bob.err;
  CommandResult eve = Run({"--as", "user:eve", "query", "SELECT * FROM payments.cards.daily"});
  EXPECT_NE(eve.exit_code, 0);
  EXPECT_EQ(eve.out.find(kSecret), std::string::npos);

  // The failed expectation is recorded without sample rows (they would be plaintext).
  CommandResult quality = Run({"quality", "loom://payments/cards/daily"});
  EXPECT_NE(quality.out.find("warned"), std::string::npos) << quality.out << quality.err;
  EXPECT_TRUE(FilesHolding(data(), "\"p11\"").empty());

  // The public product next to it stays plaintext.
  EXPECT_FALSE(FilesHolding(data(), "public-marker").empty());
  const std::vector<std::string> leaks = FilesHolding(data(), kSecret);
  EXPECT_TRUE(leaks.empty()) << "plaintext in " << leaks.front();
}

TEST_F(EncryptionE2eTest, AWrongOrMissingMasterKeyFailsClosedNamingTheProductAndTheKey) {
  const std::string wrong = NewKey("wrong.key");
  for (const std::string& key : {wrong, std::string()}) {
    SCOPED_TRACE(key.empty() ? "no key" : "wrong key");
    CommandResult table = RunWith(key, {"query", "SELECT max(card) FROM payments.cards.daily"});
    EXPECT_EQ(table.exit_code, key.empty() ? 6 : 5) << table.err;  // precondition / denied
    EXPECT_NE(table.err.find("product loom://payments/cards is restricted and encrypted at rest"),
              std::string::npos)
        << table.err;
    EXPECT_NE(table.err.find(key.empty() ? "no master key given (--master-key-file FILE"
                                         : "the master key in '" + wrong + "'"),
              std::string::npos)
        << table.err;
    EXPECT_EQ(table.out.find(kSecret), std::string::npos);
    CommandResult stream = RunWith(key, {"query", "SELECT count(*) FROM payments.cards.events"});
    EXPECT_NE(stream.exit_code, 0);
    CommandResult tail = RunWith(key, {"tail", "loom://payments/cards/events"});
    EXPECT_NE(tail.exit_code, 0);
    EXPECT_EQ(tail.out.find(kSecret), std::string::npos);
    CommandResult write =
        RunWith(key, {"publish", "loom://payments/cards/events", dir_.Sub("events.jsonl")});
    EXPECT_NE(write.exit_code, 0);
    // What is not encrypted still works without the key.
    CommandResult rates = RunWith(key, {"query", "SELECT count(*) FROM payments.rates.current"});
    EXPECT_EQ(rates.exit_code, 0) << rates.err;
  }
  // No development key was made next to the data for a folder that has a real one.
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data/master.key")));
}

TEST_F(EncryptionE2eTest, RotateRewrapsTheKeysTheOldKeyIsRefusedAndOnlyTheAdministratorRotates) {
  const std::string next = NewKey("next.key");
  CommandResult refused = Run({"--as", "user:mallory", "keys", "rotate", "--new-key", next});
  EXPECT_EQ(refused.exit_code, 5) << refused.err;
  EXPECT_NE(refused.err.find("user:mallory may not rotate the master key"), std::string::npos)
      << refused.err;
  // Not even an owner of the domain.
  Must({"group", "add", "group:payments-team", "user:pat"});
  CommandResult owner = Run({"--as", "user:pat", "keys", "rotate", "--new-key", next});
  EXPECT_EQ(owner.exit_code, 5) << owner.err;

  CommandResult r = Must({"keys", "rotate", "--new-key", next});
  EXPECT_NE(r.out.find("re-wrapped 1 data key(s)"), std::string::npos) << r.out;

  CommandResult old_key = Query("SELECT count(*) FROM payments.cards.daily");
  EXPECT_EQ(old_key.exit_code, 5) << "the old master key still opens the data";
  EXPECT_NE(old_key.err.find("is not the key of this key store"), std::string::npos) << old_key.err;
  key_ = next;
  EXPECT_EQ(Query("SELECT count(*), max(card) FROM payments.cards.daily").out,
            std::string("count_star(),max(card)\r\n20,") + kSecret + "\r\n");
  EXPECT_EQ(Query("SELECT count(*) FROM payments.cards.events").out, "count_star()\r\n20\r\n");
  Must({"publish", "loom://payments/cards/events", dir_.Sub("events.jsonl")});  // duplicates

  // Both decisions are in the audit log.
  nlohmann::json audit = nlohmann::json::parse(
      Must({"--json", "audit", "--operation", "keys-rotate"}).out, nullptr, false);
  ASSERT_TRUE(audit.is_object()) << audit;
  int denied = 0, allowed = 0;
  for (const nlohmann::json& e : audit["entries"]) {
    if (!e["allowed"].get<bool>() && e["principal"] != "user:local-admin") ++denied;
    if (e["allowed"].get<bool>() && e["principal"] == "user:local-admin") ++allowed;
  }
  EXPECT_EQ(denied, 2) << audit.dump();  // mallory and pat
  EXPECT_EQ(allowed, 1) << audit.dump();
}

TEST_F(EncryptionE2eTest, TheServerRotatesOverHttpForItsAdministratorOnly) {
  const std::string ann = CreateToken(data(), "user:ann", "*");
  ASSERT_FALSE(ann.empty());
  ServeProcess server(data(), {"--master-key-file", key_});
  ASSERT_TRUE(server.ok());
  const std::string next = NewKey("next.key");
  const std::string body = nlohmann::json{{"newKeyFile", next}}.dump();
  HttpResponse refused = HttpPost(server.port(), "/v1/keys/rotate", body, "application/json", ann);
  EXPECT_EQ(refused.status, 403) << refused.body;
  HttpResponse rotated =
      HttpPost(server.port(), "/v1/keys/rotate", body, "application/json", server.token());
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(nlohmann::json::parse(rotated.body)["rewrapped"], 1) << rotated.body;
  // The running server reads on with the new key; a new process needs it.
  CommandResult q = testing::RunCommand({testing::LoomBinary(), "--server", server.url(), "--token",
                                         server.token(), "query", "--format", "csv",
                                         "SELECT count(*) FROM payments.cards.daily"});
  EXPECT_EQ(q.out, "count_star()\r\n20\r\n") << q.err;
  EXPECT_EQ(RunWith(key_, {"query", "SELECT count(*) FROM payments.cards.daily"}).exit_code, 5);
  EXPECT_EQ(RunWith(next, {"query", "SELECT count(*) FROM payments.cards.daily"}).exit_code, 0);
}

TEST_F(EncryptionE2eTest, RaisingTheClassificationOfAStreamWithPlaintextDataFailsClearly) {
  std::string refunds = R"(apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: payments
  name: refunds
  version: 1.0.0
  title: Refunds
  description: Refunds.
  owner: group:payments-team
spec:
  classification: internal
  alignment: source
  schema:
    fields:
      - {name: payment_id, type: string, required: true, description: The payment.}
  outputPorts:
    - {name: events, kind: stream, description: Refunds., stream: {partitions: 1}}
)";
  testing::WriteFile(dir_.Sub("refunds.yaml"), refunds);
  Must({"apply", dir_.Sub("refunds.yaml")});
  testing::WriteFile(dir_.Sub("refund.jsonl"),
                     R"({"specversion":"1.0","id":"r1","source":"/pos","type":"refund",)"
                     R"("data":{"payment_id":"p1"}})"
                     "\n");
  Must({"publish", "loom://payments/refunds/events", dir_.Sub("refund.jsonl")});
  refunds.replace(refunds.find("internal"), 8, "restricted");
  refunds.replace(refunds.find("1.0.0"), 5, "2.0.0");
  testing::WriteFile(dir_.Sub("refunds.yaml"), refunds);
  Must({"apply", dir_.Sub("refunds.yaml")});
  // The plaintext log is not silently continued encrypted (nor does the port crash).
  CommandResult r = Run({"publish", "loom://payments/refunds/events", dir_.Sub("refund.jsonl")});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  EXPECT_NE(r.err.find("the log was created unencrypted"), std::string::npos) << r.err;
}

TEST_F(EncryptionE2eTest, ATamperedTableFileIsDataLoss) {
  std::string part;
  for (const auto& e : std::filesystem::recursive_directory_iterator(data())) {
    if (e.path().extension() == ".parquet" &&
        e.path().string().find("/daily/v00000001/") != std::string::npos) {
      part = e.path().string();
    }
  }
  ASSERT_FALSE(part.empty());
  std::string bytes = testing::ReadFile(part);
  bytes[bytes.size() / 2] ^= 0x01;
  testing::WriteFile(part, bytes);
  CommandResult r = Query("SELECT count(*) FROM payments.cards.daily");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("AES-256-GCM authentication failed"), std::string::npos) << r.err;
}

TEST_F(EncryptionE2eTest, AKillDuringAnEncryptedIngestLosesNoAcknowledgedEvent) {
  // Batches of events published one after the other; each acknowledged one is noted in a file;
  // the whole run is killed with SIGKILL once two are acknowledged, most likely mid-ingest.
  constexpr int kBatches = 8, kPerBatch = 5000;
  std::string script = "set -e\n";
  for (int b = 0; b < kBatches; ++b) {
    const int first = 1000 + b * kPerBatch;
    const std::string file = dir_.Sub("batch" + std::to_string(b) + ".jsonl");
    testing::WriteFile(file, Events(first, first + kPerBatch - 1));
    script += "'" + testing::LoomBinary() + "' --data '" + data() + "' --master-key-file '" + key_ +
              "' publish loom://payments/cards/events '" + file + "' >/dev/null\n" + "echo " +
              std::to_string(b) + " >> '" + dir_.Sub("acked") + "'\n";
  }
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  auto acked_batches = [&] {
    std::vector<int> out;
    if (!std::filesystem::exists(dir_.Sub("acked"))) return out;
    std::string text = testing::ReadFile(dir_.Sub("acked"));
    for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) {
      out.push_back(std::stoi(text.substr(at, nl - at)));
    }
    return out;
  };
  for (int i = 0; i < 600 && acked_batches().size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // into the next batch
  ::kill(-pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::vector<int> acked = acked_batches();
  ASSERT_GE(acked.size(), 2u);
  RecordProperty("acknowledged_batches", static_cast<int>(acked.size()));

  // Every acknowledged event is there (amount = 100 * id), and those of SetUp too.
  for (int b : acked) {
    const int64_t lo = 100ll * (1000 + b * kPerBatch), hi = lo + 100ll * (kPerBatch - 1);
    EXPECT_EQ(Query("SELECT count(DISTINCT payment_id) FROM payments.cards.events WHERE amount "
                    "BETWEEN " +
                    std::to_string(lo) + " AND " + std::to_string(hi))
                  .out,
              "count(DISTINCT payment_id)\r\n" + std::to_string(kPerBatch) + "\r\n")
        << "batch " << b;
  }
  EXPECT_EQ(Query("SELECT count(*) FROM payments.cards.events WHERE amount <= 2000").out,
            "count_star()\r\n20\r\n");
  // The log recovered: it takes new events, and still holds no plaintext.
  testing::WriteFile(dir_.Sub("more.jsonl"), Events(90001, 90005));
  Must({"publish", "loom://payments/cards/events", dir_.Sub("more.jsonl")});
  EXPECT_EQ(Query("SELECT count(*) FROM payments.cards.events WHERE amount >= 9000100").out,
            "count_star()\r\n5\r\n");
  const std::vector<std::string> leaks = FilesHolding(data(), kSecret);
  EXPECT_TRUE(leaks.empty()) << "plaintext in " << leaks.front();
}

}  // namespace
}  // namespace loom::e2e
