// The HTTP API directly: problem+json errors, the OpenAPI document, health.

#include <gtest/gtest.h>

#include "e2e/e2e_util.h"

namespace loom::e2e {
namespace {

using nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServeProcess>(dir_.Sub("data"));
    ASSERT_TRUE(server_->ok());
  }
  testing::TempDir dir_;
  std::unique_ptr<ServeProcess> server_;
};

TEST_F(HttpApiTest, HealthAndOpenApi) {
  HttpResponse h = HttpGet(server_->port(), "/healthz");
  EXPECT_EQ(h.status, 200);
  HttpResponse doc = HttpGet(server_->port(), "/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  json j = json::parse(doc.body, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["openapi"], "3.1.0");
  for (const char* path :
       {"/v1/apply", "/v1/search", "/v1/products", "/v1/products/{domain}/{product}",
        "/v1/products/{domain}/{product}/versions"}) {
    EXPECT_TRUE(j["paths"].contains(path)) << path;
  }
}

TEST_F(HttpApiTest, ErrorsAreProblemJson) {
  HttpResponse missing = HttpGet(server_->port(), "/v1/products/nobody/nothing", server_->token());
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.content_type, "application/problem+json");
  json p = json::parse(missing.body, nullptr, false);
  EXPECT_EQ(p["type"], "/v1/problems/not-found");
  EXPECT_EQ(p["status"], 404);
  EXPECT_FALSE(p["detail"].get<std::string>().empty());

  HttpResponse bad =
      HttpPost(server_->port(), "/v1/apply", "{not json", "application/json", server_->token());
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(json::parse(bad.body, nullptr, false)["type"], "/v1/problems/invalid-argument");

  HttpResponse invalid = HttpPost(
      server_->port(), "/v1/apply",
      json{{"files", {{{"path", "x.yaml"}, {"text", "apiVersion: loom/v1\nkind: Nope\n"}}}}}.dump(),
      "application/json", server_->token());
  EXPECT_EQ(invalid.status, 400);
  json pj = json::parse(invalid.body, nullptr, false);
  ASSERT_FALSE(pj["errors"].empty());
  EXPECT_TRUE(pj["errors"][0].get<std::string>().starts_with("x.yaml:2:")) << pj.dump();

  HttpResponse route = HttpGet(server_->port(), "/v1/nothing-here", server_->token());
  EXPECT_EQ(route.status, 404);
  EXPECT_EQ(route.content_type, "application/problem+json");

  HttpResponse traversal =
      HttpGet(server_->port(), "/v1/products/..%2F..%2Fetc/passwd", server_->token());
  EXPECT_TRUE(traversal.status == 400 || traversal.status == 404) << traversal.status;

  HttpResponse limit = HttpGet(server_->port(), "/v1/search?q=x&limit=abc", server_->token());
  EXPECT_EQ(limit.status, 400);
}

}  // namespace
}  // namespace loom::e2e
