// Hashed integer keys end to end (`loom --as`): a table version whose ids all fit in 32 bits is
// masked as an INTEGER, a stream or a version with a wider id as a BIGINT, and a reader without
// unmask still joins them on the masked key, with the same answer as the owner's join on the
// real one and no real id in sight. An outsider is refused and audited.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "security/security_fixture.h"

namespace loom::security_e2e {
namespace {

constexpr const char* kShop = R"(apiVersion: loom/v1
kind: Domain
metadata:
  name: shop
  title: Shop
  description: Customer accounts and their orders.
  owners: [group:shop-team]
---
apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: shop
  name: accounts
  version: 1.0.0
  title: Accounts
  description: Every customer account.
  owner: group:shop-team
spec:
  alignment: source
  schema:
    fields:
      - {name: account_id, type: int64, required: true, primaryKey: true, pii: true, mask: hash, description: The account.}
      - {name: tier, type: string, description: Customer tier.}
  outputPorts:
    - {name: current, kind: table, description: All accounts.}
---
apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: shop
  name: orders
  version: 1.0.0
  title: Orders
  description: One event per order.
  owner: group:shop-team
spec:
  alignment: source
  schema:
    fields:
      - {name: order_id, type: string, required: true, primaryKey: true, description: The order.}
      - {name: account_id, type: int64, required: true, pii: true, mask: hash, description: Who ordered.}
      - {name: amount, type: int64, required: true, description: Cents.}
  outputPorts:
    - name: events
      kind: stream
      description: Orders as they are placed.
      stream: {partitions: 2, partitionKey: [account_id]}
)";

class IntegerMaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::WriteFile(dir_.Sub("shop.yaml"), kShop);
    // Ids near the top of int32 range, in clear only in these files.
    std::string accounts = "account_id,tier\n";
    std::string orders;
    for (int i = 0; i < 40; ++i) {
      const std::string id = std::to_string(2147483000 + i);
      accounts += id + "," + (i % 2 ? "gold" : "basic") + "\n";
      for (int n = 0; n < i % 3; ++n) {
        orders += nlohmann::json({{"specversion", "1.0"},
                                  {"id", "o" + std::to_string(i) + "-" + std::to_string(n)},
                                  {"source", "/shop"},
                                  {"type", "order"},
                                  {"data",
                                   {{"order_id", "o" + std::to_string(i) + "-" + std::to_string(n)},
                                    {"account_id", 2147483000 + i},
                                    {"amount", 100 * i}}}})
                      .dump() +
                  "\n";
      }
    }
    testing::WriteFile(dir_.Sub("accounts.csv"), accounts);
    testing::WriteFile(dir_.Sub("orders.jsonl"), orders);
    for (const std::vector<std::string>& step : std::vector<std::vector<std::string>>{
             {"apply", dir_.Sub("shop.yaml")},
             {"publish", "loom://shop/accounts/current", dir_.Sub("accounts.csv")},
             {"publish", "loom://shop/orders/events", dir_.Sub("orders.jsonl")},
             {"grant", "user:ann", "read", "loom://shop/accounts"},
             {"grant", "user:ann", "read", "loom://shop/orders"},
         }) {
      testing::CommandResult r = Loom("user:local-admin", step);
      ASSERT_EQ(r.exit_code, 0) << step[0] << ": " << r.err;
    }
  }

  testing::CommandResult Loom(const std::string& principal, std::vector<std::string> args) {
    std::vector<std::string> argv = {testing::LoomBinary(), "--data", dir_.Sub("data")};
    if (principal != "user:local-admin") argv.insert(argv.end(), {"--as", principal});
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::RunCommand(argv);
  }
  // The CSV answer of `sql`, without its header and with LF line ends.
  std::string Query(const std::string& principal, const std::string& sql) {
    testing::CommandResult r = Loom(principal, {"query", "--format", "csv", sql});
    EXPECT_EQ(r.exit_code, 0) << sql << ": " << r.err;
    std::erase(r.out, '\r');
    const size_t header = r.out.find('\n');
    return header == std::string::npos ? "" : r.out.substr(header + 1);
  }

  testing::TempDir dir_;
};

TEST_F(IntegerMaskTest, NarrowAndWideMaskedKeysJoinLikeTheRealOnes) {
  const std::string join =
      "SELECT count(*), count(DISTINCT account_id), sum(amount) FROM shop.orders.events o "
      "JOIN shop.accounts.current a USING (account_id)";
  const std::string owners = Query("user:local-admin", join);
  EXPECT_EQ(owners, "39,26,76700\n");
  EXPECT_EQ(Query("user:ann", join), owners);
  // The table's ids fit in 32 bits: an INTEGER; the stream's are a BIGINT.
  EXPECT_EQ(Query("user:ann", "SELECT DISTINCT typeof(account_id) FROM shop.accounts.current"),
            "INTEGER\n");
  EXPECT_EQ(Query("user:ann", "SELECT DISTINCT typeof(account_id) FROM shop.orders.events"),
            "BIGINT\n");
  EXPECT_EQ(
      Query("user:local-admin", "SELECT DISTINCT typeof(account_id) FROM shop.accounts.current"),
      "BIGINT\n");
  // No real id reaches ann, and grouping keeps one group per account.
  const std::string ids = Query("user:ann",
                                "SELECT account_id, count(*) FROM shop.accounts.current "
                                "GROUP BY 1 ORDER BY 1");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), '\n'), 40);
  EXPECT_EQ(ids.find("214748"), std::string::npos) << ids;

  // A new version with an id past int32 range: the table's mask widens to BIGINT, the values of
  // the earlier ids stay the same, and the join still matches.
  testing::WriteFile(dir_.Sub("more.csv"),
                     testing::ReadFile(dir_.Sub("accounts.csv")) + "9000000000,gold\n");
  testing::CommandResult r =
      Loom("user:local-admin", {"publish", "loom://shop/accounts/current", dir_.Sub("more.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Query("user:ann", "SELECT DISTINCT typeof(account_id) FROM shop.accounts.current"),
            "BIGINT\n");
  EXPECT_EQ(Query("user:ann", join), owners);
  EXPECT_EQ(Query("user:ann",
                  "SELECT count(*) FROM shop.accounts.current WHERE account_id IN (SELECT "
                  "account_id FROM shop.accounts.current__v1)"),
            "40\n");

  // An outsider cannot read either, and the refusal is audited.
  testing::CommandResult eve = Loom("user:eve", {"query", join});
  EXPECT_NE(eve.exit_code, 0);
  EXPECT_EQ(eve.out.find("214748"), std::string::npos);
  EXPECT_TRUE(HasDenial(AuditOf(dir_.Sub("data"), "user:eve"), "query"));
}

}  // namespace
}  // namespace loom::security_e2e
