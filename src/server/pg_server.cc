#include "server/pg_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>

#include "server/pg_connection.h"
#include "server/pg_tls.h"

namespace loom::server {
namespace {

// Connections beyond max_connections still get a thread, to be told "too many clients" (and so
// that CancelRequests work when the server is full), up to this many more.
constexpr uint32_t kExtraForRefusals = 16;

Result<std::pair<std::string, int>> SplitListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return InvalidArgument("--pg-listen '" + listen + "': expected HOST:PORT");
  }
  std::string host = listen.substr(0, colon);
  std::string port_text = listen.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535) {
    return InvalidArgument("--pg-listen '" + listen + "': port must be 0..65535");
  }
  return std::make_pair(host, std::stoi(port_text));
}

}  // namespace

struct PgServer::Impl {
  struct Slot {
    std::unique_ptr<PgConnection> conn;
    std::thread thread;
    std::atomic<bool> finished{false};
  };

  platform::Platform* platform = nullptr;
  PgServerOptions options;
  int listen_fd = -1;
  int port = 0;
  std::thread accept_thread;
  std::atomic<uint32_t> open{0};

  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;                            // guarded by mu
  std::map<int32_t, std::unique_ptr<Slot>> slots;  // by process id; guarded by mu
  int32_t next_pid = 1;                            // guarded by mu
  std::mt19937 rng{std::random_device{}()};        // guarded by mu

  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
  }

  void AcceptLoop();
  void Serve(int fd);
  // Joins the threads of finished connections. Called by the accept thread only.
  void Reap();
  void OnCancelRequest(int32_t process_id, int32_t secret_key);
};

void PgServer::Impl::AcceptLoop() {
  while (true) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopped) {
        if (fd >= 0) ::close(fd);
        return;
      }
    }
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      return;  // the listening socket is gone
    }
    Reap();
    Serve(fd);
  }
}

void PgServer::Impl::Serve(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  std::lock_guard<std::mutex> lock(mu);
  if (slots.size() >= options.max_connections + kExtraForRefusals) {
    ::close(fd);
    return;
  }
  bool over_limit = slots.size() >= options.max_connections;
  int32_t pid = 0;
  do {
    pid = next_pid;
    next_pid = next_pid == INT32_MAX ? 1 : next_pid + 1;
  } while (slots.count(pid) > 0);
  auto key = static_cast<int32_t>(rng());
  auto slot = std::make_unique<Slot>();
  slot->conn =
      std::make_unique<PgConnection>(*platform, options, std::make_unique<SocketStream>(fd), pid,
                                     key, [this](int32_t p, int32_t k) { OnCancelRequest(p, k); });
  if (over_limit) slot->conn->RefuseTooManyClients();
  Slot* raw = slot.get();
  open.fetch_add(1);
  try {
    slot->thread = std::thread([this, raw] {
      raw->conn->Run();
      raw->conn->Shutdown();
      open.fetch_sub(1);
      raw->finished = true;
    });
  } catch (const std::system_error&) {
    open.fetch_sub(1);
    return;  // no thread to be had: the connection (and its socket) is dropped
  }
  slots[pid] = std::move(slot);
}

void PgServer::Impl::Reap() {
  std::vector<std::unique_ptr<Slot>> done;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = slots.begin(); it != slots.end();) {
      if (it->second->finished) {
        done.push_back(std::move(it->second));
        it = slots.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : done) s->thread.join();
}

void PgServer::Impl::OnCancelRequest(int32_t process_id, int32_t secret_key) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = slots.find(process_id);
  // A wrong key is ignored silently, as PostgreSQL does: the requester learns nothing.
  if (it == slots.end() || it->second->conn->secret_key() != secret_key) return;
  it->second->conn->Cancel();
}

PgServer::PgServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PgServer::~PgServer() { Stop(); }

Result<std::unique_ptr<PgServer>> PgServer::Start(platform::Platform& platform,
                                                  const PgServerOptions& options) {
  LOOM_ASSIGN_OR_RETURN(auto host_port, SplitListen(options.listen));
  if (options.max_connections == 0) return InvalidArgument("max_connections must be positive");
  // Everything that can fail before the address list is held comes first (no leak on return).
  auto impl = std::make_unique<Impl>();
  impl->platform = &platform;
  impl->options = options;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    LOOM_ASSIGN_OR_RETURN(impl->options.tls,
                          TlsContext::Load(options.tls_cert_file, options.tls_key_file));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* addrs = nullptr;
  std::string port_text = std::to_string(host_port.second);
  int gai = ::getaddrinfo(host_port.first.empty() ? nullptr : host_port.first.c_str(),
                          port_text.c_str(), &hints, &addrs);
  if (gai != 0) {
    return Unavailable("cannot resolve '" + host_port.first + "': " + ::gai_strerror(gai));
  }
  std::string error = "no address";
  for (addrinfo* a = addrs; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) {
      impl->listen_fd = fd;
      break;
    }
    error = std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(addrs);
  if (impl->listen_fd < 0) {
    return Unavailable("cannot listen on " + options.listen + " (" + error + ")");
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(impl->listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  impl->port = bound.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                   : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  return std::unique_ptr<PgServer>(new PgServer(std::move(impl)));
}

int PgServer::port() const { return impl_->port; }

uint32_t PgServer::connections() const { return impl_->open.load(); }

void PgServer::Wait() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return impl_->stopped; });
}

void PgServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  impl_->cv.notify_all();
  // Wakes the blocked accept() (Linux returns EINVAL after shutdown of a listening socket).
  ::shutdown(impl_->listen_fd, SHUT_RDWR);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  std::map<int32_t, std::unique_ptr<Impl::Slot>> slots;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [pid, slot] : impl_->slots) {
      slot->conn->Cancel();
      slot->conn->Shutdown();
    }
    slots = std::move(impl_->slots);
  }
  for (auto& [pid, slot] : slots) slot->thread.join();
}

}  // namespace loom::server
