// The HTTP routes of access management: tokens, grants, group members and the audit log.

#include "server/http_common.h"

namespace loom::server {
namespace {

using nlohmann::json;

std::optional<std::string> StringField(const json& body, const char* name) {
  if (!body.contains(name) || !body[name].is_string()) return std::nullopt;
  return body[name].get<std::string>();
}

Result<platform::Platform::GrantRequest> GrantBody(const httplib::Request& req) {
  LOOM_ASSIGN_OR_RETURN(json body, ParseJsonBody(req));
  platform::Platform::GrantRequest g;
  std::optional<std::string> principal = StringField(body, "principal");
  std::optional<std::string> address = StringField(body, "address");
  if (!principal || !address) {
    return InvalidArgument(
        "request body: expected {\"principal\": string, \"address\": string, \"role\" or "
        "\"permissions\": string, \"rowFilter\"?: string}");
  }
  g.principal = *principal;
  g.address = *address;
  g.what = StringField(body, "role").value_or(StringField(body, "permissions").value_or(""));
  g.row_filter = StringField(body, "rowFilter");
  return g;
}

}  // namespace

void SecurityRoutes(httplib::Server& http, platform::Platform& platform,
                    std::function<platform::Caller()> caller) {
  http.Post("/v1/tokens", [&platform, caller](const httplib::Request& req, httplib::Response& res) {
    Result<json> body = ParseJsonBody(req);
    if (!body.ok()) return SendProblem(req, res, body.status());
    platform::Platform::TokenRequest t;
    t.principal = StringField(*body, "principal").value_or("");
    t.description = StringField(*body, "description").value_or("");
    if (body->contains("scopes")) {
      if (!(*body)["scopes"].is_array()) {
        return SendProblem(req, res, InvalidArgument("request body: 'scopes' must be an array"));
      }
      t.scopes.clear();
      for (const json& s : (*body)["scopes"]) {
        if (!s.is_string()) {
          return SendProblem(req, res, InvalidArgument("request body: scopes must be strings"));
        }
        t.scopes.push_back(s.get<std::string>());
      }
    }
    if (auto e = StringField(*body, "expiresAt")) {
      Result<TimestampMicros> at = ParseRfc3339(*e);
      if (!at.ok()) return SendProblem(req, res, at.status().WithPrefix("expiresAt"));
      t.expires_at = *at;
    }
    Reply(req, res, platform.CreateToken(caller(), t));
  });
  http.Get("/v1/tokens", [&platform, caller](const httplib::Request& req, httplib::Response& res) {
    Reply(req, res, platform.ListTokens(caller(), Param(req, "principal").value_or("")));
  });
  http.Delete("/v1/tokens/([0-9a-f]+)",
              [&platform, caller](const httplib::Request& req, httplib::Response& res) {
                Reply(req, res, platform.RevokeToken(caller(), req.matches[1]));
              });
  http.Get("/v1/grants", [&platform, caller](const httplib::Request& req, httplib::Response& res) {
    Reply(req, res, platform.ListGrants(caller()));
  });
  http.Post("/v1/grants", [&platform, caller](const httplib::Request& req, httplib::Response& res) {
    Result<platform::Platform::GrantRequest> g = GrantBody(req);
    if (!g.ok()) return SendProblem(req, res, g.status());
    Reply(req, res, platform.Grant(caller(), *g));
  });
  http.Post("/v1/grants/revoke",
            [&platform, caller](const httplib::Request& req, httplib::Response& res) {
              Result<platform::Platform::GrantRequest> g = GrantBody(req);
              if (!g.ok()) return SendProblem(req, res, g.status());
              Reply(req, res, platform.Revoke(caller(), *g));
            });
  http.Post("/v1/groups/([^/]+)/members", [&platform, caller](const httplib::Request& req,
                                                              httplib::Response& res) {
    Result<json> body = ParseJsonBody(req);
    if (!body.ok()) return SendProblem(req, res, body.status());
    std::optional<std::string> member = StringField(*body, "member");
    if (!member) {
      return SendProblem(req, res, InvalidArgument("request body: expected {\"member\": string}"));
    }
    Reply(req, res, platform.AddMember(caller(), req.matches[1], *member));
  });
  http.Delete("/v1/groups/([^/]+)/members/([^/]+)",
              [&platform, caller](const httplib::Request& req, httplib::Response& res) {
                Reply(req, res, platform.RemoveMember(caller(), req.matches[1], req.matches[2]));
              });
  http.Get("/v1/audit", [&platform, caller](const httplib::Request& req, httplib::Response& res) {
    security::AuditFilter f;
    f.principal = Param(req, "principal");
    f.address = Param(req, "address");
    f.operation = Param(req, "operation");
    if (Param(req, "denied").value_or("") == "true") f.allowed = false;
    if (auto since = Param(req, "since")) {
      Result<TimestampMicros> t = ParseRfc3339(*since);
      if (!t.ok()) return SendProblem(req, res, t.status().WithPrefix("since"));
      f.since = *t;
    }
    Result<uint32_t> limit = UintParam(req, "limit", 1000);
    if (!limit.ok()) return SendProblem(req, res, limit.status());
    f.limit = *limit;
    Reply(req, res, platform.Audit(caller(), f));
  });
  http.Get("/v1/audit/verify",
           [&platform, caller](const httplib::Request& req, httplib::Response& res) {
             Reply(req, res, platform.VerifyAudit(caller()));
           });
  // The new key is a file on the server's machine: key material never crosses the network.
  http.Post("/v1/keys/rotate",
            [&platform, caller](const httplib::Request& req, httplib::Response& res) {
              Result<json> body = ParseJsonBody(req);
              if (!body.ok()) return SendProblem(req, res, body.status());
              std::optional<std::string> file = StringField(*body, "newKeyFile");
              if (!file) {
                return SendProblem(
                    req, res, InvalidArgument("request body: expected {\"newKeyFile\": string}"));
              }
              Reply(req, res, platform.RotateMasterKey(caller(), *file));
            });
}

}  // namespace loom::server
