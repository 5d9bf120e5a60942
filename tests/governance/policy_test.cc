// Every policy rule on a descriptor that breaks it, with the exact message, path and rule; the
// global types a field inherits; the rule parameters a Policy may not hold.

#include <gtest/gtest.h>

#include "governance/governance.h"
#include "testing/testing.h"

namespace loom::governance {
namespace {

std::shared_ptr<const PolicySet> Standards() {
  Result<std::vector<spec::Document>> docs =
      spec::LoadPath(testing::SourceDir() + "/tests/governance/fixtures/policies");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  std::vector<spec::Policy> policies;
  for (const spec::Document& d : *docs) policies.push_back(*d.policy());
  Result<std::shared_ptr<const PolicySet>> set = PolicySet::Build(policies);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return *set;
}

spec::Document Parse(const std::string& yaml) {
  Result<std::vector<spec::Document>> docs = spec::ParseDocuments(yaml, "p.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  return (*docs)[0];
}

// The good fixture with `edit` applied to its text (a line replaced).
std::string Good(const std::string& from = "", const std::string& to = "") {
  std::string text =
      testing::ReadFile(testing::SourceDir() + "/tests/governance/fixtures/good/plays.yaml");
  if (!from.empty()) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  }
  return text;
}

std::vector<std::string> Violations(const std::string& yaml) {
  spec::Document doc = Parse(yaml);
  spec::DataProduct& p = std::get<spec::DataProduct>(doc.body);
  std::vector<std::string> out;
  for (const Violation& v : Check(*Standards(), p, doc.pos)) out.push_back(v.ToString());
  return out;
}

TEST(PolicyTest, TheGoodProductBreaksNoRule) { EXPECT_TRUE(Violations(Good()).empty()); }

TEST(PolicyTest, AFieldOfAGlobalTypeInheritsItsTypePatternAndDescription) {
  spec::Document doc = Parse(Good());
  spec::DataProduct& p = std::get<spec::DataProduct>(doc.body);
  EXPECT_TRUE(ResolveGlobalTypes(*Standards(), p).empty());
  const spec::Field* f = p.schema.Find("artist_id");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type.ToString(), "string");
  EXPECT_EQ(f->constraints.pattern.value_or(""), "^art_[0-9a-z]{12}$");
  EXPECT_EQ(f->description, "An artist, as onboarded by the artists domain.");
  EXPECT_EQ(spec::ToJson(p)["schema"]["fields"][1]["sqlType"], "VARCHAR");
}

TEST(PolicyTest, AConflictingDeclaredTypeIsRefused) {
  EXPECT_EQ(Violations(Good("{name: artist_id, globalType: artist_id, required: true}",
                            "{name: artist_id, type: int64, globalType: artist_id}")),
            std::vector<std::string>{
                "p.yaml:17:9: spec.schema.fields[1].type: field 'artist_id' declares type int64 "
                "but global type artist_id is string (leave 'type' out to inherit it) [policy "
                "'standards' global type artist_id]"});
}

TEST(PolicyTest, AConflictingPatternAndBoundAreRefused) {
  EXPECT_EQ(
      Violations(Good("{name: artist_id, globalType: artist_id, required: true}",
                      "{name: artist_id, globalType: artist_id, constraints: {pattern: '^a'}}")),
      std::vector<std::string>{"p.yaml:17:9: spec.schema.fields[1].constraints.pattern: field "
                               "'artist_id' declares pattern '^a' but global type artist_id has "
                               "'^art_[0-9a-z]{12}$' [policy 'standards' global type artist_id]"});
  EXPECT_EQ(Violations(Good("{name: artist_id, globalType: artist_id, required: true}",
                            "{name: artist_id, globalType: artist_id}\n      - {name: n, "
                            "globalType: listen_count, constraints: {min: 1}, description: N.}")),
            std::vector<std::string>{
                "p.yaml:18:9: spec.schema.fields[2].constraints.min: field 'n' declares min 1 "
                "but global type listen_count has 0 [policy 'standards' global type "
                "listen_count]"});
}

TEST(PolicyTest, AnUnknownGlobalTypeNamesTheKnownOnes) {
  EXPECT_EQ(Violations(Good("globalType: artist_id, required", "globalType: artist, required")),
            std::vector<std::string>{
                "p.yaml:17:9: spec.schema.fields[1].globalType: field 'artist_id' declares "
                "unknown global type 'artist' (known: artist_id, listen_count) [global types]"});
}

TEST(PolicyTest, RequiredMetadataListsEachMissingItem) {
  std::string yaml = Good("  description: One event per play.\n", "");
  yaml = yaml.substr(0, yaml.find("  slos:"));
  EXPECT_EQ(Violations(yaml),
            (std::vector<std::string>{
                "p.yaml:2:1: metadata.description: product media-player/plays: has no "
                "description [policy 'standards' rules[0] (required_metadata)]",
                "p.yaml:2:1: spec.slos: product media-player/plays: declares no SLOs [policy "
                "'standards' rules[0] (required_metadata)]",
                "p.yaml:2:1: spec.access: product media-player/plays: is confidential, so it "
                "must declare at least one access rule [policy 'standards' rules[2] "
                "(classification_controls)]"}));
}

TEST(PolicyTest, NamingRulesCheckProductFieldAndPortNames) {
  std::string yaml = Good("{name: play_id,", "{name: play__id,");
  EXPECT_EQ(Violations(yaml), std::vector<std::string>{
                                  "p.yaml:16:9: spec.schema.fields[0].name: field name 'play__id' "
                                  "does not match the naming pattern "
                                  "'^[a-z][a-z0-9]*(_[a-z0-9]+)*$' [policy 'standards' rules[1] "
                                  "(naming)]"});
  yaml = Good("    - name: events\n", "    - name: events2\n");
  EXPECT_EQ(Violations(yaml),
            std::vector<std::string>{"p.yaml:21:7: spec.outputPorts[0].name: port name 'events2' "
                                     "does not match the naming pattern '^[a-z]+$' [policy "
                                     "'standards' rules[1] (naming)]"});
  yaml = Good("  name: plays\n", "  name: play-2\n");
  EXPECT_EQ(Violations(yaml), std::vector<std::string>{
                                  "p.yaml:2:1: metadata.name: product media-player/play-2: name "
                                  "'play-2' does not match the naming pattern "
                                  "'^[a-z]+(-[a-z]+)*$' [policy 'standards' rules[1] (naming)]"});
}

TEST(PolicyTest, PiiFieldsMustDeclareAMaskAndRaiseTheClassification) {
  std::string yaml = Good("pii: true, mask: hash,", "pii: true,");
  yaml.replace(yaml.find("confidential"), 12, "internal");
  EXPECT_EQ(Violations(yaml),
            (std::vector<std::string>{
                "p.yaml:2:1: spec.classification: product media-player/plays: holds pii fields, "
                "so it must be classified at least confidential (it is internal) [policy "
                "'standards' rules[2] (classification_controls)]",
                "p.yaml:18:9: spec.schema.fields[2].mask: pii field 'listener' declares no mask "
                "method (add mask: redact | hash | tokenize | truncate | null) [policy "
                "'standards' rules[2] (classification_controls)]"}));
}

TEST(PolicyTest, RestrictedProductsNeedRowFiltersAndNoUnmask) {
  std::string yaml = Good("classification: confidential", "classification: restricted");
  yaml = yaml.replace(yaml.find("permissions: [read]"), 19, "permissions: [read, unmask]");
  EXPECT_EQ(Violations(yaml),
            (std::vector<std::string>{
                "p.yaml:27:7: spec.access[0].rowFilter: access rule for group:analysts grants "
                "read on a restricted product without a row filter [policy 'standards' rules[2] "
                "(classification_controls)]",
                "p.yaml:27:7: spec.access[0].permissions: access rule for group:analysts grants "
                "unmask on a restricted product [policy 'standards' rules[2] "
                "(classification_controls)]"}));
}

TEST(PolicyTest, StreamPortsFollowTheEventEnvelope) {
  EXPECT_EQ(Violations(Good("stream: {eventType: media.play, eventTime: played_at}",
                            "stream: {eventType: Play}")),
            (std::vector<std::string>{
                "p.yaml:21:7: spec.outputPorts[0].stream.eventType: stream port 'events' event "
                "type 'Play' does not match '^[a-z]+(\\.[a-z-]+)+$' [policy 'standards' rules[3] "
                "(envelope)]",
                "p.yaml:21:7: spec.outputPorts[0].stream.eventTime: stream port 'events' declares "
                "no event time field (stream.eventTime) [policy 'standards' rules[3] "
                "(envelope)]"}));
}

TEST(PolicyTest, RulesScopedToDomainsSkipOthers) {
  spec::Policy policy;
  policy.name = "p";
  spec::PolicyRule rule;
  rule.kind = "required_metadata";
  rule.parameters = {{"require", {"title"}}, {"domains", {"artists"}}};
  policy.rules.push_back(rule);
  Result<std::shared_ptr<const PolicySet>> set = PolicySet::Build({policy});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  spec::Document doc = Parse(Good("  title: Plays\n", ""));
  EXPECT_TRUE(Evaluate(**set, *doc.product(), doc.pos).empty());
  rule.parameters["domains"] = {"media-player"};
  policy.rules = {rule};
  set = PolicySet::Build({policy});
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(Evaluate(**set, *doc.product(), doc.pos).size(), 1u);
}

TEST(PolicyTest, BadRuleParametersAreRefusedWithTheirPlace) {
  Result<std::vector<spec::Document>> docs = spec::ParseDocuments(R"(apiVersion: loom/v1
kind: Policy
metadata: {name: broken}
spec:
  rules:
    - kind: naming
      fields: '(['
      prefix: x
    - kind: classification_controls
      controls: {secret: [accessRule], restricted: [encryptedTwice]}
    - kind: required_metadata
      require: [colour]
)",
                                                                  "policy.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  Result<std::shared_ptr<const PolicySet>> set = PolicySet::Build({*(*docs)[0].policy()});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kInvalidArgument);
  const std::string m = set.status().message();
  EXPECT_NE(m.find("policy.yaml:6:7: spec.rules[0].prefix: unknown parameter 'prefix' for a "
                   "naming rule (expected one of: products, fields, ports, domains, "
                   "classifications, description)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("policy.yaml:6:7: spec.rules[0].fields: '([' is not a valid regular "
                   "expression"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("spec.rules[1].controls.secret: 'secret' is not a classification"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("spec.rules[1].controls.restricted: unknown control 'encryptedTwice'"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("spec.rules[2].require[0]: unknown value 'colour'"), std::string::npos) << m;
}

TEST(PolicyTest, AGlobalTypeDefinedByTwoPoliciesIsRefused) {
  spec::Policy a, b;
  a.name = "a";
  b.name = "b";
  spec::GlobalType t;
  t.name = "artist_id";
  a.global_types.push_back(t);
  b.global_types.push_back(t);
  Result<std::shared_ptr<const PolicySet>> set = PolicySet::Build({a, b});
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find(
                "global type 'artist_id' of policy 'b' is already defined by policy 'a'"),
            std::string::npos);
}

}  // namespace
}  // namespace loom::governance
