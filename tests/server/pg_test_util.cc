#include "server/pg_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace loom::server::testing {

PgFixture::PgFixture(PgServerOptions options) {
  platform::Options po;
  po.data_dir = dir_.Sub("data");
  Result<std::unique_ptr<platform::Platform>> p = platform::Platform::Open(po);
  if (!p.ok()) {
    error_ = p.status().ToString();
    return;
  }
  platform_ = std::move(*p);
  options.listen = "127.0.0.1:0";
  Result<std::unique_ptr<PgServer>> s = PgServer::Start(*platform_, options);
  if (!s.ok()) {
    error_ = s.status().ToString();
    return;
  }
  server_ = std::move(*s);
}

PgFixture::~PgFixture() {
  if (server_) server_->Stop();
  server_.reset();
  platform_.reset();
}

std::string PgFixture::ConnInfo(const std::string& extra) const {
  return "host=127.0.0.1 port=" + std::to_string(server_->port()) +
         " user=u dbname=loom connect_timeout=10 sslmode=disable gssencmode=disable " + extra;
}

Conn Connect(const std::string& conninfo) { return Conn(PQconnectdb(conninfo.c_str())); }

std::string SqlState(const PGresult* r) {
  const char* s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  return s ? s : "";
}

RawClient::RawClient(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

void RawClient::Send(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

void RawClient::SendMessage(char type, const std::string& body) {
  Send(std::string(1, type) + Int32(static_cast<int32_t>(body.size() + 4)) + body);
}

bool RawClient::Startup(const std::string& user) {
  std::string body = Int32(196608) + CStr("user") + CStr(user) + CStr("database") + CStr("loom") +
                     std::string(1, '\0');
  Send(Int32(static_cast<int32_t>(body.size() + 4)) + body);
  auto msgs = ReadUntilReady();
  return !msgs.empty() && msgs.back().first == 'Z';
}

bool RawClient::ReadByte(char* c, int timeout_ms) {
  if (pending_.empty()) {
    pollfd p{fd_, POLLIN, 0};
    if (fd_ < 0 || ::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
  }
  *c = pending_[0];
  pending_.erase(0, 1);
  return true;
}

bool RawClient::Read(char* type, std::string* body, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    if (pending_.size() >= 5) {
      uint32_t len = static_cast<uint32_t>(static_cast<uint8_t>(pending_[1])) << 24 |
                     static_cast<uint32_t>(static_cast<uint8_t>(pending_[2])) << 16 |
                     static_cast<uint32_t>(static_cast<uint8_t>(pending_[3])) << 8 |
                     static_cast<uint32_t>(static_cast<uint8_t>(pending_[4]));
      if (pending_.size() >= 1 + static_cast<size_t>(len)) {
        *type = pending_[0];
        *body = pending_.substr(5, len - 4);
        pending_.erase(0, 1 + len);
        return true;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (fd_ < 0 || left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
  }
}

std::vector<std::pair<char, std::string>> RawClient::ReadUntilReady(int timeout_ms) {
  std::vector<std::pair<char, std::string>> out;
  char type = 0;
  std::string body;
  while (Read(&type, &body, timeout_ms)) {
    out.emplace_back(type, body);
    if (type == 'Z') break;
  }
  return out;
}

bool RawClient::ClosedByServer(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return true;
}

std::string Int32(int32_t v) {
  auto u = static_cast<uint32_t>(v);
  return {static_cast<char>(u >> 24), static_cast<char>(u >> 16), static_cast<char>(u >> 8),
          static_cast<char>(u)};
}

std::string Int16(int16_t v) {
  auto u = static_cast<uint16_t>(v);
  return {static_cast<char>(u >> 8), static_cast<char>(u)};
}

std::string CStr(const std::string& s) { return s + std::string(1, '\0'); }

std::string ErrorField(const std::string& body, char field) {
  size_t i = 0;
  while (i < body.size() && body[i] != '\0') {
    char f = body[i++];
    size_t end = body.find('\0', i);
    if (end == std::string::npos) break;
    if (f == field) return body.substr(i, end - i);
    i = end + 1;
  }
  return "";
}

std::string Types(const std::vector<std::pair<char, std::string>>& messages) {
  std::string out;
  for (const auto& m : messages) out.push_back(m.first);
  return out;
}

bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

}  // namespace loom::server::testing
