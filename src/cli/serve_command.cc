// loom serve

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/context.h"
#include "server/pg_server.h"
#include "server/server.h"

namespace loom::cli {

void RegisterServeCommand(CLI::App& app, Context& ctx, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Serve the HTTP API on a data folder");
  auto options = std::make_shared<server::ServerOptions>();
  auto pg_listen = std::make_shared<std::string>("127.0.0.1:5432");
  cmd->add_option("--listen", options->listen, "HTTP API on HOST:PORT (default 127.0.0.1:8080)");
  cmd->add_option("--pg-listen", *pg_listen,
                  "PostgreSQL wire protocol on HOST:PORT (default 127.0.0.1:5432; 'off' for none)");
  cmd->add_option("--tls-cert", options->tls_cert_file,
                  "PEM certificate (chain): serve HTTPS and TLS on the PostgreSQL port");
  cmd->add_option("--tls-key", options->tls_key_file, "PEM private key of --tls-cert");
  struct Jwt {
    std::string issuer, audience;
    std::vector<std::string> keys, group_map;
  };
  auto jwt = std::make_shared<Jwt>();
  cmd->add_option("--jwt-issuer", jwt->issuer, "Accept JWTs of this OIDC issuer (`iss`)");
  cmd->add_option("--jwt-audience", jwt->audience, "...whose `aud` includes this audience");
  cmd->add_option("--jwt-key", jwt->keys,
                  "[KID=]PEMFILE: a public key (RS256 or ES256) of the issuer; repeatable");
  cmd->add_option("--jwt-group-map", jwt->group_map,
                  "CLAIM_VALUE=group:NAME: a `groups` claim value and the group it means");
  auto webhook = std::make_shared<std::string>();
  auto tick = std::make_shared<std::string>("60s");
  auto check_window = std::make_shared<std::string>("1h");
  cmd->add_option("--alert-webhook", *webhook,
                  "POST SLO alerts as JSON to this http:// URL (retried with backoff)");
  cmd->add_option("--tick", *tick,
                  "how often background jobs run: snapshots, stream checks, SLO samples (60s)");
  cmd->add_option("--check-window", *check_window,
                  "stream ports are checked on closed windows of this length (1h)");
  cmd->callback([&ctx, exit_code, options, pg_listen, jwt, webhook, tick, check_window] {
    // Block the stop signals in every thread; one watcher thread waits for them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    platform::Options popts;
    popts.data_dir = ctx.options.data_dir;
    popts.master_key_file = ctx.options.master_key_file;
    if (!jwt->issuer.empty() || !jwt->audience.empty() || !jwt->keys.empty()) {
      security::JwtOptions j;
      j.issuer = jwt->issuer;
      j.audience = jwt->audience;
      for (const std::string& k : jwt->keys) {
        size_t eq = k.find('=');
        std::string kid = eq == std::string::npos ? "" : k.substr(0, eq);
        std::string file = eq == std::string::npos ? k : k.substr(eq + 1);
        Result<std::string> pem = ReadFileToString(*FileSystem::Default(), file);
        if (!pem.ok()) {
          *exit_code = ReportError(pem.status().WithPrefix("--jwt-key " + file));
          return;
        }
        j.keys.push_back({kid, *pem});
      }
      for (const std::string& m : jwt->group_map) {
        size_t eq = m.rfind('=');
        if (eq == std::string::npos || eq == 0) {
          *exit_code = ReportError(
              InvalidArgument("--jwt-group-map '" + m + "': expected VALUE=group:NAME"));
          return;
        }
        j.group_map.emplace_back(m.substr(0, eq), m.substr(eq + 1));
      }
      popts.jwt = std::move(j);
    }
    popts.alerts.webhook = *webhook;
    Result<int64_t> tick_ms = spec::ParseDurationMs(*tick);
    Result<int64_t> window_ms = spec::ParseDurationMs(*check_window);
    if (!tick_ms.ok() || *tick_ms <= 0 || !window_ms.ok() || *window_ms <= 0) {
      *exit_code = ReportError(!tick_ms.ok()     ? tick_ms.status().WithPrefix("--tick")
                               : !window_ms.ok() ? window_ms.status().WithPrefix("--check-window")
                                                 : InvalidArgument("--tick and --check-window "
                                                                   "must be positive"));
      return;
    }
    popts.stream_check_window_ms = *window_ms;
    Result<std::unique_ptr<platform::Platform>> p = platform::Platform::Open(popts);
    if (!p.ok()) {
      *exit_code = ReportError(p.status());
      return;
    }
    Result<std::unique_ptr<server::Server>> s = server::Server::Start(**p, *options);
    if (!s.ok()) {
      *exit_code = ReportError(s.status());
      return;
    }
    server::Server* srv = s->get();
    std::unique_ptr<server::PgServer> pg;
    if (*pg_listen != "off") {
      server::PgServerOptions pg_options;
      pg_options.listen = *pg_listen;
      pg_options.tls_cert_file = options->tls_cert_file;
      pg_options.tls_key_file = options->tls_key_file;
      // The password is an API token or a JWT; the user name is not trusted for anything.
      platform::Platform* platform = p->get();
      pg_options.auth = [platform](const std::string&, const std::string& password) {
        return platform->Authenticate(password);
      };
      Result<std::unique_ptr<server::PgServer>> started = server::PgServer::Start(**p, pg_options);
      if (!started.ok()) {
        *exit_code = ReportError(started.status().WithPrefix("--pg-listen"));
        return;
      }
      pg = std::move(*started);
    }
    (*p)->StartBackgroundJobs(std::chrono::milliseconds(*tick_ms));
    const bool tls = !options->tls_cert_file.empty();
    std::printf("loom serve: data %s, listening on %s://%s:%d\n", ctx.options.data_dir.c_str(),
                tls ? "https" : "http",
                options->listen.substr(0, options->listen.rfind(':')).c_str(), srv->port());
    if (pg) {
      std::printf("loom serve: PostgreSQL wire protocol on %s:%d (psql -h %s -p %d%s)\n",
                  pg_listen->substr(0, pg_listen->rfind(':')).c_str(), pg->port(),
                  pg_listen->substr(0, pg_listen->rfind(':')).c_str(), pg->port(),
                  tls ? ", sslmode=require" : "");
    }
    std::fflush(stdout);
    std::thread watcher([set, srv] {
      int sig = 0;
      sigwait(&set, &sig);
      srv->Stop();
    });
    srv->Wait();
    // Wake the watcher if Stop came from elsewhere.
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    if (pg) pg->Stop();
    std::printf("loom serve: stopped\n");
    *exit_code = 0;
  });
}

}  // namespace loom::cli
