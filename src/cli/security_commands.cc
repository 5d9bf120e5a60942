// token, grant, revoke, grants, group, audit: managing who may do what, and what they did.

#include <cstdio>
#include <memory>

#include "cli/context.h"
#include "cli/render.h"

namespace loom::cli {
namespace {

using nlohmann::json;

int Print(Context& ctx, const Result<json>& r, std::string (*render)(const json&)) {
  if (!r.ok()) return ReportError(r.status());
  std::string out = ctx.options.json ? r->dump(2) + "\n" : render(*r);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

// "90d", "12h", "30m" from now, or an RFC 3339 time.
Result<TimestampMicros> TimeArg(const std::string& flag, const std::string& text, bool future) {
  if (!text.empty() && text.size() < 12 &&
      text.find_first_not_of("0123456789") == text.size() - 1) {
    int64_t n = std::stoll(text.substr(0, text.size() - 1));
    int64_t unit = 0;
    switch (text.back()) {
      case 'd':
        unit = 86400;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'm':
        unit = 60;
        break;
      default:
        break;
    }
    if (unit != 0 && n > 0) {
      int64_t delta = n * unit * 1000000;
      TimestampMicros now = Clock::Real()->NowMicros();
      return future ? now + delta : now - delta;
    }
  }
  Result<TimestampMicros> t = ParseRfc3339(text);
  if (!t.ok()) {
    return InvalidArgument(flag + " '" + text +
                           "': expected a duration (90d, 12h, 30m) or an RFC 3339 time");
  }
  return t;
}

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  for (size_t at = 0; at <= text.size();) {
    size_t comma = text.find(',', at);
    std::string item = text.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

std::string RenderNewToken(const json& j) {
  std::string expires = j["expiresAt"].is_string() ? j["expiresAt"].get<std::string>() : "never";
  return "created token " + j.value("id", "") + " for " + j.value("principal", "") + " (scopes " +
         Cell(j["scopes"]) + ", expires " + expires + ")\n" + j.value("secret", "") + "\n" +
         "This secret is shown once and stored only as a salted hash: keep it now.\n";
}

std::string RenderTokens(const json& j) {
  TextTable t({"ID", "PRINCIPAL", "SCOPES", "CREATED", "EXPIRES", "STATE", "DESCRIPTION"});
  for (const json& k : j["tokens"]) {
    t.AddRow({k.value("id", ""), k.value("principal", ""), Cell(k["scopes"]),
              k.value("createdAt", ""), k["expiresAt"].is_string() ? Cell(k["expiresAt"]) : "never",
              k.value("revoked", false) ? "revoked" : "active", k.value("description", "")});
  }
  return t.Render();
}

std::string RenderGrant(const json& j) {
  std::string what =
      j["role"].is_string() ? "role " + j["role"].get<std::string>() : Cell(j["permissions"]);
  std::string filter =
      j["rowFilter"].is_string() ? " where " + j["rowFilter"].get<std::string>() : "";
  return "granted " + what + " on " + j.value("address", "") + " to " + j.value("principal", "") +
         filter + "\n";
}

std::string RenderRevoke(const json& j) {
  return "revoked from " + j.value("principal", "") + " on " + j.value("address", "") + " (" +
         std::to_string(j.value("changed", 0)) + " grant(s) changed)\n";
}

std::string RenderGrants(const json& j) {
  TextTable t({"PRINCIPAL", "ROLE/PERMISSIONS", "ADDRESS", "ROW FILTER", "GRANTED BY"});
  for (const json& g : j["grants"]) {
    t.AddRow({g.value("principal", ""),
              g["role"].is_string() ? g["role"].get<std::string>() : Cell(g["permissions"]),
              g.value("address", ""), g["rowFilter"].is_string() ? Cell(g["rowFilter"]) : "",
              g.value("grantedBy", "")});
  }
  return t.Render();
}

std::string RenderMember(const json& j) {
  return std::string(j.contains("added") ? "added " : "removed ") + j.value("member", "") +
         (j.contains("added") ? " to " : " from ") + j.value("group", "") + "\n";
}

std::string RenderAudit(const json& j) {
  TextTable t({"SEQ", "TIME", "PRINCIPAL", "OPERATION", "ADDRESS", "ALLOWED", "ROWS", "DETAIL"});
  for (const json& e : j["entries"]) {
    int64_t rows = e.value("rows", int64_t{-1});
    t.AddRow({std::to_string(e.value("seq", 0)), e.value("time", ""), e.value("principal", ""),
              e.value("operation", ""), e.value("address", ""),
              e.value("allowed", false) ? "yes" : "DENIED", rows < 0 ? "" : std::to_string(rows),
              e.value("detail", "")});
  }
  return t.Render() + std::to_string(t.rows()) + " entries\n";
}

std::string RenderVerify(const json& j) {
  return "audit log intact: " + std::to_string(j.value("entries", 0)) + " entries, head " +
         j.value("headHash", "") + "\n";
}

}  // namespace

void RegisterSecurityCommands(CLI::App& app, Context& ctx, int* exit_code) {
  auto with_backend = [&ctx, exit_code](auto call) {
    Result<Backend*> b = ctx.GetBackend();
    if (!b.ok()) {
      *exit_code = ReportError(b.status());
      return;
    }
    *exit_code = call(**b);
  };

  // loom token create|list|revoke
  auto* token = app.add_subcommand("token", "Create, list and revoke API tokens");
  token->require_subcommand(1);
  auto create = std::make_shared<platform::Platform::TokenRequest>();
  auto create_scopes = std::make_shared<std::string>("read");
  auto expires = std::make_shared<std::string>("90d");
  auto* tc = token->add_subcommand("create", "Create a token; its secret is shown once");
  tc->add_option("--for,--principal", create->principal, "for this principal (default: yourself)");
  tc->add_option("--scopes", *create_scopes, "read,write,unmask,manage or * (default read)");
  tc->add_option("--expires", *expires, "a duration (90d, 12h), an RFC 3339 time, or never");
  tc->add_option("--description", create->description, "what the token is for");
  tc->callback([=, &ctx] {
    with_backend([&](Backend& b) {
      platform::Platform::TokenRequest r = *create;
      r.scopes = SplitComma(*create_scopes);
      if (*expires != "never") {
        Result<TimestampMicros> at = TimeArg("--expires", *expires, true);
        if (!at.ok()) return ReportError(at.status());
        r.expires_at = *at;
      }
      return Print(ctx, b.CreateToken(r), RenderNewToken);
    });
  });
  auto list_principal = std::make_shared<std::string>();
  auto* tl = token->add_subcommand("list", "List tokens (never their secrets)");
  tl->add_option("--principal", *list_principal, "of this principal (governance)");
  tl->callback([=, &ctx] {
    with_backend(
        [&](Backend& b) { return Print(ctx, b.ListTokens(*list_principal), RenderTokens); });
  });
  auto revoke_id = std::make_shared<std::string>();
  auto* tr = token->add_subcommand("revoke", "Revoke a token by its id");
  tr->add_option("ID", *revoke_id, "the token's id")->required();
  tr->callback([=, &ctx] {
    with_backend([&](Backend& b) {
      Result<json> r = b.RevokeToken(*revoke_id);
      if (!r.ok()) return ReportError(r.status());
      if (ctx.options.json) {
        std::printf("%s\n", r->dump(2).c_str());
      } else {
        std::printf("revoked token %s\n", revoke_id->c_str());
      }
      return 0;
    });
  });

  // loom grant / loom revoke / loom grants
  auto grant = std::make_shared<platform::Platform::GrantRequest>();
  auto filter = std::make_shared<std::string>();
  auto* g = app.add_subcommand("grant", "Grant a role on a domain or permissions on a product");
  g->add_option("PRINCIPAL", grant->principal, "user:NAME, group:NAME or service:NAME")->required();
  g->add_option("WHAT", grant->what, "owner|producer|consumer, or read,write,unmask")->required();
  g->add_option("ADDRESS", grant->address, "loom://DOMAIN[/PRODUCT[/PORT]]")->required();
  g->add_option("--row-filter", *filter, "only rows matching this SQL predicate (read grants)");
  g->callback([=, &ctx] {
    with_backend([&](Backend& b) {
      platform::Platform::GrantRequest r = *grant;
      if (!filter->empty()) r.row_filter = *filter;
      return Print(ctx, b.Grant(r), RenderGrant);
    });
  });
  auto revoke = std::make_shared<platform::Platform::GrantRequest>();
  auto* r = app.add_subcommand("revoke", "Revoke a grant (WHAT 'all': every permission)");
  r->add_option("PRINCIPAL", revoke->principal, "the grantee")->required();
  r->add_option("WHAT", revoke->what, "the role, the permissions, or all")->required();
  r->add_option("ADDRESS", revoke->address, "loom://DOMAIN[/PRODUCT[/PORT]]")->required();
  r->callback([=, &ctx] {
    with_backend([&](Backend& b) {
      platform::Platform::GrantRequest req = *revoke;
      if (req.what == "all") req.what.clear();
      return Print(ctx, b.Revoke(req), RenderRevoke);
    });
  });
  auto* gl = app.add_subcommand("grants", "List the grants you manage or hold");
  gl->callback([=, &ctx] {
    with_backend([&](Backend& b) { return Print(ctx, b.ListGrants(), RenderGrants); });
  });

  // loom group add|remove GROUP MEMBER
  auto* group = app.add_subcommand("group", "Add or remove group members (governance)");
  group->require_subcommand(1);
  for (const char* verb : {"add", "remove"}) {
    auto names = std::make_shared<std::pair<std::string, std::string>>();
    auto* sub = group->add_subcommand(verb, std::string(verb) + " a member");
    sub->add_option("GROUP", names->first, "group:NAME")->required();
    sub->add_option("MEMBER", names->second, "user:, group: or service:NAME")->required();
    bool add = std::string(verb) == "add";
    sub->callback([=, &ctx] {
      with_backend([&](Backend& b) {
        return Print(ctx,
                     add ? b.AddMember(names->first, names->second)
                         : b.RemoveMember(names->first, names->second),
                     RenderMember);
      });
    });
  }

  // loom audit [filters] | loom audit verify
  struct AuditArgs {
    std::string principal, address, operation, since;
    bool denied = false;
    int64_t limit = 1000;
  };
  auto args = std::make_shared<AuditArgs>();
  auto* audit = app.add_subcommand("audit", "List audit entries, or verify the chain");
  audit->add_option("--principal", args->principal, "entries of this principal");
  audit->add_option("--product,--address", args->address, "entries on this product or port");
  audit->add_option("--operation", args->operation, "query, tail, ingest, grant, authenticate...");
  audit->add_flag("--denied", args->denied, "only refusals");
  audit->add_option("--since", args->since, "a duration back (1h, 7d) or an RFC 3339 time");
  audit->add_option("--limit", args->limit, "at most this many entries (default 1000)");
  auto* verify = audit->add_subcommand("verify", "Recompute the hash chain; fail on any edit");
  audit->callback([=, &ctx] {
    with_backend([&](Backend& b) {
      if (verify->parsed()) return Print(ctx, b.VerifyAudit(), RenderVerify);
      security::AuditFilter f;
      if (!args->principal.empty()) f.principal = args->principal;
      if (!args->address.empty()) f.address = args->address;
      if (!args->operation.empty()) f.operation = args->operation;
      if (args->denied) f.allowed = false;
      if (!args->since.empty()) {
        Result<TimestampMicros> t = TimeArg("--since", args->since, false);
        if (!t.ok()) return ReportError(t.status());
        f.since = *t;
      }
      f.limit = args->limit;
      return Print(ctx, b.Audit(f), RenderAudit);
    });
  });
}

}  // namespace loom::cli
