// loom serve

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/context.h"
#include "server/server.h"

namespace loom::cli {

void RegisterServeCommand(CLI::App& app, Context& ctx, int* exit_code) {
  auto* cmd = app.add_subcommand("serve", "Serve the HTTP API on a data folder");
  auto options = std::make_shared<server::ServerOptions>();
  cmd->add_option("--listen", options->listen, "HOST:PORT (default 127.0.0.1:8080)");
  cmd->callback([&ctx, exit_code, options] {
    // Block the stop signals in every thread; one watcher thread waits for them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    platform::Options popts;
    popts.data_dir = ctx.options.data_dir;
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
    (*p)->StartBackgroundJobs(std::chrono::seconds(60));
    std::printf("loom serve: data %s, listening on http://%s:%d\n", ctx.options.data_dir.c_str(),
                options->listen.substr(0, options->listen.rfind(':')).c_str(), srv->port());
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
    std::printf("loom serve: stopped\n");
    *exit_code = 0;
  });
}

}  // namespace loom::cli
