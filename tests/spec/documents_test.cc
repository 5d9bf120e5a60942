// Rules of Domain and Policy documents and of files as a whole: several documents, syntax errors,
// every problem of every document collected.

#include <gtest/gtest.h>

#include "spec/spec.h"

namespace loom::spec {
namespace {

std::vector<std::string> Diags(std::string_view text) {
  std::vector<Diagnostic> diags;
  Result<std::vector<Document>> docs = ParseDocuments(text, "d.yaml", &diags);
  std::vector<std::string> out;
  for (const Diagnostic& d : diags) out.push_back(d.ToString());
  EXPECT_EQ(docs.ok(), out.empty());
  return out;
}

using Lines = std::vector<std::string>;

constexpr char kDomain[] = R"(apiVersion: loom/v1
kind: Domain
metadata:
  name: artists
  owners: [group:artists-team]
)";

TEST(DomainRulesTest, RefusesASpecAndBadOrMissingOwners) {
  EXPECT_EQ(Diags(kDomain), Lines{});
  EXPECT_EQ(Diags(std::string(kDomain) + "spec: {owners: []}\n"),
            Lines{"d.yaml:6:7: spec: a Domain has no spec; put name, title, description, owners "
                  "and tags under metadata"});
  EXPECT_EQ(Diags("apiVersion: loom/v1\nkind: Domain\nmetadata:\n  name: artists\n"),
            Lines{"d.yaml:4:3: metadata: missing required key 'owners'"});
  EXPECT_EQ(Diags("apiVersion: loom/v1\nkind: Domain\nmetadata:\n  name: artists\n  owners: []\n"),
            Lines{"d.yaml:5:11: metadata.owners: needs at least one owner"});
  EXPECT_EQ(Diags("apiVersion: loom/v1\nkind: Domain\nmetadata:\n  name: Artists\n"
                  "  owners: [user:a, user:a]\n"),
            (Lines{"d.yaml:4:9: metadata.name: 'Artists' is not a valid name: must start with a "
                   "lowercase letter",
                   "d.yaml:5:20: metadata.owners[1]: duplicate owner 'user:a'"}));
}

constexpr char kPolicyHead[] = R"(apiVersion: loom/v1
kind: Policy
metadata:
  name: org
spec:
)";

TEST(PolicyRulesTest, ChecksGlobalTypes) {
  EXPECT_EQ(Diags(std::string(kPolicyHead) +
                  "  globalTypes:\n"
                  "    - {name: artist_id, type: string}\n"
                  "    - {name: artist_id, type: int64}\n"
                  "    - {name: device, type: struct}\n"
                  "    - {name: Track, type: string, ownerDomain: x_y}\n"
                  "    - {name: price, type: double, constraints: {pattern: '^1'}}\n"),
            (Lines{"d.yaml:8:14: spec.globalTypes[1].name: duplicate global type 'artist_id' "
                   "(first at line 7)",
                   "d.yaml:9:28: spec.globalTypes[2].type: a global type must be a scalar or list "
                   "type, not struct",
                   "d.yaml:10:14: spec.globalTypes[3].name: 'Track' is not a valid global type "
                   "name: must start with a lowercase letter or '_'",
                   "d.yaml:10:48: spec.globalTypes[3].ownerDomain: 'x_y' is not a valid name: may "
                   "contain only lowercase letters, digits and '-'",
                   "d.yaml:11:58: spec.globalTypes[4].constraints.pattern: pattern applies only "
                   "to string fields (the type is double)"}));
}

TEST(PolicyRulesTest, ChecksRules) {
  EXPECT_EQ(Diags(std::string(kPolicyHead) + "  rules:\n"
                                             "    - {keys: [title]}\n"
                                             "    - naming\n"
                                             "    - {kind: naming, kind: envelope}\n"),
            (Lines{"d.yaml:7:7: spec.rules[0]: missing required key 'kind'",
                   "d.yaml:8:7: spec.rules[1]: expected a map, got a scalar",
                   "d.yaml:9:22: spec.rules[2].kind: duplicate key 'kind'"}));
}

TEST(PolicyRulesTest, ChecksGrants) {
  EXPECT_EQ(
      Diags(std::string(kPolicyHead) +
            "  grants:\n"
            "    - {principal: group:a, domain: sales}\n"
            "    - {principal: group:a, role: reader, domain: sales}\n"
            "    - {principal: group:a, role: consumer, domain: sales, port: events}\n"
            "    - {principal: group:a, permissions: [read], domain: sales, rowFilter: x > 1}\n"
            "    - {principal: group:a, role: owner}\n"),
      (Lines{"d.yaml:7:7: spec.grants[0]: a grant needs a role, permissions or both",
             "d.yaml:8:34: spec.grants[1].role: unknown value 'reader' (expected owner, "
             "producer or consumer)",
             "d.yaml:9:65: spec.grants[2].port: a grant on a port needs the product too",
             "d.yaml:10:75: spec.grants[3].rowFilter: a row filter needs a product (it is a "
             "predicate over its fields)",
             "d.yaml:11:7: spec.grants[4]: missing required key 'domain'"}));
}

TEST(FileRulesTest, CollectsTheProblemsOfEveryDocument) {
  const std::string text = std::string(kDomain) +
                           "---\n"
                           "apiVersion: loom/v1\nkind: Domain\nmetadata: {name: x, owners: [bob]}\n"
                           "---\n"
                           "apiVersion: loom/v1\nkind: Domain\nmetadata: {name: [y, owners: []}\n"
                           "---\n"
                           "apiVersion: loom/v1\nkind: Domian\n";
  EXPECT_EQ(Diags(text),
            (Lines{"d.yaml:9:30: metadata.owners[0]: 'bob' is not a principal (expected "
                   "user:NAME, group:NAME or service:NAME)",
                   "d.yaml:13:32: YAML syntax error: illegal flow end (check that each '[' and '{' "
                   "is closed by its own ']' or '}')",
                   "d.yaml:16:7: kind: unknown value 'Domian' (did you mean 'Domain'?)"}));
}

TEST(FileRulesTest, RefusesTheSameDocumentTwiceInOneText) {
  EXPECT_EQ(Diags(std::string(kDomain) + "---\n" + kDomain),
            Lines{"d.yaml:7:1: duplicate document domain:artists (also at d.yaml:1:1)"});
}

TEST(FileRulesTest, RefusesContentOnTheMarkerLineAndNonMapDocuments) {
  EXPECT_EQ(Diags(std::string("--- !loom\n") + kDomain),
            Lines{"d.yaml:1:5: content after '---' is not supported; start the document on the "
                  "next line"});
  EXPECT_EQ(Diags("just text\n"),
            Lines{"d.yaml:1:1: a descriptor must be a map with apiVersion, kind, metadata and "
                  "spec, got a scalar"});
  EXPECT_EQ(Diags("apiVersion: loom/v1\nkind: DataProduct\n"),
            (Lines{"d.yaml:1:1: missing required key 'metadata'",
                   "d.yaml:1:1: missing required key 'spec'"}));
}

TEST(FileRulesTest, AcceptsMarkersCommentsAndTheDocumentEndMarker) {
  Result<std::vector<Document>> docs = ParseDocuments(
      std::string("# header\n---   # first\n") + kDomain + "...\n---\n" +
          "apiVersion: loom/v1\nkind: Domain\nmetadata: {name: b, owners: [user:x]}\n---\n",
      "d.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].pos.line, 3);
  EXPECT_EQ((*docs)[1].pos.line, 10);
  EXPECT_EQ((*docs)[1].domain()->name, "b");
}

TEST(FileRulesTest, RefusesTextThatIsNotUtf8AndAcceptsTextThatIs) {
  EXPECT_EQ(Diags("apiVersion: loom/v1\nkind: Domain\nmetadata: {name: a, title: caf\xE9}\n"),
            Lines{"d.yaml:3:31: not valid UTF-8 (byte 0xE9); descriptors are UTF-8 text"});
  EXPECT_EQ(Diags("# \xED\xA0\x80 is a surrogate\n"),
            Lines{"d.yaml:1:3: not valid UTF-8 (byte 0xED); descriptors are UTF-8 text"});
  EXPECT_EQ(Diags("# \xC0\xAF is overlong\n"),
            Lines{"d.yaml:1:3: not valid UTF-8 (byte 0xC0); descriptors are UTF-8 text"});
  Result<std::vector<Document>> docs = ParseDocuments(
      "apiVersion: loom/v1\nkind: Domain\nmetadata: {name: a, title: \"Caf\xC3\xA9 "
      "\xF0\x9F\x8E\xB5\", "
      "owners: [user:a]}\n",
      "d.yaml");
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  EXPECT_EQ(ToJson((*docs)[0])["title"], "Caf\xC3\xA9 \xF0\x9F\x8E\xB5");
}

TEST(FileRulesTest, SurvivesHostileInputWithoutThrowing) {
  for (std::string_view text :
       {"{", "[[[[[[[[[[", "a: *undefined", "&a [*a]", "? [a]: b", "- - - -", "\t", ":", "'",
        "apiVersion: loom/v1\nkind: DataProduct\nmetadata: {domain: a, name: b, version: 1.0.0, "
        "owner: user:x}\nspec: {schema: {fields: [{name: a, type: "
        "'list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<list<"
        "string>>>>>>>>>>>>>>>>>'}]}, outputPorts: [{name: p, kind: stream}]}\n",
        "apiVersion: loom/v1\nkind: Policy\nmetadata: {name: p}\nspec: {rules: [{kind: naming, "
        "[a]: b}]}\n"}) {
    Result<std::vector<Document>> docs = ParseDocuments(text, "h.yaml");
    EXPECT_FALSE(docs.ok()) << text;
    EXPECT_FALSE(docs.status().message().empty());
  }
}

}  // namespace
}  // namespace loom::spec
