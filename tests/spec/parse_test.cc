// Valid descriptors of every kind parse, keep their text and positions, and render to canonical
// JSON with every member and its default explicit.

#include <gtest/gtest.h>

#include "spec/spec.h"
#include "testing/testing.h"

namespace loom::spec {
namespace {

std::string Valid(const std::string& name) {
  return loom::testing::SourceDir() + "/tests/spec/valid/" + name;
}

std::vector<Document> MustParse(std::string_view text) {
  Result<std::vector<Document>> docs = ParseDocuments(text, "test.yaml");
  EXPECT_TRUE(docs.ok()) << docs.status().message();
  return docs.ok() ? *docs : std::vector<Document>{};
}

constexpr char kMinimalProduct[] = R"(apiVersion: loom/v1
kind: DataProduct
metadata:
  domain: sales
  name: orders
  version: 2.1.0-rc.1
  owner: user:alice
spec:
  schema:
    fields:
      - {name: order_id, type: string, primaryKey: true}
      - {name: email, type: string, pii: true}
      - {name: note, type: string, pii: true, mask: null}
  outputPorts:
    - {name: events, kind: stream}
)";

TEST(ParseTest, ParsesTheFullProductFixtureIntoTypes) {
  Result<std::vector<Document>> docs = LoadPath(Valid("play-events.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 1u);
  const Document& doc = (*docs)[0];
  EXPECT_EQ(doc.kind, Kind::kDataProduct);
  EXPECT_EQ(doc.Key(), "product:media-player/play-events");
  const DataProduct* p = doc.product();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->version, (SemVer{1, 0, 0, ""}));
  EXPECT_EQ(p->owner, "group:media-player-team");
  EXPECT_EQ(p->tags, (std::vector<std::string>{"plays", "events"}));
  ASSERT_EQ(p->schema.fields.size(), 10u);
  const Field* email = p->schema.Find("email");
  ASSERT_NE(email, nullptr);
  EXPECT_TRUE(email->pii);
  EXPECT_EQ(email->mask, MaskMethod::kHash);
  EXPECT_EQ(email->pos.line, 33);
  EXPECT_EQ(email->pos.column, 9);
  const Field* country = p->schema.Find("country");
  ASSERT_NE(country, nullptr);
  EXPECT_EQ(country->constraints.enum_values, (std::vector<std::string>{"SE", "US", "DE"}));
  EXPECT_EQ(country->constraints.min_length, 2);
  const Field* device = p->schema.Find("device");
  ASSERT_NE(device, nullptr);
  EXPECT_EQ(device->type.ToString(), "struct<os string, model string>");
  EXPECT_EQ(p->schema.Find("price")->type.SqlType(), "DECIMAL(10,2)");
  ASSERT_EQ(p->output_ports.size(), 2u);
  const OutputPort* events = p->FindPort("events");
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->stream.partitions, 4u);
  EXPECT_EQ(events->stream.event_time, "played_at");
  EXPECT_EQ(events->stream.fsync_interval_ms, 100);
  EXPECT_EQ(events->stream.compression, Compression::kZstd);
  EXPECT_FALSE(events->stream.retention_ms.has_value());
  EXPECT_EQ(events->stream.on_invalid, OnInvalid::kQuarantine);
  EXPECT_EQ(events->stream.dedup_window_ms, 24LL * 3600 * 1000);
  const OutputPort* daily = p->FindPort("daily");
  ASSERT_NE(daily, nullptr);
  ASSERT_TRUE(daily->table.snapshot.has_value());
  EXPECT_EQ(daily->table.snapshot->from_port, "events");
  EXPECT_EQ(daily->table.retain_versions, 30u);
  ASSERT_EQ(p->input_ports.size(), 1u);
  EXPECT_EQ(p->input_ports[0].address.ToString(), "loom://artists/tracks/current");
  ASSERT_TRUE(p->transform.has_value());
  EXPECT_EQ(p->transform->window_ms, 3'600'000);
  EXPECT_EQ(p->transform->allowed_lateness_ms, 300'000);
  EXPECT_EQ(p->transform->steps[0].options.at("key"), "event_id");
  ASSERT_EQ(p->slos.size(), 2u);
  EXPECT_EQ(p->slos[0].threshold_ms, 300'000);
  EXPECT_EQ(p->slos[1].threshold, 0.98);
  ASSERT_EQ(p->expectations.size(), 3u);
  EXPECT_EQ(p->expectations[0].severity, Severity::kBlock);
  EXPECT_EQ(p->expectations[2].max, 86400000.0);
  ASSERT_EQ(p->access.size(), 1u);
  EXPECT_EQ(p->access[0].row_filter, "country = 'SE'");
  EXPECT_EQ(p->deprecated, "use play-events v2");
}

TEST(ParseTest, RendersTheFullProductToTheGoldenJson) {
  Result<std::vector<Document>> docs = LoadPath(Valid("play-events.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  nlohmann::json golden = nlohmann::json::parse(loom::testing::ReadFile(Valid("play-events.json")));
  EXPECT_EQ(ToJson((*docs)[0]), golden) << ToJson((*docs)[0]).dump(2);
}

TEST(ParseTest, TheFullExampleOfTheReferenceIsTheValidFixture) {
  const std::string doc =
      loom::testing::ReadFile(loom::testing::SourceDir() + "/docs/descriptors.md");
  const size_t start = doc.find("```yaml\n");
  ASSERT_NE(start, std::string::npos);
  const size_t end = doc.find("```\n", start + 8);
  ASSERT_NE(end, std::string::npos);
  std::vector<Document> docs = MustParse(doc.substr(start + 8, end - start - 8));
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(ToJson(docs[0]),
            nlohmann::json::parse(loom::testing::ReadFile(Valid("play-events.json"))));
}

TEST(ParseTest, MakesEveryDefaultExplicitInJson) {
  std::vector<Document> docs = MustParse(kMinimalProduct);
  ASSERT_EQ(docs.size(), 1u);
  nlohmann::json j = ToJson(docs[0]);
  EXPECT_EQ(j["version"], "2.1.0-rc.1");
  EXPECT_EQ(j["classification"], "internal");
  EXPECT_EQ(j["alignment"], "source");
  EXPECT_EQ(j["title"], "");
  EXPECT_EQ(j["tags"], nlohmann::json::array());
  EXPECT_EQ(j["transform"], nullptr);
  EXPECT_EQ(j["deprecated"], nullptr);
  const nlohmann::json& f0 = j["schema"]["fields"][0];
  EXPECT_EQ(f0["required"], true) << "a primary key is required";
  EXPECT_EQ(f0["mask"], "none");
  EXPECT_EQ(f0["constraints"]["pattern"], nullptr);
  EXPECT_EQ(j["schema"]["fields"][1]["mask"], "redact") << "pii defaults to redact";
  EXPECT_EQ(j["schema"]["fields"][2]["mask"], "null") << "`mask: null` is the null mask";
  const nlohmann::json& s = j["outputPorts"][0]["stream"];
  EXPECT_EQ(s["partitions"], 1);
  EXPECT_EQ(s["partitionKey"], nlohmann::json::array());
  EXPECT_EQ(s["eventTime"], nullptr);
  EXPECT_EQ(s["fsync"], "always");
  EXPECT_EQ(s["fsyncInterval"], "100ms");
  EXPECT_EQ(s["compression"], "none");
  EXPECT_EQ(s["retention"], "forever");
  EXPECT_EQ(s["segmentBytes"], "128MiB");
  EXPECT_EQ(s["segmentTime"], "7d");
  EXPECT_EQ(s["onInvalid"], "reject");
  EXPECT_EQ(s["dedupWindow"], "1d");
  EXPECT_EQ(s["maxEventBytes"], "1MiB");
  EXPECT_EQ(j["outputPorts"][0]["address"], "loom://sales/orders/events");
}

TEST(ParseTest, JsonDoesNotDependOnKeyOrderOrFlowStyle) {
  constexpr char kReordered[] = R"(kind: DataProduct
spec:
  outputPorts:
    - kind: stream
      name: events
  schema:
    fields:
      - primaryKey: true
        type: string
        name: order_id
      - {pii: true, type: string, name: email}
      - {mask: null, name: note, pii: true, type: string}
metadata:
  owner: user:alice
  version: 2.1.0-rc.1
  name: orders
  domain: sales
apiVersion: loom/v1
)";
  nlohmann::json a = ToJson(MustParse(kMinimalProduct).at(0));
  nlohmann::json b = ToJson(MustParse(kReordered).at(0));
  EXPECT_EQ(a.dump(), b.dump());
}

TEST(ParseTest, ReadsSeveralDocumentsAndKeepsEachOnesText) {
  Result<std::vector<Document>> docs = LoadPath(Valid("media-player.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 2u);
  const Document& domain = (*docs)[0];
  const Document& policy = (*docs)[1];
  EXPECT_EQ(domain.Key(), "domain:media-player");
  EXPECT_EQ(policy.Key(), "policy:global-types");
  EXPECT_TRUE(domain.text.starts_with("# The media player domain"));
  EXPECT_TRUE(domain.text.ends_with("tags: [playback]\n"));
  EXPECT_EQ(domain.text.find("Policy"), std::string::npos);
  EXPECT_TRUE(policy.text.starts_with("apiVersion: loom/v1\nkind: Policy\n"));
  EXPECT_EQ(domain.pos.line, 2);
  EXPECT_EQ(policy.pos.line, 11);
  // Each document's text parses alone to the same thing.
  EXPECT_EQ(ToJson(MustParse(policy.text).at(0)), ToJson(policy));
}

TEST(ParseTest, ReadsDomainsAndPoliciesIntoTypes) {
  Result<std::vector<Document>> docs = LoadPath(Valid("media-player.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  const Domain* d = (*docs)[0].domain();
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->owners, (std::vector<std::string>{"group:media-player-team", "user:alice"}));
  const Policy* p = (*docs)[1].policy();
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(p->global_types.size(), 1u);
  EXPECT_EQ(p->global_types[0].owner_domain, "artists");
  EXPECT_EQ(p->global_types[0].constraints.pattern, "^ar[0-9]+$");
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].kind, "required_metadata");
  EXPECT_EQ(p->rules[0].parameters["minDescriptionLength"], 20);
  EXPECT_EQ(p->rules[0].parameters["keys"], (nlohmann::json{"title", "description"}));
  ASSERT_EQ(p->grants.size(), 2u);
  EXPECT_EQ(p->grants[0].role, "consumer");
  EXPECT_EQ(p->grants[1].permissions,
            (std::vector<Permission>{Permission::kRead, Permission::kUnmask}));
  nlohmann::json j = ToJson(*p);
  EXPECT_EQ(j["rules"][1], (nlohmann::json{{"kind", "naming"}, {"fieldCase", "snake"}}));
  EXPECT_EQ(j["grants"][0]["product"], "");
  EXPECT_EQ(ToJson(*d)["kind"], "Domain");
}

TEST(ParseTest, LoadsADirectoryRecursivelyInNameOrder) {
  loom::testing::TempDir dir;
  loom::testing::WriteFile(dir.Sub("b/product.yml"), kMinimalProduct);
  loom::testing::WriteFile(dir.Sub("a.yaml"), loom::testing::ReadFile(Valid("media-player.yaml")));
  loom::testing::WriteFile(dir.Sub("notes.txt"), "not a descriptor");
  Result<std::vector<Document>> docs = LoadPath(dir.path() + "/");
  ASSERT_TRUE(docs.ok()) << docs.status().message();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0].Key(), "domain:media-player");
  EXPECT_EQ((*docs)[2].Key(), "product:sales/orders");
  EXPECT_EQ((*docs)[2].pos.file, dir.path() + "/b/product.yml");
}

TEST(ParseTest, RefusesTheSameDocumentTwiceAcrossFiles) {
  loom::testing::TempDir dir;
  loom::testing::WriteFile(dir.Sub("one.yaml"), kMinimalProduct);
  loom::testing::WriteFile(dir.Sub("two.yaml"), std::string("# again\n") + kMinimalProduct);
  Result<std::vector<Document>> docs = LoadPath(dir.path());
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().message(),
            dir.path() + "/two.yaml:2:1: duplicate document product:sales/orders (also at " +
                dir.path() + "/one.yaml:1:1)");
}

TEST(ParseTest, ReportsMissingPathsAndEmptyInputs) {
  Result<std::vector<Document>> missing = LoadPath("/nonexistent/loom/descriptors");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  loom::testing::TempDir dir;
  EXPECT_EQ(LoadPath(dir.path()).status().message(),
            "no *.yaml or *.yml files under " + dir.path());
  EXPECT_EQ(ParseDocuments("# only a comment\n---\n", "e.yaml").status().message(),
            "e.yaml:1:1: no descriptor in this file (expected apiVersion, kind, metadata and "
            "spec)");
}

}  // namespace
}  // namespace loom::spec
