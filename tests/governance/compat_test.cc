// Each kind of breaking change, the compatible ones, and the version bump each needs.

#include <gtest/gtest.h>

#include "governance/governance.h"

namespace loom::governance {
namespace {

constexpr const char* kBase = R"(apiVersion: loom/v1
kind: DataProduct
metadata: {domain: shop, name: orders, version: 1.2.0, owner: 'group:shop'}
spec:
  schema:
    fields:
      - {name: order_id, type: uuid, primaryKey: true}
      - {name: customer_id, type: string, required: true, globalType: customer_id}
      - {name: amount, type: 'decimal(10,2)', required: true}
      - {name: quantity, type: int32}
      - {name: status, type: string, constraints: {enum: [open, paid]}}
      - {name: note, type: string, description: Free text.}
  outputPorts:
    - {name: orders, kind: table}
    - name: events
      kind: stream
      stream: {eventType: shop.order}
)";

spec::DataProduct Product(const std::string& from = "", const std::string& to = "") {
  std::string text = kBase;
  if (!from.empty()) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  }
  Result<std::vector<spec::Document>> docs = spec::ParseDocuments(text, "p.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  return *(*docs)[0].product();
}

// The changes from the base to the edited product, as text.
std::vector<std::string> Changes(const std::string& from, const std::string& to) {
  std::vector<std::string> out;
  for (const SchemaChange& c : Compare(Product(), Product(from, to))) out.push_back(c.ToString());
  return out;
}

using Lines = std::vector<std::string>;

TEST(CompatTest, IdenticalVersionsHaveNoChanges) { EXPECT_TRUE(Changes("", "").empty()); }

TEST(CompatTest, ARemovedFieldIsBreaking) {
  EXPECT_EQ(Changes("      - {name: note, type: string, description: Free text.}\n", ""),
            Lines{"breaking: field removed spec.schema.fields.note (consumers reading 'note' "
                  "break)"});
}

TEST(CompatTest, ARenamedFieldIsBreaking) {
  EXPECT_EQ(Changes("{name: note,", "{name: remark,"),
            Lines{"breaking: field renamed spec.schema.fields.note (note -> remark)"});
}

TEST(CompatTest, ANarrowedTypeIsBreakingAndAWidenedOneCompatible) {
  EXPECT_EQ(Changes("type: 'decimal(10,2)'", "type: 'decimal(8,2)'"),
            Lines{"breaking: type narrowed spec.schema.fields.amount (decimal(10,2) -> "
                  "decimal(8,2))"});
  EXPECT_EQ(Changes("{name: quantity, type: int32}", "{name: quantity, type: int64}"),
            Lines{"compatible: type widened spec.schema.fields.quantity (int32 -> int64)"});
  EXPECT_EQ(Changes("{name: quantity, type: int32}", "{name: quantity, type: string}"),
            Lines{"breaking: type changed spec.schema.fields.quantity (int32 -> string)"});
}

TEST(CompatTest, ANewRequiredFieldIsBreakingAndAnOptionalOneCompatible) {
  const std::string at = "      - {name: note,";
  EXPECT_EQ(Changes(at, "      - {name: region, type: string, required: true}\n" + at),
            Lines{"breaking: required field added spec.schema.fields.region (producers must "
                  "now send 'region' (string))"});
  EXPECT_EQ(Changes(at, "      - {name: region, type: string}\n" + at),
            Lines{"compatible: optional field added spec.schema.fields.region (string)"});
}

TEST(CompatTest, AChangedGlobalTypeIsBreaking) {
  EXPECT_EQ(Changes("globalType: customer_id", "globalType: account_id"),
            Lines{"breaking: global type changed spec.schema.fields.customer_id.globalType "
                  "(customer_id -> account_id)"});
}

TEST(CompatTest, TighterConstraintsAndRemovedPortsAreBreaking) {
  EXPECT_EQ(Changes("enum: [open, paid]", "enum: [open]"),
            Lines{"breaking: accepted values narrowed spec.schema.fields.status.constraints.enum"});
  EXPECT_EQ(
      Changes("enum: [open, paid]", "enum: [open, paid, refunded]"),
      Lines{"compatible: accepted values widened spec.schema.fields.status.constraints.enum"});
  EXPECT_EQ(Changes("    - {name: orders, kind: table}\n", ""),
            Lines{"breaking: port removed spec.outputPorts.orders (consumers of orders break)"});
  EXPECT_EQ(Changes("eventType: shop.order", "eventType: shop.order.v2"),
            Lines{"breaking: event type changed spec.outputPorts.events.stream.eventType "
                  "('shop.order' -> 'shop.order.v2')"});
}

TEST(CompatTest, DescriptionsAndNewPortsAreCompatible) {
  EXPECT_EQ(Changes("description: Free text.", "description: Anything the buyer wrote."),
            Lines{"compatible: description changed spec.schema.fields.note.description"});
  EXPECT_EQ(Changes("    - {name: orders, kind: table}\n",
                    "    - {name: orders, kind: table}\n    - {name: daily, kind: table}\n"),
            Lines{"compatible: port added spec.outputPorts.daily (table)"});
}

TEST(CompatTest, ABreakingChangeNeedsANewMajor) {
  std::vector<SchemaChange> changes = Compare(Product(), Product("{name: note,", "{name: x,"));
  Status minor =
      CheckVersionBump(*spec::SemVer::Parse("1.2.0"), *spec::SemVer::Parse("1.3.0"), changes);
  EXPECT_EQ(minor.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(minor.message(),
            "version 1.3.0 after 1.2.0 holds breaking changes, which need a new major version "
            "(2.0.0):\n  breaking: field renamed spec.schema.fields.note (note -> x)");
  EXPECT_TRUE(
      CheckVersionBump(*spec::SemVer::Parse("1.2.0"), *spec::SemVer::Parse("2.0.0"), changes).ok());
  // Before 1.0.0 a minor is enough (semver §4).
  EXPECT_TRUE(
      CheckVersionBump(*spec::SemVer::Parse("0.2.0"), *spec::SemVer::Parse("0.3.0"), changes).ok());
  EXPECT_FALSE(
      CheckVersionBump(*spec::SemVer::Parse("0.2.0"), *spec::SemVer::Parse("0.2.1"), changes).ok());
}

TEST(CompatTest, ACompatibleChangeNeedsAtLeastAMinor) {
  std::vector<SchemaChange> changes =
      Compare(Product(), Product("description: Free text.", "description: Other."));
  Status patch =
      CheckVersionBump(*spec::SemVer::Parse("1.2.0"), *spec::SemVer::Parse("1.2.1"), changes);
  EXPECT_EQ(patch.message(),
            "version 1.2.1 after 1.2.0 holds compatible changes, which need at least a new minor "
            "version (1.3.0):\n  compatible: description changed "
            "spec.schema.fields.note.description");
  EXPECT_TRUE(
      CheckVersionBump(*spec::SemVer::Parse("1.2.0"), *spec::SemVer::Parse("1.3.0"), changes).ok());
  EXPECT_TRUE(
      CheckVersionBump(*spec::SemVer::Parse("1.2.0"), *spec::SemVer::Parse("1.2.1"), {}).ok());
}

TEST(CompatTest, AGlobalTypeWhoseMeaningChangesIsReported) {
  spec::Policy before, after;
  spec::GlobalType t;
  t.name = "artist_id";
  t.constraints.pattern = "^art_[0-9a-z]{8}$";
  before.global_types.push_back(t);
  t.constraints.pattern = "^art_[0-9a-z]{12}$";
  t.description = "descriptions are free";
  after.global_types.push_back(t);
  auto a = PolicySet::Build({before});
  auto b = PolicySet::Build({after});
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<TypeChange> changes = CompareGlobalTypes(**a, **b);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].detail, "pattern '^art_[0-9a-z]{8}$' -> '^art_[0-9a-z]{12}$'");
  EXPECT_EQ(CompareGlobalTypes(**a, **PolicySet::Build({})).at(0).detail, "removed");
}

}  // namespace
}  // namespace loom::governance
